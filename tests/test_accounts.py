import logging
import re

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.outbox.models import OutboxMessage
from tests.conftest import PASSWORD
from tests.factories import UserFactory


def user_count(db):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(User))


def registration(**changes):
    data = {
        "name": "สมหญิง รักชุมชน",
        "email": "somying@example.com",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "language": "th",
    }
    data.update(changes)
    return data


def test_register_creates_a_buyer_signs_in_and_sends_welcome_mail(client, db, caplog):
    caplog.set_level(logging.INFO, logger="marketplace.mail")

    response = client.submit("/register", registration(email="SomYing@Example.com"))

    assert response.status_code == 302
    user = db.session.scalar(select(User))
    assert user.email == "somying@example.com"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert not user.is_admin and user.sellers == [] and user.funds == []
    # Signed in: the account page answers.
    assert client.get("/account").status_code == 200
    # The welcome mail went through the outbox, after the commit, in Thai.
    message = db.session.scalar(select(OutboxMessage))
    assert message.task == "tasks.mail.send_welcome_email" and message.is_done
    assert "somying@example.com" in caplog.text and "ยินดีต้อนรับสู่ตลาดชุมชน" in caplog.text


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"email": "a@b"}, "Enter a valid email address."),
        ({"password": "short", "confirm": "short"}, "at least 8"),
        ({"confirm": "something-else"}, "The passwords differ."),
        ({"name": "   "}, "This field is required."),
        ({"language": "fr"}, "Not a valid choice."),
    ],
)
def test_register_refuses_bad_input_and_writes_nothing(client, db, changes, error):
    client.post("/language/en", data={"csrf_token": client.csrf_token()})

    response = client.submit("/register", registration(**changes))

    assert response.status_code == 400
    assert error in response.get_data(as_text=True)
    assert user_count(db) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_register_refuses_a_taken_email_whatever_its_case(client, db):
    UserFactory(email="taken@example.com")
    db.session.commit()

    response = client.submit("/register", registration(email=" Taken@EXAMPLE.com "))

    assert response.status_code == 400
    assert "อีเมลนี้มีบัญชีอยู่แล้ว" in response.get_data(as_text=True)
    assert user_count(db) == 1


@pytest.mark.parametrize("token", [None, "forged-token", "ImFiYyI.Zz9Yxw.forgedsignature"])
def test_register_without_a_valid_csrf_token_writes_nothing(client, db, token):
    data = registration()
    if token:
        data["csrf_token"] = token
    client.get("/register")

    response = client.post("/register", data=data)

    assert response.status_code == 400
    assert "แบบฟอร์มหมดอายุ" in response.get_data(as_text=True)
    assert user_count(db) == 0


def test_wrong_password_and_unknown_email_get_the_same_answer(client, db):
    UserFactory(email="known@example.com")
    db.session.commit()

    wrong_password = client.submit(
        "/login", {"email": "known@example.com", "password": "nope-nope-1"}
    )
    unknown_email = client.submit(
        "/login", {"email": "nobody@example.com", "password": "nope-nope-1"}
    )

    assert wrong_password.status_code == unknown_email.status_code == 400
    assert "อีเมลหรือรหัสผ่านไม่ถูกต้อง" in wrong_password.get_data(as_text=True)
    assert _page_without_secrets(wrong_password) == _page_without_secrets(unknown_email)
    assert client.get("/account").status_code == 302  # still signed out


def _page_without_secrets(response):
    """The page with typed values and tokens removed, to compare two answers."""
    return re.sub(r'value="[^"]*"', "", response.get_data(as_text=True))


