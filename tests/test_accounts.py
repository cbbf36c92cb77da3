import logging
import re

import pytest
from sqlalchemy import func, select, update

from marketplace.accounts.models import PendingRegistration, User
from marketplace.dbtypes import utcnow
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


def mailed_link(caplog, email, path):
    """The link in the last mail to ``email`` whose path starts with ``path``."""
    mails = [r.getMessage() for r in caplog.records if f"mail to={email} " in r.getMessage()]
    assert mails, f"no mail to {email}"
    links = re.findall(r"http://127\.0\.0\.1:5000(" + re.escape(path) + r"\S*)", mails[-1])
    assert links, mails[-1]
    return links[0]


def test_register_mails_a_link_that_creates_the_account_and_signs_in(client, db, caplog):
    caplog.set_level(logging.INFO, logger="marketplace.mail")

    response = client.submit("/register", registration(email="SomYing@Example.com"))

    assert response.status_code == 302 and response.headers["Location"] == "/register/sent"
    assert "somying@example.com" in client.get("/register/sent").get_data(as_text=True)
    assert user_count(db) == 0  # nothing stored until the owner of the address answers
    link = mailed_link(caplog, "somying@example.com", "/register/confirm/")
    assert PASSWORD not in link
    # The mail carries nothing the registering person typed but the address, and no
    # usable token is stored anywhere (the outbox holds the pending registration's id).
    assert "สมหญิง" not in caplog.records[-1].getMessage()
    token = link.rsplit("/", 1)[1]
    assert all(token not in str(m.payload) for m in db.session.scalars(select(OutboxMessage)))
    assert token not in str(db.session.scalars(select(PendingRegistration.token_hash)).all())
    # Opening the link writes nothing; the form asks for the password chosen.
    assert client.get(link).status_code == 200 and user_count(db) == 0
    wrong = client.submit(link, {"password": "someone-elses-9"})
    assert wrong.status_code == 400 and user_count(db) == 0
    assert "This is not the password" in wrong.get_data(as_text=True) or (
        "ไม่ใช่รหัสผ่าน" in wrong.get_data(as_text=True)
    )
    created = client.submit(link, {"password": PASSWORD})
    assert created.status_code == 302
    user = db.session.scalar(select(User))
    assert user.email == "somying@example.com" and user.name == "สมหญิง รักชุมชน"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert not user.is_admin and user.sellers == [] and user.funds == []
    assert client.get("/account").status_code == 200  # signed in
    # The welcome mail went through the outbox, after the commit, in Thai.
    assert all(m.is_done for m in db.session.scalars(select(OutboxMessage)))
    assert "ยินดีต้อนรับสู่ตลาดชุมชน" in caplog.text
    # The link makes one account only.
    client.submit("/logout", {})
    again = client.submit(link, {"password": PASSWORD})
    assert again.status_code == 400 and user_count(db) == 1


def test_a_forged_or_expired_registration_link_creates_nothing(client, db, caplog):
    caplog.set_level(logging.INFO, logger="marketplace.mail")
    client.submit("/register", registration())
    link = mailed_link(caplog, "somying@example.com", "/register/confirm/")
    db.session.execute(update(PendingRegistration).values(expires_at=utcnow()))
    db.session.commit()

    for url in ("/register/confirm/not-a-token", link):
        assert client.get(url).status_code == 400
        assert client.submit(url, {"password": PASSWORD}).status_code == 400
    assert user_count(db) == 0


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


