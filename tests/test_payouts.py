"""Sellers get paid: the platform fee, proceeds held until delivery, payout runs,
statements, and the ledger's checks of all of it."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from config import ConfigError, load_config
from marketplace.audit.models import AuditRecord
from marketplace.errors import DomainError, Forbidden
from marketplace.extensions import db as _db
from marketplace.ledger import services as ledger
from marketplace.ledger.models import Account, AccountKind, EntryKind, JournalEntry
from marketplace.ledger.verify import verify
from marketplace.levies import routing
from marketplace.levies import services as levies
from marketplace.orders import services as orders
from marketplace.orders.models import OrderItem
from marketplace.payouts import arithmetic, fees, proceeds
from marketplace.sellers.models import Seller
from tests.conftest import PASSWORD
from tests.factories import (
    AdminFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)

ADDRESS = {
    "name": "สมศรี",
    "phone": "0812345678",
    "address_line": "1",
    "subdistrict_code": "830107",
    "postal_code": "83130",
}


@pytest.fixture
def app(make_app, request):
    """The app, with the settings a test asks for through :func:`configured`."""
    return make_app(**getattr(request, "param", {}))


def configured(**settings):
    """Run the test with these settings (``@configured(PLATFORM_FEE_BPS=250)``)."""
    return pytest.mark.parametrize("app", [settings], indirect=True, ids=["configured"])


#: The marketplace taking 2.5% of the goods sold.
with_fee = configured(PLATFORM_FEE_BPS=250)


@pytest.fixture
def market(db):
    """Two sellers with one member each (the rice group's sales carry ฿4 a bag to a fund),
    an admin and a buyer."""
    rice_member = SellerMemberFactory(user__email="rice@example.com")
    weaver = SellerMemberFactory(user__email="weaver@example.com")
    treasurer = FundTreasurerFactory(user__email="treasurer@example.com")
    rice = ProductFactory(
        seller=rice_member.seller, price_satang=35000, weight_grams=5050, stock=500
    )
    basket = ProductFactory(seller=weaver.seller, price_satang=45050, weight_grams=400, stock=500)
    agreed_levy(rice_member, treasurer, rice)
    market = {
        "rice_seller": rice_member.seller,
        "weave_seller": weaver.seller,
        "rice_member": rice_member.user,
        "weaver": weaver.user,
        "fund": treasurer.fund,
        "rice": rice,
        "basket": basket,
        "admin": AdminFactory(email="admin@example.com"),
        "buyer": UserFactory(email="buyer@example.com"),
    }
    db.session.commit()
    return market


def buy(market, lines, pay=True):
    """Place an order for ``[(product, quantity)]`` and, by default, confirm its payment; the
    commit hands the routing to the (in-process) task."""
    order = orders.place_order(
        market["buyer"], [(product.id, quantity) for product, quantity in lines], address=ADDRESS
    )
    if pay:
        orders.confirm_transfer(market["admin"], order)
    _db.session.commit()
    return order


def balance_of(kind, seller_id=None):
    found = ledger.find_account(kind, seller_id=seller_id)
    return found.balance_satang if found is not None else 0


# The platform fee


def test_fee_arithmetic_rounds_once_half_up():
    assert arithmetic.fee_for_line(350000, 250) == 8750
    assert arithmetic.fee_for_line(231, 250) == 6  # 5.775
    assert arithmetic.fee_for_line(220, 250) == 6  # 5.5 exactly: half up
    assert arithmetic.fee_for_line(219, 250) == 5  # 5.475
    assert arithmetic.fee_for_line(999, 0) == 0
    assert arithmetic.fee_for_line(999, 10_000) == 999
    with pytest.raises(ValueError):
        arithmetic.fee_for_line(100, 10_001)


def test_platform_fee_bps_must_be_a_rate():
    with pytest.raises(ConfigError, match="PLATFORM_FEE_BPS"):
        load_config("testing", env={"PLATFORM_FEE_BPS": "10001"})
    with pytest.raises(ConfigError, match="PLATFORM_FEE_BPS"):
        load_config("testing", env={"PLATFORM_FEE_BPS": "2.5"})
    assert load_config("testing", env={}).PLATFORM_FEE_BPS == 0


@with_fee
def test_each_item_keeps_the_fee_of_the_day_it_was_sold(db, market):
    seller = market["rice_seller"]
    first = buy(market, [(market["rice"], 10)], pay=False)
    fees.set_rate(market["admin"], seller, 100)  # 1% for this seller from now on
    second = buy(market, [(market["rice"], 3)], pay=False)
    fees.set_rate(market["admin"], seller, None)  # back to the marketplace's 2.5%
    db.session.commit()

    db.session.expire_all()
    assert [(i.platform_fee_bps, i.platform_fee_satang) for i in first.items] == [(250, 8750)]
    assert [(i.platform_fee_bps, i.platform_fee_satang) for i in second.items] == [(100, 1050)]
    assert db.session.get(Seller, seller.id).platform_fee_bps is None


@with_fee
def test_paying_posts_the_fee_to_platform_revenue_once(db, market):
    order = buy(market, [(market["rice"], 10), (market["basket"], 1)])
    rice_item, basket_item = sorted(order.items, key=lambda i: i.product_id)
    rice_parcel = next(s for s in order.shipments if s.seller_id == market["rice_seller"].id)

    db.session.expire_all()
    assert (rice_item.platform_fee_satang, basket_item.platform_fee_satang) == (8750, 1126)
    assert balance_of(AccountKind.PLATFORM_REVENUE) == 8750 + 1126  # 1126.25 rounds down
    keys = set(db.session.scalars(select(JournalEntry.key)))
    assert {f"fee:{rice_item.id}:charge", f"fee:{basket_item.id}:charge"} <= keys
    # The rice group's payable: goods + shipping - ฿40 levy - ฿87.50 fee.
    assert balance_of(AccountKind.SELLER_PAYABLE, market["rice_seller"].id) == (
        350000 + rice_parcel.shipping_satang - 4000 - 8750
    )
    assert routing.route_order(order.id) == 0  # routed again: nothing new
    db.session.commit()
    assert balance_of(AccountKind.PLATFORM_REVENUE) == 9876
    assert verify().ok


@with_fee
def test_refunds_give_back_the_fee_of_the_units_refunded(db, market):
    order = buy(market, [(market["rice"], 3)])  # 105000 satang: fee 2625
    item = order.items[0]
    assert item.platform_fee_satang == 2625

    for _ in range(3):  # one unit at a time: 875 each, and all of it in the end
        orders.refund(market["admin"], order, [(item.id, 1)])
        db.session.commit()
    db.session.expire_all()

    reversals = db.session.scalars(
        select(JournalEntry).where(JournalEntry.kind == EntryKind.FEE_REVERSAL)
    ).all()
    assert len(reversals) == 3
    assert balance_of(AccountKind.PLATFORM_REVENUE) == 0
    assert verify().ok


@configured(PLATFORM_FEE_BPS=333)
def test_an_odd_fee_reverses_exactly_in_any_steps(db, market):
    cheap = ProductFactory(seller=market["weave_seller"], price_satang=33, stock=100)
    db.session.commit()
    order = buy(market, [(cheap, 7)])  # 231 satang at 3.33%: 7.6923 -> 8
    item = order.items[0]
    assert item.platform_fee_satang == 8
    orders.refund(market["admin"], order, [(item.id, 2)])  # floor(8 * 2 / 7) = 2
    db.session.commit()
    assert balance_of(AccountKind.PLATFORM_REVENUE) == 6
    orders.refund(market["admin"], order, [(item.id, 5)])  # the rest: 6
    db.session.commit()
    assert balance_of(AccountKind.PLATFORM_REVENUE) == 0
    assert verify().ok


def test_with_no_fee_nothing_is_posted_and_no_revenue_account_is_made(db, market):
    buy(market, [(market["rice"], 2)])
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == EntryKind.FEE)
        )
        == 0
    )
    assert ledger.find_account(AccountKind.PLATFORM_REVENUE) is None


def test_an_admin_sets_a_sellers_fee_in_the_back_office(client, db, market):
    seller_id = market["rice_seller"].id
    client.login("admin@example.com")
    page = client.get(f"/admin/sellers/{seller_id}").get_data(as_text=True)
    assert f"/admin/sellers/{seller_id}/platform-fee" in page

    response = client.submit(f"/admin/sellers/{seller_id}/platform-fee", {"rate": "2.5"})

    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Seller, seller_id).platform_fee_bps == 250
    record = db.session.scalar(
        select(AuditRecord).where(AuditRecord.action == "seller.platform_fee_set")
    )
    assert record.detail["platform_fee"] == "2.5%" and record.detail["platform_fee_before"] == "-"
    assert (
        client.submit(f"/admin/sellers/{seller_id}/platform-fee", {"rate": ""}).status_code == 303
    )
    db.session.expire_all()
    assert db.session.get(Seller, seller_id).platform_fee_bps is None


@pytest.mark.parametrize("rate", ["abc", "101", "2.555", "-1", "NaN", "1" * 11])
def test_bad_fees_are_refused_and_write_nothing(client, db, market, rate):
    seller_id = market["rice_seller"].id
    client.login("admin@example.com")

    response = client.submit(f"/admin/sellers/{seller_id}/platform-fee", {"rate": rate})

    assert response.status_code == 400
    assert "error" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Seller, seller_id).platform_fee_bps is None
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action == "seller.platform_fee_set")
        )
        == 0
    )


def test_only_admins_set_a_fee(client, db, market):
    seller_id = market["rice_seller"].id
    client.login("rice@example.com")
    assert client.get(f"/admin/sellers/{seller_id}/platform-fee").status_code == 403
    assert (
        client.submit(f"/admin/sellers/{seller_id}/platform-fee", {"rate": "0"}).status_code == 403
    )
    with pytest.raises(Forbidden):
        fees.set_rate(market["rice_member"], market["rice_seller"], 0)
    with pytest.raises(DomainError):
        fees.set_rate(market["admin"], market["rice_seller"], 10_001)


@with_fee
def test_sellers_see_the_fee_where_they_see_levies(client, db, market):
    order = buy(market, [(market["rice"], 10)])
    rice_parcel = order.shipments[0]
    client.login("rice@example.com")
    seller_id = market["rice_seller"].id

    today = levies.today()
    levies_page = client.get(f"/sellers/{seller_id}/levies?from={today}&to={today}")
    shipments_page = client.get(f"/sellers/{seller_id}/shipments")

    assert "฿87.50" in levies_page.get_data(as_text=True)
    text = shipments_page.get_data(as_text=True)
    proceeds = 350000 + rice_parcel.shipping_satang - 4000 - 8750
    assert "฿87.50" in text and "฿40.00" in text
    assert f"฿{proceeds // 100:,}.{proceeds % 100:02d}" in text
    token = client.post(
        "/api/v1/tokens", json={"email": "rice@example.com", "password": "correct-horse-42"}
    ).json["token"]
    seen = client.get(f"/api/v1/orders/{order.id}", headers={"Authorization": f"Bearer {token}"})
    assert seen.json["platform_fee_total_satang"] == 8750
    assert seen.json["shipments"][0]["items"][0]["platform_fee_satang"] == 8750


def test_the_database_refuses_a_fee_above_the_line(db, market):
    order = buy(market, [(market["rice"], 1)], pay=False)
    item = db.session.get(OrderItem, order.items[0].id)
    item.platform_fee_satang = item.line_total_satang + 1
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# Balances: pending until delivered and held, then available


def token_for(client, email):
    response = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


def parcel_of(order, seller):
    return next(s for s in order.shipments if s.seller_id == seller.id)


def proceeds_of(order, seller):
    """Goods + shipping − levies − fee of the seller's shipment, from the order's own rows."""
    shipment = parcel_of(order, seller)
    items = [i for i in order.items if i.shipment_id == shipment.id]
    return (
        shipment.subtotal_satang
        + shipment.shipping_satang
        - sum(i.levy_satang for i in items)
        - sum(i.platform_fee_satang for i in items)
    )


def deliver(market, order, seller):
    shipment = parcel_of(order, seller)
    orders.ship(
        market["rice_member"] if seller == market["rice_seller"] else market["weaver"],
        shipment,
        carrier="ไปรษณีย์ไทย",
        tracking_number="EX123456789TH",
    )
    orders.confirm_delivery(market["buyer"], shipment)
    _db.session.commit()
    return shipment


def amounts(balance):
    return (
        balance.pending_satang,
        balance.available_satang,
        balance.in_payout_satang,
        balance.paid_out_satang,
        balance.owed_satang,
    )


@with_fee
def test_proceeds_are_pending_until_delivered_and_the_hold_is_over(db, market):
    order = buy(market, [(market["rice"], 10), (market["basket"], 2)])
    rice, weave = market["rice_seller"], market["weave_seller"]
    rice_proceeds = proceeds_of(order, rice)
    shipping = parcel_of(order, rice).shipping_satang
    assert rice_proceeds == 350000 + shipping - 4000 - 8750
    assert amounts(proceeds.balance(rice.id)) == (rice_proceeds, 0, 0, 0, 0)

    shipment = deliver(market, order, rice)
    delivered = shipment.delivered_at
    held = delivered + timedelta(days=3) - timedelta(seconds=1)
    over = delivered + timedelta(days=3)

    assert amounts(proceeds.balance(rice.id)) == (rice_proceeds, 0, 0, 0, 0)
    assert amounts(proceeds.balance(rice.id, now=held)) == (rice_proceeds, 0, 0, 0, 0)
    assert amounts(proceeds.balance(rice.id, now=over)) == (0, rice_proceeds, 0, 0, 0)
    # The other seller's parcel has not arrived: its proceeds stay pending.
    weave_proceeds = proceeds_of(order, weave)
    assert amounts(proceeds.balance(weave.id, now=over)) == (weave_proceeds, 0, 0, 0, 0)

    assert proceeds.release_due(now=held) == 0
    assert proceeds.release_due(now=over) == 1
    db.session.commit()
    assert proceeds.release_due(now=over) == 0  # posted once
    assert balance_of(AccountKind.SELLER_PAYABLE, rice.id) == 0
    assert balance_of(AccountKind.SELLER_AVAILABLE, rice.id) == rice_proceeds
    assert amounts(proceeds.balance(rice.id, now=over)) == (0, rice_proceeds, 0, 0, 0)
    assert (
        db.session.scalar(
            select(JournalEntry.kind).where(JournalEntry.key == f"release:{shipment.id}")
        )
        == EntryKind.RELEASE
    )
    assert verify().ok


@configured(PAYOUT_HOLD_DAYS=0)
def test_with_no_hold_a_parcel_received_over_the_api_is_available_at_once(client, db, market):
    order = buy(market, [(market["rice"], 2)])
    shipment = parcel_of(order, market["rice_seller"])
    orders.ship(market["rice_member"], shipment, carrier="Kerry", tracking_number="K1")
    db.session.commit()
    seller_id = market["rice_seller"].id
    expected = proceeds_of(order, market["rice_seller"])

    received = client.post(
        f"/api/v1/shipments/{shipment.id}/received", headers=token_for(client, "buyer@example.com")
    )
    assert received.status_code == 200, received.json
    assert received.json["status"] == "delivered"
    entries = db.session.scalar(select(func.count()).select_from(JournalEntry))
    accounts = db.session.scalar(select(func.count()).select_from(Account))

    seen = client.get(
        f"/api/v1/sellers/{seller_id}/balance", headers=token_for(client, "rice@example.com")
    )

    assert seen.status_code == 200
    assert seen.json == {
        "seller_id": seller_id,
        "pending_satang": 0,
        "available_satang": expected,
        "in_payout_satang": 0,
        "paid_out_satang": 0,
        "owed_satang": 0,
    }
    # A GET writes nothing: the release is counted, not posted.
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == entries
    assert db.session.scalar(select(func.count()).select_from(Account)) == accounts
    celery = client.application.extensions["celery"]
    assert celery.tasks["tasks.payouts.release_due"].apply().get() == 1
    db.session.expire_all()
    assert balance_of(AccountKind.SELLER_AVAILABLE, seller_id) == expected
    assert verify().ok


@with_fee
def test_a_refund_before_release_reduces_pending(db, market):
    order = buy(market, [(market["rice"], 10)])
    seller = market["rice_seller"]
    before = proceeds_of(order, seller)

    orders.refund(market["admin"], order, [(order.items[0].id, 3)])
    db.session.commit()

    # 3 bags: 105000 back to the buyer, ฿12 of levy and ฿26.25 of fee back to the seller.
    assert amounts(proceeds.balance(seller.id)) == (before - 105000 + 1200 + 2625, 0, 0, 0, 0)
    assert verify().ok


@with_fee
def test_a_refund_after_release_reduces_available(db, market):
    order = buy(market, [(market["rice"], 10)])
    seller = market["rice_seller"]
    before = proceeds_of(order, seller)
    shipment = deliver(market, order, seller)
    later = shipment.delivered_at + timedelta(days=4)
    proceeds.release_due(now=later)
    db.session.commit()

    refund = orders.refund(market["admin"], order, [(order.items[0].id, 3)])
    db.session.commit()

    left = before - 105000 + 1200 + 2625
    assert amounts(proceeds.balance(seller.id, now=later)) == (0, left, 0, 0, 0)
    assert balance_of(AccountKind.SELLER_PAYABLE, seller.id) == 0
    moved = db.session.scalar(
        select(JournalEntry).where(JournalEntry.key == f"release:{shipment.id}:refund:{refund.id}")
    )
    assert moved.kind == EntryKind.RELEASE
    assert routing.post_refund(refund.id) == 0  # the task again: nothing new
    assert verify().ok


def test_balances_are_for_the_sellers_members_and_admins(client, db, market):
    seller_id = market["rice_seller"].id
    url = f"/api/v1/sellers/{seller_id}/balance"

    assert client.get(url).status_code == 401
    for email in ("weaver@example.com", "buyer@example.com"):
        refused = client.get(url, headers=token_for(client, email))
        assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert client.get(url, headers=token_for(client, "admin@example.com")).status_code == 200
    admin = token_for(client, "admin@example.com")
    assert client.get("/api/v1/sellers/99999/balance", headers=admin).status_code == 404
    assert client.get("/api/v1/sellers/-1/balance", headers=admin).status_code == 404
    assert client.get("/api/v1/sellers/0/balance", headers=admin).status_code == 404


def test_received_over_the_api_follows_the_webs_rules(client, db, market):
    unpaid = buy(market, [(market["rice"], 1)], pay=False)
    paid = buy(market, [(market["rice"], 1)])
    buyer = token_for(client, "buyer@example.com")
    other = token_for(client, "weaver@example.com")
    unpaid_parcel, paid_parcel = unpaid.shipments[0], paid.shipments[0]

    # Another user's parcel is not found; an unpaid order's parcel cannot arrive.
    assert (
        client.post(f"/api/v1/shipments/{paid_parcel.id}/received", headers=other).status_code
        == 404
    )
    assert client.post("/api/v1/shipments/99999/received", headers=buyer).status_code == 404
    refused = client.post(f"/api/v1/shipments/{unpaid_parcel.id}/received", headers=buyer)
    assert refused.status_code == 409
    # A parcel not yet shipped cannot be received (delivery, not pickup).
    assert (
        client.post(f"/api/v1/shipments/{paid_parcel.id}/received", headers=buyer).status_code
        == 409
    )
    db.session.expire_all()
    assert paid_parcel.status == "preparing" and paid_parcel.delivered_at is None

    orders.ship(market["rice_member"], paid_parcel, carrier="Kerry", tracking_number="K2")
    db.session.commit()
    assert (
        client.post(f"/api/v1/shipments/{paid_parcel.id}/received", headers=buyer).status_code
        == 200
    )
    again = client.post(f"/api/v1/shipments/{paid_parcel.id}/received", headers=buyer)
    assert again.status_code == 409


def test_released_money_settles_what_is_owed_first_and_never_goes_negative():
    assert arithmetic.released(1000, available=0, owed=0) == (1000, 0)
    assert arithmetic.released(1000, available=0, owed=300) == (700, -300)
    assert arithmetic.released(200, available=0, owed=300) == (0, -200)
    assert arithmetic.released(-500, available=800, owed=0) == (-500, 0)
    assert arithmetic.released(-500, available=200, owed=0) == (-200, 300)
    assert arithmetic.released(-500, available=0, owed=100) == (0, 500)
    assert arithmetic.released(0, available=5, owed=0) == (0, 0)
    with pytest.raises(ValueError):
        arithmetic.released(1, available=-1, owed=0)


def test_the_database_refuses_a_negative_available_balance(db, market):
    available = ledger.account(AccountKind.SELLER_AVAILABLE, seller_id=market["rice_seller"].id)
    db.session.commit()
    available.balance_satang = -1
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