def test_deactivated_user_cannot_sign_in(client, db):
    UserFactory(email="gone@example.com", active=False)
    db.session.commit()

    response = client.submit("/login", {"email": "gone@example.com", "password": PASSWORD})

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [
        ("/account", "/account"),
        ("https://evil.example/steal", "/"),
        ("//evil.example/steal", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_login_redirects_only_to_this_host(client, db, next_url, landing):
    UserFactory(email="buyer@example.com")
    db.session.commit()

    response = client.submit(
        "/login?next=" + next_url, {"email": "buyer@example.com", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == landing


def test_pages_for_members_send_guests_to_sign_in(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_logout_needs_post_with_csrf(client, db):
    UserFactory(email="buyer@example.com")
    db.session.commit()
    client.login("buyer@example.com")

    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no token
    assert client.get("/account").status_code == 200

    client.submit("/logout", {})
    assert client.get("/account").status_code == 302


def test_profile_update_and_language(client, db):
    user = UserFactory(email="buyer@example.com")
    db.session.commit()
    client.login("buyer@example.com")

    response = client.submit(
        "/account/profile", {"name": "Somchai", "phone": "081-234-5678", "language": "en"}
    )

    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.name, user.phone, user.language) == ("Somchai", "0812345678", "en")
    assert "My account" in client.get("/account").get_data(as_text=True)


def test_profile_refuses_a_bad_phone(client, db):
    user = UserFactory(email="buyer@example.com", phone="")
    db.session.commit()
    client.login("buyer@example.com")

    response = client.submit("/account/profile", {"name": "X", "phone": "12345", "language": "th"})

    assert response.status_code == 400
    assert "เบอร์โทรศัพท์" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.phone == ""


def address(**changes):
    data = {
        "ship_name": "สมศรี ใจดี",
        "ship_phone": "0812345678",
        "address_line": "45/2 หมู่ 3",
        "province": "83",
        "district": "8301",
        "subdistrict": "830107",
        "postal_code": "83130",
    }
    data.update(changes)
    return data


def test_shipping_address_is_saved_when_postal_code_matches(client, db):
    user = UserFactory(email="buyer@example.com")
    db.session.commit()
    client.login("buyer@example.com")

    assert client.submit("/account/address", address()).status_code == 302

    db.session.refresh(user)
    assert (user.ship_subdistrict_code, user.ship_postal_code) == ("830107", "83130")
    assert user.ship_subdistrict.district.province.name_en == "Phuket"


@pytest.mark.parametrize(
    "changes",
    [
        {"postal_code": "10110"},  # a real postal code, but Bangkok's
        {"subdistrict": "999999", "district": "8301"},  # no such subdistrict
        {"province": "36"},  # district and subdistrict are in Phuket, not Chaiyaphum
        {"address_line": ""},
    ],
)
def test_shipping_address_refuses_mismatches(client, db, changes):
    user = UserFactory(email="buyer@example.com")
    db.session.commit()
    client.login("buyer@example.com")

    response = client.submit("/account/address", address(**changes))

    assert response.status_code == 400
    db.session.refresh(user)
    assert user.ship_subdistrict_code is None


def test_a_subdistrict_with_two_postal_codes_accepts_both(client, db):
    from marketplace.geo.models import PostalCode, Subdistrict

    subdistrict = db.session.scalars(
        select(Subdistrict).join(PostalCode).group_by(Subdistrict.code).having(func.count() > 1)
    ).first()
    codes = subdistrict.postal_code_list
    user = UserFactory(email="buyer@example.com")
    db.session.commit()
    client.login("buyer@example.com")

    for code in codes:
        fields = address(
            province=subdistrict.code[:2],
            district=subdistrict.code[:4],
            subdistrict=subdistrict.code,
            postal_code=code,
        )
        assert client.submit("/account/address", fields).status_code == 302
        db.session.refresh(user)
        assert user.ship_postal_code == code


def test_change_password(client, db):
    UserFactory(email="buyer@example.com")
    db.session.commit()
    client.login("buyer@example.com")

    wrong = client.submit(
        "/account/password",
        {
            "current_password": "wrong-one-1",
            "new_password": "new-password-9",
            "confirm": "new-password-9",
        },
    )
    right = client.submit(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "new-password-9",
            "confirm": "new-password-9",
        },
    )

    assert wrong.status_code == 400 and right.status_code == 302
    client.submit("/logout", {})
    client.login("buyer@example.com", "new-password-9")


def test_create_admin_command_reads_the_password_from_stdin(app, db):
    runner = app.test_cli_runner()

    result = runner.invoke(
        args=["users", "create-admin", "Boss@Example.com"], input="s3cret-pass-1\n"
    )

    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "boss@example.com"))
    assert user.is_admin
    short = runner.invoke(args=["users", "create-admin", "other@example.com"], input="short\n")
    assert short.exit_code != 0
    assert user_count(db) == 1
