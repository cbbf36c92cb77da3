import re

import pytest
from sqlalchemy import select

from marketplace.catalog.models import Category
from marketplace.funds.models import Fund
from marketplace.orders.models import OrderStatus
from marketplace.sellers.models import Seller
from tests.factories import (
    AdminFactory,
    FundFactory,
    ProductFactory,
    SellerFactory,
    SellerMemberFactory,
    UserFactory,
)
from tests.test_sellers import profile

ADMIN_PAGES = [
    "/admin/",
    "/admin/sellers",
    "/admin/sellers/new",
    "/admin/funds",
    "/admin/funds/new",
    "/admin/users",
]


@pytest.fixture
def admin_client(client, db):
    AdminFactory(email="admin@example.com")
    db.session.commit()
    client.login("admin@example.com")
    return client


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_non_admins_cannot_reach_the_back_office(client, db, url):
    UserFactory(email="buyer@example.com")
    db.session.commit()

    guest = client.get(url)
    assert guest.status_code == 302 and guest.headers["Location"].startswith("/login")
    client.login("buyer@example.com")
    refused = client.get(url)
    assert refused.status_code == 403
    assert "admin@example.com" not in refused.get_data(as_text=True)


def test_non_admin_posts_to_the_back_office_change_nothing(client, db):
    seller = SellerFactory(verified=False)
    UserFactory(email="buyer@example.com")
    db.session.commit()
    client.login("buyer@example.com")

    response = client.submit(f"/admin/sellers/{seller.id}/verify", {"verified": "1"})

    assert response.status_code == 403
    db.session.refresh(seller)
    assert not seller.verified


#: What each back-office page shows of the admin_pages data.
SHOWN = {
    "/admin/": ["กลุ่มรอตรวจ", "กองทุนรอตรวจ"],  # both wait for verification
    "/admin/sellers": ["กลุ่มรอตรวจ"],
    "/admin/sellers/new": ['name="name_th"', 'name="kind"'],
    "/admin/funds": ["กองทุนรอตรวจ"],
    "/admin/funds/new": ['name="name_th"'],
    "/admin/users": ["admin@example.com", "buyer@example.com"],
}


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_show_what_they_are_for(admin_client, db, url):
    SellerFactory(name_th="กลุ่มรอตรวจ", verified=False)
    FundFactory(name_th="กองทุนรอตรวจ", verified=False)
    UserFactory(email="buyer@example.com")
    db.session.commit()

    response = admin_client.get(url)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert all(text in page for text in SHOWN[url]), SHOWN[url]


def test_admin_creates_verifies_and_staffs_a_seller(admin_client, db):
    UserFactory(email="member@example.com")
    db.session.commit()

    created = admin_client.submit("/admin/sellers/new", profile(name_th="กลุ่มใหม่"))
    assert created.status_code == 302
    seller = db.session.scalar(select(Seller).where(Seller.name_th == "กลุ่มใหม่"))
    assert not seller.verified
    assert "กลุ่มใหม่" not in admin_client.get("/").get_data(as_text=True)

    admin_client.submit(f"/admin/sellers/{seller.id}/verify", {"verified": "1"})
    admin_client.submit(f"/admin/sellers/{seller.id}/people", {"email": "Member@Example.com"})

    db.session.refresh(seller)
    assert seller.verified and seller.verified_at is not None
    assert [m.user.email for m in seller.members] == ["member@example.com"]
    assert "กลุ่มใหม่" in admin_client.get("/").get_data(as_text=True)

    member_id = seller.members[0].user_id
    admin_client.submit(f"/admin/sellers/{seller.id}/people/{member_id}/remove", {})
    admin_client.submit(f"/admin/sellers/{seller.id}/verify", {"verified": "0"})
    db.session.expire_all()
    assert seller.members == [] and not seller.verified