def test_registering_a_taken_email_answers_the_same_and_tells_the_owner(client, db, caplog):
    caplog.set_level(logging.INFO, logger="marketplace.mail")
    UserFactory(email="taken@example.com", password_hash="kept")
    db.session.commit()

    taken = client.submit("/register", registration(email=" Taken@EXAMPLE.com "))
    taken_page = client.get(taken.headers["Location"])
    fresh = client.submit("/register", registration(email="fresh@example.com"))
    fresh_page = client.get(fresh.headers["Location"])

    assert taken.status_code == fresh.status_code == 302
    assert taken.headers["Location"] == fresh.headers["Location"]
    assert _page_without_secrets(taken_page).replace("taken@", "X@") == (
        _page_without_secrets(fresh_page).replace("fresh@", "X@")
    )
    assert user_count(db) == 1
    assert db.session.scalar(select(User.password_hash)) == "kept"
    # The owner is told by mail, with a way back in.
    link = mailed_link(caplog, "taken@example.com", "/password/forgot")
    assert link == "/password/forgot"
    # Over the API too: the same 202 and body either way.
    answers = [
        client.post(
            "/api/v1/users",
            json={"email": email, "password": PASSWORD, "name": "x"},
        )
        for email in ("taken@example.com", "other@example.com")
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert [a.get_json()["status"] for a in answers] == ["confirmation_sent"] * 2


@pytest.mark.parametrize(
    "password",
    [
        "password1",
        "12345678",
        "qwertyuiop",
        "iloveyou",
        "Sunshine1",
        "somying@example.com",
        "SOMYING@example.com",
        "somying1234",
    ],
)
def test_common_passwords_and_the_email_are_refused(client, db, password):
    client.post("/language/en", data={"csrf_token": client.csrf_token()})

    response = client.submit(
        "/register",
        registration(
            email="somying1234@example.com" if password == "somying1234" else "somying@example.com",
            password=password,
            confirm=password,
        ),
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "most used" in page or "email address as the password" in page
    assert user_count(db) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_forgotten_password_answers_the_same_and_resets_once(app, client, db, caplog):
    caplog.set_level(logging.INFO, logger="marketplace.mail")
    UserFactory(email="buyer@example.com")
    db.session.commit()
    phone = app.test_client()
    phone.login("buyer@example.com")

    known = client.submit("/password/forgot", {"email": "Buyer@example.com"})
    known_page = client.get(known.headers["Location"])
    unknown = client.submit("/password/forgot", {"email": "nobody@example.com"})
    unknown_page = client.get(unknown.headers["Location"])

    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert _page_without_secrets(known_page).replace("buyer@", "X@") == (
        _page_without_secrets(unknown_page).replace("nobody@", "X@")
    )
    assert "mail to=nobody@example.com" not in caplog.text
    link = mailed_link(caplog, "buyer@example.com", "/password/reset/")
    token = link.rsplit("/", 1)[1]
    assert all(token not in str(m.payload) for m in db.session.scalars(select(OutboxMessage)))
    weak = client.submit(link, {"new_password": "password1", "confirm": "password1"})
    assert weak.status_code == 400
    done = client.submit(link, {"new_password": "new-password-9", "confirm": "new-password-9"})
    assert done.status_code == 302
    assert client.get("/account").status_code == 200  # signed in with the new password
    assert phone.get("/account").status_code == 302  # every other session ended
    assert client.get(link).status_code == 400  # used once
    client.submit("/logout", {})
    client.login("buyer@example.com", "new-password-9")


def test_mail_to_one_address_is_limited_silently(client, db, caplog):
    caplog.set_level(logging.INFO, logger="marketplace.mail")
    UserFactory(email="buyer@example.com")
    db.session.commit()

    answers = [client.submit("/password/forgot", {"email": "buyer@example.com"}) for _ in range(8)]

    # The same answer every time (no 429 that would keep the owner from resetting), and
    # no more than MAILS_PER_EMAIL mails (5 an hour) to the address.
    assert [a.status_code for a in answers] == [302] * 8
    assert caplog.text.count("mail to=buyer@example.com ") == 5


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


# Sessions end: signing out or changing the password ends every earlier session.


def _signed_in_with_remember(client, email="buyer@example.com", password=PASSWORD):
    response = client.submit("/login", {"email": email, "password": password, "remember": "y"})
    assert response.status_code == 302
    return client.get_cookie("session").value, client.get_cookie("remember_token").value


def _replay(app, session=None, remember=None):
    """A fresh browser holding copies of old cookies: is it signed in?"""
    browser = app.test_client()
    if session:
        browser.set_cookie("session", session)
    if remember:
        browser.set_cookie("remember_token", remember)
    return browser.get("/account").status_code == 200


def test_signing_out_ends_old_session_and_remember_me_cookies(app, client, db):
    UserFactory(email="buyer@example.com")
    db.session.commit()
    old_session, old_remember = _signed_in_with_remember(client)
    assert _replay(app, session=old_session) and _replay(app, remember=old_remember)

    client.submit("/logout", {})

    assert client.get("/account").status_code == 302
    assert not _replay(app, session=old_session)
    assert not _replay(app, remember=old_remember)
    assert not _replay(app, session=old_session, remember=old_remember)
    # Signing in again works, with a new remember-me value.
    _session, new_remember = _signed_in_with_remember(client)
    assert new_remember != old_remember and _replay(app, remember=new_remember)


def test_each_sign_in_gets_its_own_remember_me_value(app, db):
    UserFactory(email="buyer@example.com")
    db.session.commit()

    values = {_signed_in_with_remember(app.test_client())[1] for _ in range(3)}

    assert len(values) == 3
    assert all(_replay(app, remember=value) for value in values)


def test_changing_the_password_ends_every_other_session(app, client, db):
    UserFactory(email="buyer@example.com")
    db.session.commit()
    phone = app.test_client()
    phone_session, phone_remember = _signed_in_with_remember(phone)
    _signed_in_with_remember(client)

    response = client.submit(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "new-password-9",
            "confirm": "new-password-9",
        },
    )

    assert response.status_code == 302
    # This browser goes on; the phone's session and remember-me cookies are dead.
    assert client.get("/account").status_code == 200
    assert phone.get("/account").status_code == 302
    assert not _replay(app, session=phone_session)
    assert not _replay(app, remember=phone_remember)


def test_changing_the_password_revokes_api_tokens(client, db):
    UserFactory(email="buyer@example.com")
    db.session.commit()
    token = client.post(
        "/api/v1/tokens", json={"email": "buyer@example.com", "password": PASSWORD}
    ).get_json()["token"]
    client.login("buyer@example.com")

    client.submit(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "new-password-9",
            "confirm": "new-password-9",
        },
    )

    answer = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