def test_adding_an_unknown_or_duplicate_person_is_refused(admin_client, db):
    seller = SellerFactory()
    UserFactory(email="member@example.com")
    db.session.commit()

    unknown = admin_client.submit(
        f"/admin/sellers/{seller.id}/people", {"email": "ghost@example.com"}
    )
    first = admin_client.submit(
        f"/admin/sellers/{seller.id}/people", {"email": "member@example.com"}
    )
    again = admin_client.submit(
        f"/admin/sellers/{seller.id}/people", {"email": "member@example.com"}
    )

    assert unknown.status_code == 400 and "ไม่มีบัญชีที่ใช้อีเมลนี้" in unknown.get_data(as_text=True)
    assert first.status_code == 302
    assert again.status_code == 400
    db.session.refresh(seller)
    assert len(seller.members) == 1


def test_admin_creates_a_fund_and_names_a_treasurer(admin_client, db):
    UserFactory(email="treasurer@example.com")
    db.session.commit()
    data = profile(
        name_th="กองทุนสวัสดิการชุมชนตำบลราไวย์",
        province="83",
        district="8301",
        subdistrict="830107",
        postal_code="83130",
    )

    assert admin_client.submit("/admin/funds/new", data).status_code == 302
    fund = db.session.scalar(select(Fund))
    admin_client.submit(f"/admin/funds/{fund.id}/people", {"email": "treasurer@example.com"})
    admin_client.submit(f"/admin/funds/{fund.id}/verify", {"verified": "1"})

    db.session.refresh(fund)
    assert fund.verified and [t.user.email for t in fund.treasurers] == ["treasurer@example.com"]
    assert fund.subdistrict.district.province.name_en == "Phuket"


def test_admin_create_with_bad_address_writes_nothing(admin_client, db):
    response = admin_client.submit("/admin/funds/new", profile(postal_code="83130"))

    assert response.status_code == 400
    assert db.session.scalar(select(Fund)) is None


def test_admin_role_can_be_granted_but_not_removed_from_oneself(admin_client, db):
    user = UserFactory(email="helper@example.com")
    db.session.commit()
    me = db.session.scalar(select(type(user)).where(type(user).email == "admin@example.com"))

    admin_client.submit(f"/admin/users/{user.id}/admin", {"is_admin": "1"})
    admin_client.submit(f"/admin/users/{me.id}/admin", {"is_admin": "0"})

    db.session.expire_all()
    assert user.is_admin and me.is_admin
    assert admin_client.submit("/admin/users/999999/admin", {"is_admin": "1"}).status_code == 404


def test_user_search(admin_client, db):
    UserFactory(email="somsak@example.com", name="สมศักดิ์")
    UserFactory(email="other@example.com", name="อื่น")
    db.session.commit()

    page = admin_client.get("/admin/users?q=somsak").get_data(as_text=True)

    assert "somsak@example.com" in page and "other@example.com" not in page


def test_fund_treasurer_edits_own_fund_only(client, db):
    from tests.factories import FundTreasurerFactory

    mine = FundTreasurerFactory(user__email="t@example.com").fund
    other = FundFactory(name_th="กองทุนอื่น")
    db.session.commit()
    client.login("t@example.com")
    data = profile(
        name_th="กองทุนของฉัน",
        province="83",
        district="8301",
        subdistrict="830107",
        postal_code="83130",
    )

    assert client.submit(f"/funds/{mine.id}/edit", data).status_code == 302
    assert client.submit(f"/funds/{other.id}/edit", data).status_code == 403
    db.session.expire_all()
    assert mine.name_th == "กองทุนของฉัน" and other.name_th == "กองทุนอื่น"


def test_admin_edits_categories(admin_client, db):
    added = admin_client.submit(
        "/admin/categories",
        {"name_th": "สมุนไพร", "name_en": "Herbs", "position": "9", "active": "y"},
    )
    herbs = db.session.scalar(select(Category).where(Category.name_th == "สมุนไพร"))
    renamed = admin_client.submit(
        f"/admin/categories/{herbs.id}",
        {"name_th": "สมุนไพรไทย", "name_en": "Thai herbs", "position": "9"},
    )
    empty = admin_client.submit(f"/admin/categories/{herbs.id}", {"name_th": "", "position": "1"})

    assert (added.status_code, renamed.status_code, empty.status_code) == (302, 302, 400)
    assert '<p class="error">กรุณากรอกช่องนี้</p>' in empty.get_data(as_text=True)  # on its row
    db.session.refresh(herbs)
    assert (herbs.slug, herbs.name_th, herbs.active) == ("herbs", "สมุนไพรไทย", False)
    # The admin still sees the retired category; sellers are no longer offered it.
    assert "สมุนไพรไทย" in admin_client.get("/admin/categories").get_data(as_text=True)
    member = SellerMemberFactory(user__email="member@example.com")
    db.session.commit()
    admin_client.submit("/logout", {})
    admin_client.login("member@example.com")
    product_form = admin_client.get(f"/sellers/{member.seller_id}/products/new")
    assert "ข้าวและธัญพืช" in product_form.get_data(as_text=True)
    assert "สมุนไพร" not in product_form.get_data(as_text=True)