def test_remember_me_cookie_is_secure_and_lax_in_production(make_app, db):
    from config import ProductionConfig

    production = ProductionConfig(
        env={
            "SECRET_KEY": "x" * 40,
            "DATABASE_URL": "postgresql://postgres@127.0.0.1/x",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert production.REMEMBER_COOKIE_SECURE and production.SESSION_COOKIE_SECURE
    assert production.REMEMBER_COOKIE_SAMESITE == production.SESSION_COOKIE_SAMESITE == "Lax"
    app = make_app(REMEMBER_COOKIE_SECURE=True, SESSION_COOKIE_SECURE=True)
    UserFactory(email="buyer@example.com")
    db.session.commit()
    browser = app.test_client()
    page = browser.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    response = browser.post(
        "/login",
        data={
            "csrf_token": token,
            "email": "buyer@example.com",
            "password": PASSWORD,
            "remember": "y",
        },
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
    )

    cookies = [v for k, v in response.headers.items() if k == "Set-Cookie"]
    remember = next(c for c in cookies if c.startswith("remember_token="))
    assert "Secure" in remember and "SameSite=Lax" in remember and "HttpOnly" in remember


# Sign-in throttling: guessing is stopped, real people get in.


def _wrong(client, email="buyer@example.com"):
    return client.submit("/login", {"email": email, "password": "guess-guess-1"})


def test_guessing_one_accounts_password_on_the_web_gets_429_before_the_30th(app, client, db):
    UserFactory(email="buyer@example.com")
    db.session.commit()

    answers = [_wrong(client) for _ in range(30)]

    statuses = [a.status_code for a in answers]
    first = statuses.index(429)
    assert first < 29 and set(statuses[:first]) == {400} and set(statuses[first:]) == {429}
    refused = answers[-1]
    assert int(refused.headers["Retry-After"]) > 0
    assert "ลองเข้าสู่ระบบผิดหลายครั้งเกินไป" in refused.get_data(as_text=True)
    # Switching to the API, or the email's case, gains nothing.
    api = client.post("/api/v1/tokens", json={"email": "Buyer@Example.com", "password": "x"})
    assert api.status_code == 429
    assert _wrong(client, " BUYER@example.com ").status_code == 429
    # A JSON body to the web form is not read as a form: no way around the count.
    sneaky = client.post(
        "/login",
        json={"email": ["buyer@example.com"], "password": PASSWORD},
        headers={"X-CSRFToken": client.csrf_token()},
    )
    assert sneaky.status_code in (400, 429) and client.get("/account").status_code == 302
    # Another account from the same address is not locked out.
    UserFactory(email="other@example.com")
    db.session.commit()
    assert app.test_client().login("other@example.com").status_code == 302


def test_a_guesser_cannot_lock_the_owner_out(make_app, db):
    app = make_app(TRUSTED_PROXIES=1, SIGN_IN_FAILURES_PER_ACCOUNT="20 per hour")
    UserFactory(email="treasurer@example.com")
    db.session.commit()
    owner_phone = app.test_client()
    owner_phone.login("treasurer@example.com")  # this browser is known to the account
    owner_phone.submit("/logout", {})

    def guess(address):
        return app.test_client().submit(
            "/login",
            {"email": "treasurer@example.com", "password": "guess-guess-1"},
            headers={"X-Forwarded-For": address},
        )

    # One address, as long as it likes: stopped, and the owner elsewhere still gets in.
    assert [guess("203.0.113.9").status_code for _ in range(15)][-1] == 429
    elsewhere = app.test_client().submit(
        "/login",
        {"email": "treasurer@example.com", "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert elsewhere.status_code == 302
    # Many addresses: the account's own count stops them all ...
    statuses = [guess(f"192.0.2.{n}").status_code for n in range(1, 25)]
    assert statuses[-1] == 429
    stranger = app.test_client().submit(
        "/login",
        {"email": "treasurer@example.com", "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.8"},
    )
    assert stranger.status_code == 429
    # ... but the owner's own browser, which signed in before, still gets in.
    assert owner_phone.login("treasurer@example.com").status_code == 302


def test_fifty_buyers_sign_in_from_one_address_within_a_minute(app, db):
    for n in range(50):
        UserFactory(email=f"member{n}@example.com")
    db.session.commit()

    web = [app.test_client().login(f"member{n}@example.com").status_code for n in range(50)]
    api = [
        app.test_client()
        .post("/api/v1/tokens", json={"email": f"member{n}@example.com", "password": PASSWORD})
        .status_code
        for n in range(50)
    ]

    assert web == [302] * 50 and api == [201] * 50


def test_many_accounts_tried_from_one_address_gets_429(make_app, db):
    app = make_app(SIGN_IN_FAILURES_PER_ADDRESS="20 per 15 minutes")
    client = app.test_client()

    statuses = [_wrong(client, f"victim{n}@example.com").status_code for n in range(25)]

    assert statuses[:20] == [400] * 20 and statuses[20:] == [429] * 5


def test_fifty_people_register_from_one_address_within_a_minute(app, db):
    answers = [
        app.test_client().submit(
            "/register", registration(email=f"member{n}@example.com", name=f"สมาชิก {n}")
        )
        for n in range(50)
    ]

    assert [a.status_code for a in answers] == [302] * 50
    assert all(a.headers["Location"] == "/register/sent" for a in answers)


def test_a_json_body_to_a_web_form_is_refused_cleanly(client, db):
    UserFactory(email="buyer@example.com")
    db.session.commit()
    headers = {"X-CSRFToken": client.csrf_token()}

    for url, body in (
        ("/login", {"email": {"a": 1}, "password": PASSWORD}),
        ("/register", {"email": ["x@example.com"], "name": {"a": 1}}),
        ("/password/forgot", {"email": {"a": 1}}),
    ):
        assert client.post(url, json=body, headers=headers).status_code == 400
    assert client.get("/account").status_code == 302


def test_create_admin_on_an_existing_user_ends_their_sessions(app, client, db):
    UserFactory(email="boss@example.com")
    db.session.commit()
    client.login("boss@example.com")

    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "boss@example.com"], input="brand-new-pass-7\n"
    )

    assert result.exit_code == 0, result.output
    assert client.get("/account").status_code == 302


def test_the_register_form_starts_in_the_language_the_page_is_read_in(client):
    assert 'selected value="th"' in client.get("/register").get_data(as_text=True)
    client.post("/language/en", data={"csrf_token": client.csrf_token()})

    assert 'selected value="en"' in client.get("/register").get_data(as_text=True)