def test_non_admin_cannot_edit_categories(client, db):
    UserFactory(email="buyer@example.com")
    db.session.commit()
    client.login("buyer@example.com")

    response = client.submit("/admin/categories", {"name_th": "แอบเพิ่ม", "position": "1"})

    assert response.status_code == 403
    assert db.session.scalar(select(Category).where(Category.name_th == "แอบเพิ่ม")) is None


def _reported_order(db, client, reference="KBANK-0042"):
    """A buyer's transfer order whose reference they sent (through the buyer's pages)."""
    from tests.test_orders import add, latest_order, place

    product = ProductFactory(price_satang=35000)
    UserFactory(email="buyer@example.com")
    db.session.commit()
    client.login("buyer@example.com")
    add(client, product)
    place(client)
    order = latest_order(db)
    client.submit(f"/orders/{order.id}/reference", {"reference": reference})
    client.submit("/logout", {})
    return order


def test_overview_counts_a_reported_payment_and_confirms_it_there(client, db):
    AdminFactory(email="admin@example.com")
    SellerFactory(name_th="กลุ่มรอตรวจ", verified=False)
    order = _reported_order(db, client)
    client.login("admin@example.com")

    overview = client.get("/admin/").get_data(as_text=True)

    waiting = re.findall(r'<a href="([^"]+)"><strong class="to-do-count">(\d+)</strong>', overview)
    assert ("/admin/orders?waiting=payment", "1") in waiting  # not "nothing is waiting"
    assert ("/admin/sellers?verified=no", "1") in waiting
    assert "KBANK-0042" in overview and order.number in overview
    assert "ไม่มีงานรอคุณ" not in overview
    listed = client.get("/admin/orders?waiting=payment").get_data(as_text=True)
    assert order.number in listed
    assert "กลุ่มรอตรวจ" in client.get("/admin/sellers?verified=no").get_data(as_text=True)

    confirmed = client.submit(
        f"/admin/orders/{order.id}/confirm-payment", {"reference": "", "back": "overview"}
    )

    assert confirmed.status_code == 303 and confirmed.headers["Location"] == "/admin/"
    db.session.refresh(order)
    assert order.status == OrderStatus.PAID
    after = client.get("/admin/").get_data(as_text=True)
    assert ("/admin/orders?waiting=payment", "1") not in re.findall(
        r'<a href="([^"]+)"><strong class="to-do-count">(\d+)</strong>', after
    )
    assert order.number not in client.get("/admin/orders?waiting=payment").get_data(as_text=True)


def test_overview_speaks_plainly_and_says_when_nothing_waits(admin_client, db):
    admin_client.post("/language/en", data={"csrf_token": admin_client.csrf_token()})

    overview = admin_client.get("/admin/").get_data(as_text=True)

    assert "Nothing is waiting for you." in overview
    assert "background" not in overview.lower() and "outbox" not in overview.lower()


def test_destructive_back_office_buttons_look_dangerous_and_ask_first(client, db):
    AdminFactory(email="admin@example.com")
    order = _reported_order(db, client)
    client.login("admin@example.com")
    client.submit(f"/admin/orders/{order.id}/confirm-payment", {})

    page = client.get(f"/admin/orders/{order.id}").get_data(as_text=True)

    for action in ("refund", "cancel"):
        form = re.search(
            rf'<form method="post" action="/admin/orders/{order.id}/{action}"[^>]*>(.*?)</form>',
            page,
            re.S,
        )
        assert form and "data-confirm=" in form.group(0), action
        assert 'class="danger"' in form.group(1), action
    assert "js/confirm.js" in page
