"""Sellers get paid: the platform fee, proceeds held until delivery, payout runs,
statements, and the ledger's checks of all of it."""

import csv
import io
import json
import logging
import re
import threading
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from config import ConfigError, load_config
from marketplace.accounts.models import User
from marketplace.audit.models import AuditRecord
from marketplace.dbtypes import utcnow
from marketplace.errors import Conflict, DomainError, Forbidden
from marketplace.extensions import db as _db
from marketplace.ledger import export as ledger_export
from marketplace.ledger import services as ledger
from marketplace.ledger.models import Account, AccountKind, EntryKind, JournalEntry
from marketplace.ledger.verify import verify
from marketplace.levies import routing
from marketplace.levies import services as levies
from marketplace.money import baht_text
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as orders
from marketplace.orders.models import DeliveryMethod, Order, OrderItem
from marketplace.outbox.models import OutboxMessage
from marketplace.payments import promptpay
from marketplace.payouts import arithmetic, fees, proceeds, services
from marketplace.payouts.models import Payout, PayoutRun
from marketplace.sellers.models import Seller
from marketplace.sellers.services import set_seller_verified
from tests.conftest import PASSWORD, examples, tamper
from tests.factories import (
    ADDRESS,
    AdminFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)
from tests.pages import field_errors


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
    rice_member = SellerMemberFactory(
        user__email="rice@example.com", seller__promptpay_id="0812345602"
    )
    weaver = SellerMemberFactory(
        user__email="weaver@example.com",
        seller__bank_name="ธ.ก.ส.",
        seller__bank_account_name="กลุ่มจักสานกระจูด",
        seller__bank_account_number="0201234567",
    )
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
    assert arithmetic.fee_for_line(0, 250) == 0  # a free line pays no fee, and is no error
    with pytest.raises(ValueError):
        arithmetic.fee_for_line(100, 10_001)
    with pytest.raises(ValueError):
        arithmetic.fee_for_line(-1, 250)


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
        order_refunds.refund(market["admin"], order, [(item.id, 1)])
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
    order_refunds.refund(market["admin"], order, [(item.id, 2)])  # floor(8 * 2 / 7) = 2
    db.session.commit()
    assert balance_of(AccountKind.PLATFORM_REVENUE) == 6
    order_refunds.refund(market["admin"], order, [(item.id, 5)])  # the rest: 6
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


def test_a_fee_from_nothing_to_everything_is_set_and_audited_with_who_and_before(db, market):
    admin, seller = market["admin"], market["rice_seller"]

    fees.set_rate(admin, seller, 0)  # the marketplace takes nothing from this group
    fees.set_rate(admin, seller, 10_000)
    db.session.commit()

    assert seller.platform_fee_bps == 10_000
    records = db.session.scalars(
        select(AuditRecord)
        .where(AuditRecord.action == "seller.platform_fee_set")
        .order_by(AuditRecord.id)
    ).all()
    assert [
        (r.actor_id, r.detail["platform_fee_before"], r.detail["platform_fee"]) for r in records
    ] == [
        (admin.id, "-", "0%"),
        (admin.id, "0%", "100%"),
    ]
    for odd in (True, 2.5, "250", -1, 10_001):
        with pytest.raises(DomainError):
            fees.set_rate(admin, seller, odd)
    assert seller.platform_fee_bps == 10_000


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

    order_refunds.refund(market["admin"], order, [(order.items[0].id, 3)])
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

    refund = order_refunds.refund(market["admin"], order, [(order.items[0].id, 3)])
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


# Payout runs


#: No hold, a 2.5% fee: what the issue's scenarios run with.
at_once = configured(PAYOUT_HOLD_DAYS=0, PLATFORM_FEE_BPS=250)


def delivered_order(market, lines):
    """An order paid and delivered (every parcel); returns it."""
    order = buy(market, lines)
    for shipment in order.shipments:
        seller = (
            market["rice_seller"]
            if shipment.seller_id == market["rice_seller"].id
            else (market["weave_seller"])
        )
        deliver(market, order, seller)
    return order


@at_once
def test_the_release_job_lists_only_parcels_with_something_left_to_release(db, market):
    """``due_shipments`` is the hourly release's work list (and what a seller's balance
    adds as due): delivered parcels of paid orders, hold over, not released yet, that left
    something on their own seller's pending account."""
    rice, weave = market["rice_seller"], market["weave_seller"]
    weave.offers_pickup = True
    _db.session.commit()
    kept = delivered_order(market, [(market["rice"], 2)])
    # Rice delivered, a basket picked up at the weavers' and then refunded whole: the
    # weavers' parcel has nothing left (no shipping, fee given back), the rice has.
    mixed = orders.place_order(
        market["buyer"],
        [(market["rice"].id, 1), (market["basket"].id, 1)],
        address=ADDRESS,
        methods={weave.id: DeliveryMethod.PICKUP},
    )
    orders.confirm_transfer(market["admin"], mixed)
    _db.session.commit()
    deliver(market, mixed, rice)
    orders.hand_over(market["weaver"], parcel_of(mixed, weave))
    basket = next(item for item in mixed.items if item.product_id == market["basket"].id)
    order_refunds.refund(market["admin"], mixed, [(basket.id, 1)])
    # Delivered, then refunded in full before its release: nothing left.
    refunded = delivered_order(market, [(market["rice"], 3)])
    order_refunds.refund(market["admin"], refunded, None)
    _db.session.commit()

    rice_parcels = [parcel_of(kept, rice).id, parcel_of(mixed, rice).id]
    assert [row.id for row in proceeds.due_shipments()] == rice_parcels
    assert [row.id for row in proceeds.due_shipments(seller_id=rice.id)] == rice_parcels
    assert proceeds.due_shipments(seller_id=weave.id) == []

    assert proceeds.release_due() == 2
    _db.session.commit()
    assert proceeds.due_shipments() == []
    assert verify().ok


@at_once
def test_a_parcel_whose_payment_waits_does_not_hold_up_the_parcels_after_it(
    db, market, monkeypatch
):
    """The release job passes over a parcel whose order's payment has not reached the
    ledger (its routing waits in the outbox) and releases the parcels after it; the one
    passed over is released by the first run after its payment is posted."""
    rice = market["rice_seller"]
    monkeypatch.setattr("marketplace.outbox.dispatch.publish", lambda message: None)
    waiting = delivered_order(market, [(market["rice"], 1)])
    routed = delivered_order(market, [(market["rice"], 2)])
    assert routing.route_order(routed.id) > 0  # its routing ran; the first order's waits
    _db.session.commit()
    assert [row.id for row in proceeds.due_shipments()] == [
        parcel_of(waiting, rice).id,
        parcel_of(routed, rice).id,
    ]

    assert proceeds.release_due() == 1
    _db.session.commit()
    assert amounts(proceeds.balance(rice.id)) == (0, proceeds_of(routed, rice), 0, 0, 0)

    assert routing.route_order(waiting.id) > 0
    _db.session.commit()
    assert proceeds.release_due() == 1
    _db.session.commit()
    both = proceeds_of(routed, rice) + proceeds_of(waiting, rice)
    assert amounts(proceeds.balance(rice.id)) == (0, both, 0, 0, 0)
    assert proceeds.due_shipments() == []


def test_pending_shares_reads_the_orders_asked_for_and_only_those(db, market):
    """A seller's pending share per order, as the release job reads it: the orders asked
    for, each with its own share; none asked, or no pending account yet, reads nothing."""
    rice = market["rice_seller"]
    first = buy(market, [(market["rice"], 1)])
    second = buy(market, [(market["rice"], 3)])
    third = buy(market, [(market["rice"], 2)])
    _db.session.commit()
    pending = ledger.seller_payable(rice.id).id

    assert proceeds.pending_shares(pending, [first.id, third.id]) == {
        first.id: proceeds_of(first, rice),
        third.id: proceeds_of(third, rice),
    }
    assert proceeds.pending_shares(pending, [second.id]) == {second.id: proceeds_of(second, rice)}
    assert proceeds.pending_shares(pending, []) == {}
    assert proceeds.pending_shares(None, [first.id]) == {}


def count(model, *where):
    return _db.session.scalar(select(func.count()).select_from(model).where(*where))


@at_once
def test_a_run_pays_each_seller_with_enough_available_and_details_once(client, db, market):
    order = delivered_order(market, [(market["rice"], 10), (market["basket"], 2)])
    rice_due = proceeds_of(order, market["rice_seller"])
    weave_due = proceeds_of(order, market["weave_seller"])
    admin = token_for(client, "admin@example.com")

    started = client.post("/api/v1/payout-runs", headers=admin)

    assert started.status_code == 201, started.json
    run_id = started.json["id"]
    assert [
        {k: p[k] for k in ("seller_id", "amount_satang", "status")} for p in started.json["payouts"]
    ] == [
        {"seller_id": market["rice_seller"].id, "amount_satang": rice_due, "status": "pending"},
        {"seller_id": market["weave_seller"].id, "amount_satang": weave_due, "status": "pending"},
    ]
    rice = proceeds.balance(market["rice_seller"].id)
    assert amounts(rice) == (0, 0, rice_due, 0, 0)
    # A second run finds nothing left to pay: 201 with no payouts.
    again = client.post("/api/v1/payout-runs", headers=admin)
    assert again.status_code == 201 and again.json["payouts"] == []
    assert client.get(f"/api/v1/payout-runs/{run_id}", headers=admin).json["total_satang"] == (
        rice_due + weave_due
    )
    assert verify().ok


@at_once
def test_sellers_below_the_minimum_or_without_details_are_left_out(client, db, market):
    market["weave_seller"].bank_account_number = ""  # no PromptPay, no bank account
    db.session.commit()
    cheap = ProductFactory(seller=market["rice_seller"], price_satang=5000, stock=10)
    db.session.commit()
    order = delivered_order(market, [(cheap, 1), (market["basket"], 1)])
    assert proceeds_of(order, market["rice_seller"]) < 10_000  # under PAYOUT_MINIMUM

    started = client.post("/api/v1/payout-runs", headers=token_for(client, "admin@example.com"))

    assert started.status_code == 201 and started.json["payouts"] == []
    assert count(Payout) == 0
    assert proceeds.balance(market["weave_seller"].id).available_satang == proceeds_of(
        order, market["weave_seller"]
    )


@at_once
def test_paid_once_cash_down_and_the_seller_told(client, db, market, caplog):
    caplog.set_level(logging.INFO, logger="marketplace.mail")
    order = delivered_order(market, [(market["rice"], 10)])
    due = proceeds_of(order, market["rice_seller"])
    admin = token_for(client, "admin@example.com")
    payout_id = client.post("/api/v1/payout-runs", headers=admin).json["payouts"][0]["id"]
    cash_before = balance_of(AccountKind.CASH)
    today = levies.today().isoformat()
    body = {"bank_reference": "KTB-2569-0001", "paid_on": today}

    paid = client.post(f"/api/v1/payouts/{payout_id}/paid", json=body, headers=admin)

    assert paid.status_code == 200, paid.json
    assert paid.json["status"] == "paid" and paid.json["bank_reference"] == "KTB-2569-0001"
    assert paid.json["paid_on"] == today and paid.json["amount_satang"] == due
    db.session.expire_all()
    assert balance_of(AccountKind.CASH) == cash_before - due
    assert amounts(proceeds.balance(market["rice_seller"].id)) == (0, 0, 0, due, 0)
    assert "to=rice@example.com" in caplog.text and "KTB-2569-0001" in caplog.text
    entries, records = count(JournalEntry), count(AuditRecord)
    mails = count(OutboxMessage, OutboxMessage.task == "tasks.payouts.payout_paid")

    # The same call again: 200, nothing new.
    again = client.post(f"/api/v1/payouts/{payout_id}/paid", json=body, headers=admin)
    assert again.status_code == 200 and again.json == paid.json
    # Another reference or day, or failing it now: 409, nothing written.
    for url, other in (
        (f"/api/v1/payouts/{payout_id}/paid", {**body, "bank_reference": "KTB-2569-0002"}),
        (f"/api/v1/payouts/{payout_id}/paid", {**body, "paid_on": "2026-01-01"}),
        (f"/api/v1/payouts/{payout_id}/failed", {"reason": "returned"}),
    ):
        refused = client.post(url, json=other, headers=admin)
        assert refused.status_code == 409, (url, other, refused.json)
    assert (count(JournalEntry), count(AuditRecord)) == (entries, records)
    assert count(OutboxMessage, OutboxMessage.task == "tasks.payouts.payout_paid") == mails
    assert verify().ok


@at_once
def test_a_failed_payout_is_available_again_and_paid_by_the_next_run(client, db, market):
    order = delivered_order(market, [(market["rice"], 10)])
    due = proceeds_of(order, market["rice_seller"])
    admin = token_for(client, "admin@example.com")
    payout_id = client.post("/api/v1/payout-runs", headers=admin).json["payouts"][0]["id"]

    failed = client.post(
        f"/api/v1/payouts/{payout_id}/failed", json={"reason": "บัญชีปิดแล้ว"}, headers=admin
    )

    assert failed.status_code == 200 and failed.json["status"] == "failed"
    assert failed.json["failure_reason"] == "บัญชีปิดแล้ว"
    assert amounts(proceeds.balance(market["rice_seller"].id)) == (0, due, 0, 0, 0)
    same = client.post(
        f"/api/v1/payouts/{payout_id}/failed", json={"reason": "บัญชีปิดแล้ว"}, headers=admin
    )
    assert same.status_code == 200
    for url, body in (
        (f"/api/v1/payouts/{payout_id}/failed", {"reason": "another"}),
        (f"/api/v1/payouts/{payout_id}/paid", {"bank_reference": "X", "paid_on": "2026-01-01"}),
    ):
        assert client.post(url, json=body, headers=admin).status_code == 409
    next_run = client.post("/api/v1/payout-runs", headers=admin).json
    assert [p["amount_satang"] for p in next_run["payouts"]] == [due]
    assert verify().ok


@at_once
def test_bad_payout_input_is_a_clear_4xx_and_writes_nothing(client, db, market):
    delivered_order(market, [(market["rice"], 10)])
    admin = token_for(client, "admin@example.com")
    payout_id = client.post("/api/v1/payout-runs", headers=admin).json["payouts"][0]["id"]
    tomorrow = (levies.today() + timedelta(days=1)).isoformat()
    entries, records = count(JournalEntry), count(AuditRecord)
    member = token_for(client, "rice@example.com")

    for path, body, status, field in (
        (
            f"/payouts/{payout_id}/paid",
            {"bank_reference": "R1", "paid_on": tomorrow},
            400,
            "paid_on",
        ),
        (
            f"/payouts/{payout_id}/paid",
            {"bank_reference": "R1", "paid_on": "26/11/2569"},
            400,
            "paid_on",
        ),
        (
            f"/payouts/{payout_id}/paid",
            {"bank_reference": "R1", "paid_on": "2020-01-01"},
            400,
            "paid_on",
        ),
        (
            f"/payouts/{payout_id}/paid",
            {"bank_reference": "   ", "paid_on": "2026-11-01"},
            400,
            "bank_reference",
        ),
        (
            f"/payouts/{payout_id}/paid",
            {"bank_reference": "R" * 101, "paid_on": "2026-11-01"},
            400,
            "bank_reference",
        ),
        (f"/payouts/{payout_id}/paid", {"paid_on": "2026-11-01"}, 400, "bank_reference"),
        (f"/payouts/{payout_id}/failed", {"reason": ""}, 400, "reason"),
        (f"/payouts/{payout_id}/failed", {"reason": 12}, 400, "reason"),
        ("/payouts/99999/paid", {"bank_reference": "R1", "paid_on": "2026-11-01"}, 404, None),
        ("/payouts/-1/paid", {"bank_reference": "R1", "paid_on": "2026-11-01"}, 404, None),
        ("/payouts/99999/failed", {"reason": "x"}, 404, None),
    ):
        answer = client.post(f"/api/v1{path}", json=body, headers=admin)
        assert answer.status_code == status, (path, body, answer.json)
        if field:
            assert field in answer.json["error"]["fields"], (path, answer.json)
    for path in (f"/payouts/{payout_id}/paid", f"/payouts/{payout_id}/failed", "/payout-runs"):
        refused = client.post(
            f"/api/v1{path}",
            json={"bank_reference": "R", "paid_on": "2026-11-01", "reason": "x"},
            headers=member,
        )
        assert refused.status_code == 403
        assert client.post(f"/api/v1{path}").status_code == 401
    assert (count(JournalEntry), count(AuditRecord)) == (entries, records)
    assert db.session.get(Payout, payout_id).status == "pending"


@at_once
def test_the_back_office_runs_shows_and_records_payouts(client, db, market):
    order = delivered_order(market, [(market["rice"], 10), (market["basket"], 1)])
    client.login("admin@example.com")
    assert "/admin/payouts" in client.get("/admin/").get_data(as_text=True)

    started = client.submit("/admin/payouts/runs", {})
    assert started.status_code == 303
    run = db.session.scalar(select(PayoutRun))
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    rice_payout, weave_payout = sorted(run.payouts, key=lambda p: p.seller_id)
    assert "0812345602" in page and "0201234567" in page and "กลุ่มจักสานกระจูด" in page
    due = proceeds_of(order, market["rice_seller"])
    assert f"฿{due // 100:,}.{due % 100:02d}" in page

    base = f"/admin/payout-runs/{run.id}/payouts"
    no_such_day = {"paid_on_day": "31", "paid_on_month": "2", "paid_on_year": "2026"}
    bad = client.submit(f"{base}/{rice_payout.id}/paid", {"bank_reference": "R1", **no_such_day})
    assert bad.status_code == 400
    assert field_errors(bad.get_data(as_text=True), "paid_on") == ["เดือนนั้นไม่มีวันที่นี้"]
    bad = client.submit(f"{base}/{rice_payout.id}/paid", {"bank_reference": "R1", "paid_on": "x"})
    assert bad.status_code == 400
    future = (levies.today() + timedelta(days=2)).isoformat()
    bad = client.submit(
        f"{base}/{rice_payout.id}/paid", {"bank_reference": "R1", "paid_on": future}
    )
    assert bad.status_code == 400
    # A payout of another run is not found.
    other = client.submit(
        f"/admin/payout-runs/{run.id + 1}/payouts/{rice_payout.id}/paid",
        {"bank_reference": "R1", "paid_on": levies.today().isoformat()},
    )
    assert other.status_code == 404
    db.session.expire_all()
    assert rice_payout.status == "pending"

    paid = client.submit(
        f"{base}/{rice_payout.id}/paid",
        {"bank_reference": "R1", "paid_on": levies.today().isoformat()},
    )
    failed = client.submit(f"{base}/{weave_payout.id}/failed", {"reason": "เลขบัญชีผิด"})
    assert (paid.status_code, failed.status_code) == (303, 303)
    db.session.expire_all()
    assert (rice_payout.status, weave_payout.status) == ("paid", "failed")
    trail = client.get("/admin/audit").get_data(as_text=True)
    assert "R1" in trail and "เลขบัญชีผิด" in trail
    assert verify().ok


def test_only_admins_reach_the_payout_pages(client, db, market):
    client.login("rice@example.com")
    assert client.get("/admin/payouts").status_code == 403
    assert client.submit("/admin/payouts/runs", {}).status_code == 403
    assert count(PayoutRun) == 0


@at_once
def test_flask_payouts_run(app, db, market):
    order = delivered_order(market, [(market["rice"], 10)])
    due = proceeds_of(order, market["rice_seller"])

    result = app.test_cli_runner().invoke(args=["payouts", "run"])

    assert result.exit_code == 0, result.output
    assert f"฿{due // 100:,}.{due % 100:02d}" in result.output
    assert "payout run 1: 1 payout, " in result.output
    record = db.session.scalar(
        select(AuditRecord).where(AuditRecord.action == "payout_run.started")
    )
    assert record.actor_id is None and record.actor_label == "cli"
    released = app.test_cli_runner().invoke(args=["payouts", "release"])
    assert released.exit_code == 0 and "released 0 shipments" in released.output


def test_the_weekly_run_is_off_unless_scheduled():
    from tasks import beat_schedule

    assert "payouts-weekly-run" not in beat_schedule(load_config("testing", env={}).as_dict())
    scheduled = beat_schedule(
        load_config("testing", env={"PAYOUT_RUN_SCHEDULE": "Mon 09:00"}).as_dict()
    )
    assert scheduled["payouts-weekly-run"]["task"] == "tasks.payouts.start_run"
    with pytest.raises(ConfigError, match="PAYOUT_RUN_SCHEDULE"):
        load_config("testing", env={"PAYOUT_RUN_SCHEDULE": "every monday"})
    with pytest.raises(ConfigError, match="PAYOUT_MINIMUM"):
        load_config("testing", env={"PAYOUT_MINIMUM": "0"})


@pytest.mark.postgres_only
@at_once
def test_two_runs_at_once_create_each_sellers_payout_once(app, db, market):
    order = delivered_order(market, [(market["rice"], 10), (market["basket"], 1)])
    admin_id = market["admin"].id
    barrier = threading.Barrier(2)
    errors, run_ids = [], []

    def start():
        try:
            with app.app_context():
                admin = _db.session.get(User, admin_id)
                barrier.wait()
                run = services.start_run(admin)
                _db.session.commit()
                run_ids.append(run.id)
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == [] and len(run_ids) == 2
    payouts = db.session.scalars(select(Payout).order_by(Payout.seller_id)).all()
    assert [(p.seller_id, p.amount_satang) for p in payouts] == [
        (market["rice_seller"].id, proceeds_of(order, market["rice_seller"])),
        (market["weave_seller"].id, proceeds_of(order, market["weave_seller"])),
    ]
    assert len({p.run_id for p in payouts}) == 1
    assert verify().ok


# The issue's acceptance walk, on both databases


def verified(app):
    """`flask ledger verify` exits 0 and says the ledger is OK."""
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "ledger OK" in result.output
    return True


@at_once
def test_two_sellers_paid_held_delivered_paid_out_refunded_and_netted(app, client, db, market):
    rice, weave = market["rice_seller"], market["weave_seller"]
    admin = token_for(client, "admin@example.com")
    buyer = token_for(client, "buyer@example.com")
    rice_member = token_for(client, "rice@example.com")
    weaver = token_for(client, "weaver@example.com")

    def balance(seller, token):
        answer = client.get(f"/api/v1/sellers/{seller.id}/balance", headers=token)
        assert answer.status_code == 200, answer.json
        return tuple(
            answer.json[name]
            for name in (
                "pending_satang",
                "available_satang",
                "in_payout_satang",
                "paid_out_satang",
                "owed_satang",
            )
        )

    # One order from both sellers, paid: everything pending.
    order = buy(market, [(market["rice"], 10), (market["basket"], 2)])
    rice_parcel, weave_parcel = parcel_of(order, rice), parcel_of(order, weave)
    rice_goods = 350000 + rice_parcel.shipping_satang - 4000 - 8750  # levy ฿40, fee ฿87.50
    weave_goods = 90100 + weave_parcel.shipping_satang - 2253  # fee 2.5% of ฿901 = ฿22.525
    assert balance(rice, rice_member) == (rice_goods, 0, 0, 0, 0)
    assert balance(weave, weaver) == (weave_goods, 0, 0, 0, 0)
    assert verified(app)

    # The rice parcel arrives: its proceeds are available (no hold), the basket's pending.
    orders.ship(market["rice_member"], rice_parcel, carrier="ไปรษณีย์ไทย", tracking_number="A1")
    db.session.commit()
    received = client.post(f"/api/v1/shipments/{rice_parcel.id}/received", headers=buyer)
    assert received.status_code == 200
    assert balance(rice, rice_member) == (0, rice_goods, 0, 0, 0)
    assert balance(weave, weaver) == (weave_goods, 0, 0, 0, 0)
    assert verified(app)

    # A run pays the rice group (the weaving group has nothing available).
    run = client.post("/api/v1/payout-runs", headers=admin).json
    assert [(p["seller_id"], p["amount_satang"]) for p in run["payouts"]] == [(rice.id, rice_goods)]
    assert balance(rice, rice_member) == (0, 0, rice_goods, 0, 0)
    payout_id = run["payouts"][0]["id"]
    paid = client.post(
        f"/api/v1/payouts/{payout_id}/paid",
        json={"bank_reference": "BAAC-0001", "paid_on": levies.today().isoformat()},
        headers=admin,
    )
    assert paid.status_code == 200
    assert balance(rice, rice_member) == (0, 0, 0, rice_goods, 0)
    assert verified(app)

    # Three bags refunded after the payout: the group owes exactly their proceeds.
    refunded = client.post(
        f"/api/v1/orders/{order.id}/refunds",
        json={"items": [{"order_item_id": rice_parcel.items[0].id, "quantity": 3}]},
        headers=admin,
    )
    assert refunded.status_code == 201
    owed = 3 * 35000 - 3 * 400 - 3 * 875  # goods back, less the levy and fee given back
    assert balance(rice, rice_member) == (0, 0, 0, rice_goods, owed)
    assert verified(app)

    # The next sale nets it off once delivered.
    second = buy(market, [(market["rice"], 5)])
    second_goods = 175000 + second.shipments[0].shipping_satang - 2000 - 4375
    assert balance(rice, rice_member) == (second_goods, 0, 0, rice_goods, owed)
    deliver(market, second, rice)
    assert balance(rice, rice_member) == (0, second_goods - owed, 0, rice_goods, 0)
    assert verified(app)

    # The statement adds up to the ledger: every movement, in order, and the balances.
    statement = client.get(
        f"/api/v1/sellers/{rice.id}/statement?from={levies.today()}&to={levies.today()}",
        headers=rice_member,
    ).json
    assert [line["kind"] for line in statement["lines"]] == [
        "proceeds",
        "levy",
        "platform_fee",
        "payout_reserved",
        "payout",
        "refund",
        "levy_reversal",
        "platform_fee_reversal",
        "proceeds",
        "levy",
        "platform_fee",
    ]
    totals = statement["totals"]
    assert totals["opening_balance_satang"] == 0
    assert totals["closing_balance_satang"] == second_goods - owed
    assert statement["lines"][-1]["balance_satang"] == second_goods - owed
    assert (totals["available_satang"], totals["owed_satang"]) == (second_goods - owed, 0)
    # The reservation is a line that changes nothing in all, with the payout beside it.
    reserved = statement["lines"][3]
    assert (reserved["amount_satang"], reserved["payout_satang"]) == (0, rice_goods)
    assert reserved["payout_id"] == payout_id
    assert reserved["balance_satang"] == statement["lines"][2]["balance_satang"]
    assert statement["lines"][4]["amount_satang"] == -rice_goods
    assert statement["lines"][5]["order_id"] == order.id
    assert statement["lines"][5]["amount_satang"] == -105000


@at_once
def test_the_statement_page_and_csv(client, db, market):
    order = delivered_order(market, [(market["rice"], 10)])
    services.start_run(market["admin"])
    db.session.commit()
    client.login("rice@example.com")
    seller_id = market["rice_seller"].id
    today = levies.today()
    due = proceeds_of(order, market["rice_seller"])

    page = client.get(f"/sellers/{seller_id}/statement")
    csv_file = client.get(f"/sellers/{seller_id}/statement.csv?from={today}&to={today}")

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert order.number in text and "฿40.00" in text and "฿87.50" in text
    assert f"฿{due // 100:,}.{due % 100:02d}" in text  # in payout
    assert csv_file.status_code == 200 and csv_file.mimetype == "text/csv"
    body = csv_file.get_data()
    assert body.startswith("\ufeff".encode())
    rows = body.decode("utf-8-sig").splitlines()
    be_day = f"{today.day:02d}/{today.month:02d}/{today.year + 543}"
    assert any(row.startswith(be_day) and order.number in row for row in rows)
    assert any(row.startswith("ขาย,") or ",ขาย," in row for row in rows)
    assert f"{due // 100}.{due % 100:02d}" in body.decode("utf-8-sig")


def test_statements_are_for_the_sellers_members_and_admins(client, db, market):
    seller_id = market["rice_seller"].id
    client.login("weaver@example.com")
    assert client.get(f"/sellers/{seller_id}/statement").status_code == 403
    assert client.get(f"/sellers/{seller_id}/statement.csv").status_code == 403
    api = f"/api/v1/sellers/{seller_id}/statement"
    assert client.get(api, headers=token_for(client, "weaver@example.com")).status_code == 403
    admin = token_for(client, "admin@example.com")
    assert client.get(api, headers=admin).status_code == 200
    for query in ("from=2026-13-01", "from=2026-02-01&to=2026-01-01", "from=1900-01-01"):
        refused = client.get(f"{api}?{query}", headers=admin)
        assert refused.status_code == 400, query
    assert client.get("/api/v1/sellers/99999/statement", headers=admin).status_code == 404


# flask ledger verify: each invariant, broken on purpose


def problems():
    report = verify()
    return report.problems


@at_once
def test_verify_notices_a_sellers_payable_that_its_orders_do_not_explain(app, db, market):
    delivered_order(market, [(market["rice"], 2)])
    seller = market["rice_seller"]
    ledger.post(  # balanced and hash-chained, but no order earned it
        ledger.Posting(
            key="bogus:1",
            kind=EntryKind.PAYMENT,
            lines=[(ledger.cash(), 100), (ledger.seller_payable(seller.id), -100)],
            occurred_at=utcnow(),
            dims={"seller_id": seller.id},
        )
    )
    db.session.commit()

    assert any(p.startswith(f"seller {seller.id}: the ledger owes") for p in problems())
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and f"seller {seller.id}: the ledger owes" in result.output


@at_once
def test_verify_notices_a_payout_above_what_was_available(db, market):
    delivered_order(market, [(market["rice"], 2)])
    payout = services.start_run(market["admin"]).payouts[0]
    db.session.commit()
    assert verify().ok
    db.session.execute(
        text(
            "UPDATE payouts SET amount_satang = amount_satang + 100,"
            " available_satang = available_satang + 100 WHERE id = :id"
        ),
        {"id": payout.id},
    )
    db.session.commit()

    found = problems()
    assert any(
        p.startswith(f"payout {payout.id} is") and "available when it was made" in p for p in found
    ), found


@at_once
def test_verify_notices_proceeds_released_before_delivery(db, market):
    order = delivered_order(market, [(market["rice"], 2)])
    assert proceeds.release_due() == 1
    db.session.commit()
    shipment = order.shipments[0]
    shipment.delivered_at = utcnow() + timedelta(days=1)
    db.session.commit()

    assert (
        f"shipment {shipment.id}: its proceeds were released before it was delivered" in problems()
    )


@at_once
def test_verify_notices_a_paid_payout_that_cash_never_paid(db, market):
    delivered_order(market, [(market["rice"], 2)])
    payout = services.start_run(market["admin"]).payouts[0]
    db.session.commit()
    db.session.execute(
        text(
            "UPDATE payouts SET status = 'paid', bank_reference = 'X', paid_on = :day"
            " WHERE id = :id"
        ),
        {"id": payout.id, "day": levies.today().isoformat()},
    )
    db.session.commit()

    found = problems()
    assert f"payout {payout.id} is paid but no cash left for it" in found, found


@at_once
def test_verify_notices_platform_revenue_that_the_fees_do_not_explain(db, market):
    order = buy(market, [(market["rice"], 2)])
    db.session.execute(
        text("UPDATE order_items SET platform_fee_satang = platform_fee_satang + 1 WHERE id = :id"),
        {"id": order.items[0].id},
    )
    db.session.commit()

    found = problems()
    assert any(p.startswith("platform revenue is 1750, but the fees") for p in found), found


# Any sequence of sales, deliveries, refunds and payouts adds up


sequences = st.lists(
    st.one_of(
        st.tuples(st.just("place"), st.integers(0, 2), st.integers(1, 5)),
        st.tuples(st.just("buy"), st.integers(0, 2), st.integers(1, 5)),
        st.tuples(st.just("pay"), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("ship"), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("deliver"), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("refund"), st.integers(0, 9), st.integers(1, 3)),
        st.tuples(st.just("run"), st.just(0), st.just(0)),
        st.tuples(st.just("paid"), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("failed"), st.integers(0, 9), st.just(0)),
    ),
    min_size=3,
    max_size=16,
)


def _world(db):
    first = SellerMemberFactory(seller__promptpay_id="0812345602")
    second = SellerMemberFactory(seller__bank_name="ออมสิน", seller__bank_account_number="0201")
    treasurer = FundTreasurerFactory()
    products = [
        ProductFactory(seller=first.seller, price_satang=35000, weight_grams=5050, stock=10**5),
        ProductFactory(seller=first.seller, price_satang=4533, weight_grams=333, stock=10**5),
        ProductFactory(seller=second.seller, price_satang=45050, weight_grams=400, stock=10**5),
    ]
    agreed_levy(first, treasurer, products[0])
    agreed_levy(second, treasurer, kind="percent", rate=333)
    world = {
        "members": {first.seller_id: first.user, second.seller_id: second.user},
        "admin": AdminFactory(),
        "buyer": UserFactory(),
        "products": products,
        "orders": [],
        "payouts": [],
    }
    db.session.commit()
    return world


def _apply(db, world, step):
    action, index, amount = step
    if action in ("place", "buy"):
        product = world["products"][index]
        order = orders.place_order(world["buyer"], [(product.id, amount)], address=ADDRESS)
        world["orders"].append(order.id)
        if action == "buy":
            orders.confirm_transfer(world["admin"], order)
        return action
    if action == "run":
        run = services.start_run(world["admin"])
        world["payouts"] += [p.id for p in run.payouts]
        return f"run paying {min(len(run.payouts), 2)}"
    if action in ("paid", "failed"):
        if not world["payouts"]:
            return "no payout to mark"
        payout = db.session.get(Payout, world["payouts"][index % len(world["payouts"])])
        if action == "paid":
            services.mark_paid(
                world["admin"], payout, bank_reference=f"R{payout.id}", paid_on=levies.today()
            )
        else:
            services.mark_failed(world["admin"], payout, reason="บัญชีปิด")
        return f"{action} ({payout.status})"
    if not world["orders"]:
        return "no order"
    order = db.session.get(Order, world["orders"][index % len(world["orders"])])
    shipment = order.shipments[0]
    member = world["members"][shipment.seller_id]
    if action == "pay":
        orders.confirm_transfer(world["admin"], order)
    elif action == "ship":
        orders.ship(member, shipment, carrier="ไปรษณีย์ไทย", tracking_number="T1")
    elif action == "deliver":
        if shipment.status == "preparing":  # ship it on the way, so deliveries happen
            orders.ship(member, shipment, carrier="ไปรษณีย์ไทย", tracking_number="T1")
        orders.confirm_delivery(world["buyer"], shipment)
    elif action == "refund":
        item = order.items[0]
        left = item.quantity - item.refunded_quantity
        refunded = order_refunds.refund(world["admin"], order, [(item.id, min(amount, left))])
        return (
            f"refund {'after' if shipment.status == 'delivered' else 'before'} delivery"
            if (refunded)
            else "refund"
        )
    return action


def _check(db, world):
    db.session.expire_all()
    first, last = date(2020, 1, 1), levies.today() + timedelta(days=1)
    for seller_id in world["members"]:
        found = services.statement(seller_id, first, last)
        now = proceeds.balance(seller_id)
        assert found.totals.closing_balance_satang == now.total_satang
        in_ledger = -sum(
            ledger.find_account(kind, seller_id=seller_id).balance_satang
            * (-1 if kind == AccountKind.SELLER_RECEIVABLE else 1)
            for kind in proceeds.KINDS
            if ledger.find_account(kind, seller_id=seller_id) is not None
        )
        assert found.totals.closing_balance_satang == -in_ledger
        assert min(now.available_satang, now.in_payout_satang, now.owed_satang) >= 0
    report = verify()
    assert report.ok, report.problems


@at_once
@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=sequences)
def test_any_sequence_keeps_statements_equal_to_the_ledger_and_verify_clean(db, sequence):
    world = _world(db)
    # Each seller starts with a paid order, so that every step has something to act on.
    for start in (("buy", 0, 3), ("buy", 2, 2)):
        _apply(db, world, start)
        db.session.commit()
    for step in sequence:
        try:
            done = _apply(db, world, step)
            db.session.commit()
            event(f"did {done}")
        except DomainError:
            db.session.rollback()
            event(f"refused {step[0]}")
        _check(db, world)


# The back office's payout page: bank details, a PromptPay QR, the bank's bulk file


@at_once
def test_each_payout_shows_a_promptpay_qr_for_its_exact_amount(client, db, market):
    order = delivered_order(market, [(market["rice"], 10), (market["basket"], 1)])
    run = services.start_run(market["admin"])
    db.session.commit()
    rice_payout, weave_payout = sorted(run.payouts, key=lambda p: p.seller_id)
    due = proceeds_of(order, market["rice_seller"])
    client.login("admin@example.com")

    page = client.get(f"/admin/payout-runs/{run.id}").get_data(as_text=True)

    code = promptpay.payload("0812345602", due)
    assert f"54{len(baht_text(due)):02d}{baht_text(due)}" in code  # EMVCo tag 54: the amount
    assert "0066812345602" in code  # the seller's mobile number as PromptPay formats it
    assert promptpay.svg(code) in page
    # The weaving group has a bank account and no PromptPay ID: its details, no QR.
    section = page[page.index(f'id="payout-{weave_payout.id}"') :]
    assert "0201234567" in section and "<svg" not in section.split("</section>")[0]


@at_once
def test_the_bank_bulk_transfer_file_of_a_run(client, db, market):
    order = delivered_order(market, [(market["rice"], 10), (market["basket"], 1)])
    run = services.start_run(market["admin"])
    db.session.commit()
    rice_payout, weave_payout = sorted(run.payouts, key=lambda p: p.seller_id)
    client.login("admin@example.com")
    before = client.get(f"/admin/payout-runs/{run.id}/transfers.csv").get_data()
    # The rice group is paid by PromptPay: its ID as text, with no bank account.
    rice_row = list(csv.reader(io.StringIO(before.decode("utf-8-sig"))))[1]
    assert rice_row[:2] == ["1", str(rice_payout.id)]
    assert rice_row[3:] == [
        "",
        "",
        "",
        '="0812345602"',
        baht_text(proceeds_of(order, market["rice_seller"])),
        f"TC-PAYOUT-{rice_payout.id}",
        "รอโอน",
    ]
    services.mark_paid(market["admin"], rice_payout, bank_reference="R1", paid_on=levies.today())
    db.session.commit()

    answer = client.get(f"/admin/payout-runs/{run.id}/transfers.csv")

    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    body = answer.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "ลำดับ" and len(rows) == 2  # the paid one is not sent again
    assert rows[0][1] == "เลขที่การโอน"  # the payout's number, not "payout to a seller"
    assert answer.headers["Content-Disposition"].endswith(f'payout-run-{run.id}-to-pay.csv"')
    weave_due = proceeds_of(order, market["weave_seller"])
    assert rows[1] == [
        "1",
        str(weave_payout.id),
        market["weave_seller"].name_th,
        "ธ.ก.ส.",
        '="0201234567"',  # text in Excel: the leading zero stays
        "กลุ่มจักสานกระจูด",
        "",
        baht_text(weave_due),
        f"TC-PAYOUT-{weave_payout.id}",
        "รอโอน",
    ]
    assert client.get("/admin/payout-runs/999/transfers.csv").status_code == 404
    client.submit("/logout", {})
    client.login("rice@example.com")
    assert client.get(f"/admin/payout-runs/{run.id}/transfers.csv").status_code == 403


@at_once
def test_long_statements_and_runs_are_shown_a_page_at_a_time(client, db, market, monkeypatch):
    from marketplace.payouts import views

    delivered_order(market, [(market["rice"], 10), (market["basket"], 1)])
    run = services.start_run(market["admin"])
    db.session.commit()
    rice_payout, weave_payout = sorted(run.payouts, key=lambda p: p.seller_id)
    monkeypatch.setattr(views, "STATEMENT_PAGE_LINES", 2)
    monkeypatch.setattr(views, "RUN_PAGE_PAYOUTS", 1)
    client.login("admin@example.com")

    runs_page = client.get("/admin/payouts").get_data(as_text=True)
    assert f"รอบการโอนเงิน {run.id}" in runs_page and "รอโอน 2 รายการ" in runs_page
    statement = client.get(f"/sellers/{market['rice_seller'].id}/statement")
    first = client.get(f"/admin/payout-runs/{run.id}").get_data(as_text=True)
    second = client.get(f"/admin/payout-runs/{run.id}?page=2").get_data(as_text=True)

    text = statement.get_data(as_text=True)
    # Sale, levy, fee and the payout set aside: the first two shown, and a notice that prints.
    assert text.count('class="statement-line kind-') == 2 and "ช่วงนี้มี 4 รายการ" in text
    assert '<p class="notice">' in text
    assert (
        f'id="payout-{rice_payout.id}"' in first and f'id="payout-{weave_payout.id}"' not in first
    )
    assert f'id="payout-{weave_payout.id}"' in second
    # A refused form comes back on the page that holds its payout.
    refused = client.submit(
        f"/admin/payout-runs/{run.id}/payouts/{weave_payout.id}/paid",
        {"bank_reference": "", "paid_on": levies.today().isoformat()},
    )
    assert refused.status_code == 400
    assert f'id="payout-{weave_payout.id}"' in refused.get_data(as_text=True)


# Fixes after the review and the browser walk


def _run_with_payouts(market, lines=None):
    """Both sellers' goods delivered and a run started; ``(run, rice payout, weave payout)``."""
    order = delivered_order(market, lines or [(market["rice"], 10), (market["basket"], 1)])
    run = services.start_run(market["admin"])
    _db.session.commit()
    rice_payout, weave_payout = sorted(run.payouts, key=lambda p: p.seller_id)
    return order, run, rice_payout, weave_payout


def _at_the_same_moment(monkeypatch, calls):
    """Run ``calls`` in threads that all reach the seller's lock before any takes it (the
    moment the old code had read "pending" in each); their results, in call order."""
    barrier = threading.Barrier(len(calls), timeout=20)
    real_lock = proceeds.lock

    def lock_together(seller_ids):
        barrier.wait()
        return real_lock(seller_ids)

    monkeypatch.setattr(proceeds, "lock", lock_together)
    results = [None] * len(calls)

    def run(index, call):
        try:
            results[index] = call()
        except Exception as error:  # noqa: BLE001
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    monkeypatch.setattr(proceeds, "lock", real_lock)
    return results


@at_once
def test_paid_and_failed_at_the_same_moment_one_wins_the_other_is_a_409(
    client, db, market, monkeypatch
):
    _order, _run, payout, _other = _run_with_payouts(market)
    admin = token_for(client, "admin@example.com")
    paid_body = {"bank_reference": "KTB-1", "paid_on": levies.today().isoformat()}
    url = f"/api/v1/payouts/{payout.id}"

    answers = _at_the_same_moment(
        monkeypatch,
        [
            lambda: client.post(f"{url}/paid", json=paid_body, headers=admin),
            lambda: client.post(f"{url}/failed", json={"reason": "บัญชีปิด"}, headers=admin),
        ],
    )

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409], [(a.status_code, a.json) for a in answers]
    winner = next(a for a in answers if a.status_code == 200).json["status"]
    db.session.expire_all()
    assert db.session.get(Payout, payout.id).status == winner
    keys = set(db.session.scalars(select(JournalEntry.key)))
    assert {f"payout:{payout.id}:paid", f"payout:{payout.id}:failed"} & keys == {
        f"payout:{payout.id}:{winner}"
    }
    assert balance_of(AccountKind.SELLER_IN_PAYOUT, payout.seller_id) == 0
    assert verify().ok


@at_once
def test_two_different_paid_calls_at_the_same_moment_record_one(db, market, monkeypatch, app):
    _order, _run, payout, _other = _run_with_payouts(market)
    admin_id, payout_id = market["admin"].id, payout.id

    def mark(reference):
        def call():
            with app.app_context():
                admin = _db.session.get(User, admin_id)
                found = _db.session.get(Payout, payout_id)
                try:
                    services.mark_paid(
                        admin, found, bank_reference=reference, paid_on=levies.today()
                    )
                    _db.session.commit()
                    return reference
                except Exception:
                    _db.session.rollback()
                    raise

        return call

    results = _at_the_same_moment(monkeypatch, [mark("R-A"), mark("R-B")])

    won = [r for r in results if isinstance(r, str)]
    lost = [r for r in results if not isinstance(r, str)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], DomainError), results
    assert lost[0].status == 409
    db.session.expire_all()
    assert db.session.get(Payout, payout_id).bank_reference == won[0]
    assert count(JournalEntry, JournalEntry.kind == EntryKind.PAYOUT) == 1
    assert count(AuditRecord, AuditRecord.action == "payout.paid") == 1
    assert verify().ok


@at_once
def test_verify_compares_a_paid_payouts_reference_and_day_with_its_entry(db, market):
    _order, _run, payout, _other = _run_with_payouts(market)
    services.mark_paid(market["admin"], payout, bank_reference="R1", paid_on=levies.today())
    db.session.commit()
    assert verify().ok

    db.session.execute(
        text("UPDATE payouts SET bank_reference = 'R2' WHERE id = :id"), {"id": payout.id}
    )
    db.session.commit()

    found = problems()
    assert any(p.startswith(f"payout {payout.id} records reference 'R2'") for p in found), found


def _owing_after_a_payout(market):
    """The rice group paid out for ten bags, then three refunded: it owes their proceeds."""
    order = delivered_order(market, [(market["rice"], 10)])
    payout = services.start_run(market["admin"]).payouts[0]
    services.mark_paid(market["admin"], payout, bank_reference="R1", paid_on=levies.today())
    _db.session.commit()
    order_refunds.refund(market["admin"], order, [(order.items[0].id, 3)])
    _db.session.commit()
    owed = proceeds.balance(market["rice_seller"].id).owed_satang
    assert owed == 3 * 35000 - 3 * 400 - 3 * 875
    return owed


def test_a_refund_on_the_statement_says_why_in_up_to_200_characters(db, market):
    order = buy(market, [(market["rice"], 4)])
    reason = "ถุงขาดระหว่างขนส่ง " + "ก" * 300
    order_refunds.refund(market["admin"], order, [(order.items[0].id, 1)], reason=reason)
    _db.session.commit()

    found = services.statement(market["rice_seller"].id, levies.today(), levies.today())

    refunds = [line for line in found.lines if line.kind == "refund"]
    assert [(line.description, line.amount_satang) for line in refunds] == [(reason[:200], -35000)]


@at_once
def test_posting_a_refund_counts_each_entry_it_writes_once(db, market, monkeypatch):
    """The refund task reports what it wrote (the refund, each levy's and the fee's share,
    and, once released, the share taken from the seller's money), and nothing the second
    time."""
    held = delivered_order(market, [(market["rice"], 10)])
    assert proceeds.release_due() == 1  # no hold: released by the next sweep
    pending = buy(market, [(market["rice"], 4)])
    monkeypatch.setattr("marketplace.outbox.dispatch.publish", lambda message: None)
    partial = order_refunds.refund(market["admin"], pending, [(pending.items[0].id, 3)])
    whole = order_refunds.refund(market["admin"], held)  # every unit and the shipping
    _db.session.commit()
    before = count(JournalEntry)

    assert routing.post_refund(partial.id) == 3  # refund, levy reversal, fee reversal
    assert routing.post_refund(whole.id) == 4  # … and the release's share taken back
    _db.session.commit()

    assert count(JournalEntry) == before + 7
    assert (routing.post_refund(partial.id), routing.post_refund(whole.id)) == (0, 0)
    assert verify().ok


@with_fee
def test_a_fee_reversal_of_one_satang_is_posted_and_one_of_none_is_not(db, market, monkeypatch):
    """2.5% of ten units at ฿0.40 is a fee of 10 satang: refunding one unit gives 1 satang
    back. Of ten at ฿0.30 it is 8 satang (7.5, half up): one unit's share, 0.8, is less
    than a satang, so nothing is given back yet."""
    seller = market["rice_seller"]
    forty = ProductFactory(seller=seller, price_satang=40, stock=100)
    thirty = ProductFactory(seller=seller, price_satang=30, stock=100)
    first, second = buy(market, [(forty, 10)]), buy(market, [(thirty, 10)])
    assert (first.items[0].platform_fee_satang, second.items[0].platform_fee_satang) == (10, 8)
    monkeypatch.setattr("marketplace.outbox.dispatch.publish", lambda message: None)
    one_satang = order_refunds.refund(market["admin"], first, [(first.items[0].id, 1)])
    nothing_yet = order_refunds.refund(market["admin"], second, [(second.items[0].id, 1)])
    _db.session.commit()

    assert routing.post_refund(one_satang.id) == 2  # the refund and 1 satang of fee back
    assert routing.post_refund(nothing_yet.id) == 1  # the refund alone
    _db.session.commit()

    assert balance_of(AccountKind.PLATFORM_REVENUE) == 10 - 1 + 8
    assert verify().ok


@with_fee
def test_the_ledger_export_names_the_seller_order_and_product_of_each_fee_entry(db, market):
    """An auditor's copy (`flask ledger export`) says whose sale each fee, and each fee
    given back, was, and what for."""
    order = buy(market, [(market["rice"], 10)])
    order_refunds.refund(market["admin"], order, [(order.items[0].id, 3)])
    _db.session.commit()
    written = []

    ledger_export.export(written.append)

    rows = [json.loads(line) for line in "".join(written).splitlines()]
    fees_seen = {
        row["kind"]: (row["seller_id"], row["order_id"], row["memo"])
        for row in rows
        if row.get("type") == "entry" and row["kind"] in ("fee", "fee_reversal")
    }
    described = (market["rice_seller"].id, order.id, f"{order.number} {order.items[0].name_th}")
    assert fees_seen == {"fee": described, "fee_reversal": described}


@at_once
def test_refunds_after_both_sellers_were_released_come_off_each_sellers_own_money(
    db, market, monkeypatch
):
    """One order from both groups, both parcels delivered and released: a refund of one
    group's item comes off that group's available money alone, whichever parcel comes
    first; a refund of the rest comes off both, one entry each, named by its parcel."""
    rice, weave = market["rice_seller"], market["weave_seller"]
    order = delivered_order(market, [(market["rice"], 10), (market["basket"], 4)])
    assert proceeds.release_due() == 2
    available = {s.id: proceeds.balance(s.id).available_satang for s in (rice, weave)}
    rice_item = next(i for i in order.items if i.product_id == market["rice"].id)
    basket_item = next(i for i in order.items if i.product_id == market["basket"].id)
    monkeypatch.setattr("marketplace.outbox.dispatch.publish", lambda message: None)

    for item, seller in ((basket_item, weave), (rice_item, rice)):
        refund = order_refunds.refund(market["admin"], order, [(item.id, 1)])
        _db.session.commit()
        routing.post_refund(refund.id)
        _db.session.commit()
        back = item.unit_price_satang - item.levy_satang // item.quantity
        back -= item.platform_fee_satang // item.quantity
        available[seller.id] -= back
        assert {s.id: proceeds.balance(s.id).available_satang for s in (rice, weave)} == (available)

    rest = order_refunds.refund(market["admin"], order)
    _db.session.commit()
    before = count(JournalEntry)
    written = routing.post_refund(rest.id)
    _db.session.commit()
    assert written == count(JournalEntry) - before
    moved = _db.session.scalars(
        select(JournalEntry.memo)
        .where(JournalEntry.kind == EntryKind.RELEASE, JournalEntry.key.like("%:refund:%"))
        .where(JournalEntry.key.like(f"%:refund:{rest.id}"))
        .order_by(JournalEntry.memo)
    ).all()
    assert moved == sorted(f"shipment {s.id}" for s in order.shipments)
    assert {s.id: proceeds.balance(s.id).available_satang for s in (rice, weave)} == {
        rice.id: 0,
        weave.id: 0,
    }
    assert verify().ok


@at_once
def test_balances_add_parcels_due_to_what_is_available_and_count_each_sellers_payouts(
    db, market, monkeypatch
):
    """Available now = released money + parcels whose hold is over but not yet released;
    a parcel delivered before its payment reached the ledger shows nothing yet (never a
    guess); each seller's "paid out" is its own payouts only."""
    rice, weave = market["rice_seller"], market["weave_seller"]
    first = delivered_order(market, [(market["rice"], 2), (market["basket"], 1)])
    run = services.start_run(market["admin"])  # releases what is due, then pays both
    for payout in run.payouts:
        services.mark_paid(
            market["admin"], payout, bank_reference=f"R{payout.id}", paid_on=levies.today()
        )
    _db.session.commit()
    paid = {p.seller_id: p.amount_satang for p in run.payouts}
    assert paid == {rice.id: proceeds_of(first, rice), weave.id: proceeds_of(first, weave)}

    released = delivered_order(market, [(market["rice"], 3)])
    assert proceeds.release_due() == 1
    due = delivered_order(market, [(market["rice"], 5)])  # hold over, not released yet
    monkeypatch.setattr("marketplace.outbox.dispatch.publish", lambda message: None)
    unrouted = delivered_order(market, [(market["rice"], 7)])  # its payment not posted yet

    now = proceeds.balance(rice.id)
    assert now.available_satang == proceeds_of(released, rice) + proceeds_of(due, rice)
    assert (now.pending_satang, now.owed_satang) == (0, 0)
    assert unrouted.paid_at is not None
    assert (now.paid_out_satang, proceeds.balance(weave.id).paid_out_satang) == (
        paid[rice.id],
        paid[weave.id],
    )
    # The sweep releases the parcel due; the unrouted one waits for its payment's entries.
    assert proceeds.release_due() == 1
    _db.session.commit()
    assert proceeds.balance(rice.id).available_satang == now.available_satang


def test_a_seller_with_nothing_yet_has_nothing_paid_out(db, market):
    assert amounts(proceeds.balance(market["rice_seller"].id)) == (0, 0, 0, 0, 0)


@with_fee
def test_a_refund_posted_before_its_order_was_routed_posts_the_order_first(db, market, monkeypatch):
    """The refund's task can run before the order's routing task: it posts the payment,
    the levy and the fee first, then the refund and their shares given back, and counts
    all six."""
    monkeypatch.setattr("marketplace.outbox.dispatch.publish", lambda message: None)
    order = buy(market, [(market["rice"], 10)])  # paid; its routing waits in the outbox
    refund = order_refunds.refund(market["admin"], order, [(order.items[0].id, 3)])
    _db.session.commit()
    assert count(JournalEntry) == 0

    assert routing.post_refund(refund.id) == 6
    _db.session.commit()

    kinds = _db.session.scalars(select(JournalEntry.kind).order_by(JournalEntry.id)).all()
    assert kinds == ["payment", "levy", "fee", "refund", "levy_reversal", "fee_reversal"]
    assert routing.route_order(order.id) == 0  # the routing task, when it comes: nothing new


@at_once
def test_each_parcel_shows_what_it_earned_after_its_own_refunds(client, db, market):
    """The shipments page: proceeds per parcel after refunds, released or still pending,
    never another order's or another seller's, as the statement counts them."""
    rice = market["rice_seller"]
    released = delivered_order(market, [(market["rice"], 10)])
    assert proceeds.release_due() == 1  # no hold: released by the next sweep
    order_refunds.refund(market["admin"], released, [(released.items[0].id, 2)])
    _db.session.commit()
    pending = buy(market, [(market["rice"], 3)])
    both = buy(market, [(market["rice"], 1), (market["basket"], 1)])
    refunded_share = 2 * 35000 - 2 * 400 - 2 * 875  # goods less the levy and fee given back

    expected = {
        released.id: proceeds_of(released, rice) - refunded_share,
        pending.id: proceeds_of(pending, rice),
        both.id: proceeds_of(both, rice),
    }
    assert proceeds.earned(rice.id, set(expected)) == expected
    assert proceeds.earned(rice.id, {pending.id}) == {pending.id: expected[pending.id]}
    assert proceeds.earned(rice.id, set()) == {}
    assert proceeds.earned(market["weave_seller"].id + 100, {pending.id}) == {}

    client.login("rice@example.com")
    page = client.get(f"/sellers/{rice.id}/shipments").get_data(as_text=True)
    for satang in expected.values():
        assert f"฿{satang // 100:,}.{satang % 100:02d}" in page


@at_once
def test_a_seller_who_owes_is_netted_before_any_payout(db, market):
    """A sale smaller than the debt pays part of it and leaves nothing to pay out; the
    next sale settles the rest, and only what is left over is paid."""
    owed = _owing_after_a_payout(market)
    rice = market["rice_seller"]
    paid = proceeds.paid_out(rice.id)

    small = delivered_order(market, [(market["rice"], 1)])
    first = proceeds_of(small, rice)
    assert amounts(proceeds.balance(rice.id))[1:] == (0, 0, paid, owed - first)
    assert services.start_run(market["admin"]).payouts == []

    larger = delivered_order(market, [(market["rice"], 5)])
    left_over = proceeds_of(larger, rice) - (owed - first)
    assert amounts(proceeds.balance(rice.id))[1:] == (left_over, 0, paid, 0)
    payouts = services.start_run(market["admin"]).payouts
    assert [(p.seller_id, p.amount_satang) for p in payouts] == [(rice.id, left_over)]
    _db.session.commit()
    assert verify().ok


@at_once
def test_verify_notices_a_seller_with_money_available_while_it_owes(db, market, monkeypatch):
    """Proceeds released without settling the seller's debt first (the fault put back on
    purpose) would let a run pay a seller that owes; `flask ledger verify` names it."""
    owed = _owing_after_a_payout(market)
    monkeypatch.setattr(proceeds, "released", lambda amount, available, owed: (amount, 0))
    sale = delivered_order(market, [(market["rice"], 5)])
    rice = market["rice_seller"]
    available = proceeds_of(sale, rice)
    assert proceeds.release_due() == 1  # what a run, or the beat, posts first
    _db.session.commit()

    found = problems()

    assert f"seller {rice.id} holds {available} and owes {owed} at once" in " ".join(found), found


def test_the_fee_never_takes_more_than_the_levies_leave():
    assert arithmetic.fee_for_line(40000, 250, levies_satang=40000) == 0  # was 1000
    assert arithmetic.fee_for_line(1000, 250, levies_satang=990) == 10  # 25, capped
    assert arithmetic.fee_for_line(1000, 250, levies_satang=900) == 25  # not reached
    with pytest.raises(ValueError):
        arithmetic.fee_for_line(1000, 250, levies_satang=1001)


@configured(PAYOUT_HOLD_DAYS=0, PLATFORM_FEE_BPS=250)
def test_a_levy_of_the_whole_price_leaves_no_fee_and_no_negative_proceeds(db, market):
    member = SellerMemberFactory(seller__promptpay_id="0812345699")
    treasurer = FundTreasurerFactory()
    bag = ProductFactory(seller=member.seller, price_satang=400, stock=500, weight_grams=100)
    agreed_levy(member, treasurer, bag, rate=400)  # ฿4 a unit of a ฿4 product
    db.session.commit()

    order = buy(market, [(bag, 100)])
    item = order.items[0]

    assert (item.line_total_satang, item.levy_satang, item.platform_fee_satang) == (40000, 40000, 0)
    shipping = order.shipments[0].shipping_satang
    assert amounts(proceeds.balance(member.seller.id)) == (shipping, 0, 0, 0, 0)
    orders.ship(member.user, order.shipments[0], carrier="Kerry", tracking_number="K1")
    orders.confirm_delivery(market["buyer"], order.shipments[0])
    db.session.commit()
    assert amounts(proceeds.balance(member.seller.id)) == (0, shipping, 0, 0, 0)
    assert verify().ok


@with_fee
def test_verify_notices_levies_and_a_fee_above_the_line(db, market):
    order = buy(market, [(market["rice"], 1)], pay=False)  # ฿350, levy ฿4
    db.session.execute(
        text("UPDATE order_items SET platform_fee_satang = 34700 WHERE id = :id"),
        {"id": order.items[0].id},
    )
    db.session.commit()

    found = problems()
    assert (
        f"order item {order.items[0].id}: its levies 400 and fee 34700 take more than its "
        f"total 35000"
    ) in found, found


def _seller_member(seller, email, language="th"):
    from marketplace.sellers.models import SellerMember

    user = UserFactory(email=email, language=language)
    _db.session.add(SellerMember(seller_id=seller.id, user_id=user.id))
    return user


def test_a_change_of_payout_details_is_audited_and_mailed_to_every_member(
    client, db, market, caplog
):
    from tests.test_sellers import profile

    caplog.set_level(logging.INFO, logger="marketplace.mail")
    seller = market["rice_seller"]
    _seller_member(seller, "second@example.com", language="en")
    db.session.commit()
    client.login("rice@example.com")
    same = profile(promptpay_id=seller.promptpay_id, bank_name="", bank_account_name="")
    same["bank_account_number"] = ""
    assert client.submit(f"/sellers/{seller.id}/edit", same).status_code == 302
    assert count(AuditRecord, AuditRecord.action == "seller.payout_details_changed") == 0

    changed = {**same, "promptpay_id": "0899999999"}
    response = client.submit(f"/sellers/{seller.id}/edit", changed)

    assert response.status_code == 302
    record = db.session.scalar(
        select(AuditRecord).where(AuditRecord.action == "seller.payout_details_changed")
    )
    assert record.actor_id == market["rice_member"].id
    assert record.detail["promptpay_id_before"] == "0812345602"
    assert record.detail["promptpay_id"] == "0899999999"
    assert "bank_account_number" not in record.detail  # unchanged fields are not listed
    assert count(OutboxMessage, OutboxMessage.task == "tasks.payouts.payout_details_changed") == 1
    # Every member is told, each in their own language, the number shown by its end only.
    assert "to=rice@example.com" in caplog.text and "to=second@example.com" in caplog.text
    assert "xxxxxx9999" in caplog.text and "0899999999" not in caplog.text
    assert "The payout details of" in caplog.text  # the English member's subject
    trail = client.get(f"/sellers/{seller.id}/audit").get_data(as_text=True)
    assert "0899999999" in trail


@at_once
def test_only_verified_sellers_are_paid_and_the_runs_page_lists_who_is_left_out(client, db, market):
    order = delivered_order(market, [(market["rice"], 10), (market["basket"], 1)])
    market["rice_seller"].verified = False
    market["weave_seller"].bank_account_number = ""  # no PromptPay ID, no bank account
    db.session.commit()

    run = services.start_run(market["admin"])
    db.session.commit()

    assert run.payouts == [] and count(Payout) == 0
    client.login("admin@example.com")
    page = client.get("/admin/payouts").get_data(as_text=True)
    left_out = page[page.index('id="left-out-title"') :]
    rice_due, weave_due = (
        proceeds_of(order, market["rice_seller"]),
        proceeds_of(order, market["weave_seller"]),
    )
    assert market["rice_seller"].name_th in left_out and "ยังไม่ได้ยืนยัน" in left_out
    assert market["weave_seller"].name_th in left_out
    assert "ไม่มีพร้อมเพย์หรือบัญชีธนาคาร" in left_out
    assert f"฿{rice_due // 100:,}.{rice_due % 100:02d}" in left_out
    assert f"฿{weave_due // 100:,}.{weave_due % 100:02d}" in left_out


@at_once
def test_anything_but_the_same_call_on_a_settled_payout_is_a_409_before_its_body(
    client, db, market
):
    _order, _run, paid, failed = _run_with_payouts(market)
    admin = token_for(client, "admin@example.com")
    today = levies.today().isoformat()
    body = {"bank_reference": "R1", "paid_on": today}
    assert (
        client.post(f"/api/v1/payouts/{paid.id}/paid", json=body, headers=admin).status_code == 200
    )
    assert (
        client.post(
            f"/api/v1/payouts/{failed.id}/failed", json={"reason": "ปิดบัญชี"}, headers=admin
        ).status_code
        == 200
    )
    entries, records, mails = count(JournalEntry), count(AuditRecord), count(OutboxMessage)

    for url, sent in (
        (f"/payouts/{paid.id}/paid", {"bank_reference": "", "paid_on": today}),
        (f"/payouts/{paid.id}/paid", {"bank_reference": "R1", "paid_on": "not a day"}),
        (f"/payouts/{paid.id}/paid", {"bank_reference": "R1"}),
        (f"/payouts/{paid.id}/paid", {"bank_reference": "R1", "paid_on": "2099-01-01"}),
        (f"/payouts/{paid.id}/failed", {"reason": ""}),
        (f"/payouts/{paid.id}/failed", {}),
        (f"/payouts/{failed.id}/failed", {"reason": ""}),
        (f"/payouts/{failed.id}/failed", {"reason": "another"}),
        (f"/payouts/{failed.id}/paid", {"bank_reference": "", "paid_on": "x"}),
    ):
        answer = client.post(f"/api/v1{url}", json=sent, headers=admin)
        assert answer.status_code == 409, (url, sent, answer.json)
        assert answer.json["error"]["code"] == "conflict"
    # The same calls again: 200, unchanged (failing twice with one reason is idempotent).
    again = client.post(f"/api/v1/payouts/{paid.id}/paid", json=body, headers=admin)
    assert again.status_code == 200 and again.json["bank_reference"] == "R1"
    same = client.post(
        f"/api/v1/payouts/{failed.id}/failed", json={"reason": " ปิดบัญชี "}, headers=admin
    )
    assert same.status_code == 200 and same.json["failure_reason"] == "ปิดบัญชี"
    assert (count(JournalEntry), count(AuditRecord), count(OutboxMessage)) == (
        entries,
        records,
        mails,
    )
    # Authorisation still comes first.
    member = token_for(client, "rice@example.com")
    assert (
        client.post(f"/api/v1/payouts/{paid.id}/paid", json={}, headers=member).status_code == 403
    )
    assert client.post("/api/v1/payouts/99999/paid", json={}, headers=admin).status_code == 404
    document = client.get("/api/v1/openapi.json").json
    failed_doc = document["paths"]["/api/v1/payouts/{payout_id}/failed"]["post"]
    assert "Idempotent" in failed_doc["description"]


@at_once
def test_refused_forms_for_settled_payouts_show_their_error_at_the_payout(client, db, market):
    _order, run, payout, other = _run_with_payouts(market)
    services.mark_paid(market["admin"], payout, bank_reference="R1", paid_on=levies.today())
    services.mark_failed(market["admin"], other, reason="เลขบัญชีผิด")
    db.session.commit()
    client.login("admin@example.com")
    base = f"/admin/payout-runs/{run.id}/payouts"
    today = levies.today().isoformat()

    for url, data, message in (
        (f"{base}/{payout.id}/paid", {"bank_reference": "R2", "paid_on": today}, "R1"),
        (f"{base}/{payout.id}/paid", {"bank_reference": "R1", "paid_on": "x"}, "R1"),
        (f"{base}/{payout.id}/failed", {"reason": "อื่น"}, "รายการนี้บันทึกว่าโอนแล้ว"),
        (f"{base}/{other.id}/failed", {"reason": "อื่น"}, "เลขบัญชีผิด"),
    ):
        answer = client.submit(url, data)
        assert answer.status_code == 409, (url, answer.status_code)
        page = answer.get_data(as_text=True)
        payout_id = url.split("/")[-2]
        section = page[page.index(f'id="payout-{payout_id}"') :].split("</section>")[0]
        assert 'class="error" role="alert"' in section and message in section, section

    # Failing twice with the same reason says it was recorded already.
    again = client.submit(f"{base}/{other.id}/failed", {"reason": "เลขบัญชีผิด"})
    assert again.status_code == 303
    assert again.headers["Location"].endswith(f"#payout-{other.id}")
    shown = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "รายการนี้บันทึกว่าโอนไม่สำเร็จด้วยเหตุผลนี้ไปแล้ว" in shown
    db.session.expire_all()
    assert (payout.status, other.status) == ("paid", "failed")


@at_once
def test_the_run_page_asks_before_acting_and_lands_at_the_payout(client, db, market):
    _order, run, payout, _other = _run_with_payouts(market)
    client.login("admin@example.com")
    runs_page = client.get("/admin/payouts").get_data(as_text=True)
    assert 'action="/admin/payouts/runs"' in runs_page and "data-confirm=" in runs_page
    assert "js/confirm.js" in runs_page

    page = client.get(f"/admin/payout-runs/{run.id}").get_data(as_text=True)
    section = page[page.index(f'id="payout-{payout.id}"') :].split("</section>")[0]
    assert section.count("data-confirm=") == 2
    assert f'/payouts/{payout.id}/paid#payout-{payout.id}"' in section
    assert f'/payouts/{payout.id}/failed#payout-{payout.id}"' in section
    assert 'class="danger"' in section  # "Mark failed" does not look like "Mark paid"
    today = levies.today()
    # The day of the transfer from selects, today chosen, no year after this one offered.
    assert 'name="paid_on_day"' in section and 'type="date"' not in section
    assert f'<option value="{today.year}" selected>' in section
    assert f'<option value="{today.year + 1}"' not in section

    # Every problem of the paid form at once: no reference and a day in the future.
    future = (today + timedelta(days=1)).isoformat()
    refused = client.submit(
        f"/admin/payout-runs/{run.id}/payouts/{payout.id}/paid",
        {"bank_reference": "", "paid_on": future},
    )
    assert refused.status_code == 400
    section = refused.get_data(as_text=True).split(f'id="payout-{payout.id}"')[1]
    section = section.split("</section>")[0]
    # Named at the top of the payout's section, where the page lands, and on each field.
    top = section.split("<dl")[0]
    assert top.count('class="error"') == 2
    assert "เลขอ้างอิงธนาคาร: " in top and "วันที่โอนเงิน: " in top and "ในอนาคต" in top
    assert section.count('class="error"') == 4
    paid = client.submit(
        f"/admin/payout-runs/{run.id}/payouts/{payout.id}/paid",
        {"bank_reference": "R1", "paid_on": today.isoformat()},
    )
    assert paid.status_code == 303 and paid.headers["Location"].endswith(f"#payout-{payout.id}")


@at_once
def test_a_payout_that_failed_is_on_the_statement_and_mailed(client, db, market, caplog):
    caplog.set_level(logging.INFO, logger="marketplace.mail")
    seller = market["rice_seller"]
    _seller_member(seller, "english@example.com", language="en")
    db.session.commit()
    _order, run, payout, other = _run_with_payouts(market)

    services.mark_failed(market["admin"], payout, reason="บัญชีปิดแล้ว")
    db.session.commit()

    today = levies.today()
    found = services.statement(seller.id, today, today)
    steps = [(line.kind, line.amount_satang, line.payout_satang) for line in found.lines]
    assert steps[-2:] == [
        ("payout_reserved", 0, payout.amount_satang),
        ("payout_failed", 0, payout.amount_satang),
    ]
    assert found.lines[-1].description == "บัญชีปิดแล้ว"
    assert found.lines[-1].balance_satang == found.totals.closing_balance_satang
    assert "to=rice@example.com" in caplog.text and "to=english@example.com" in caplog.text
    assert "did not reach you" in caplog.text and "บัญชีปิดแล้ว" in caplog.text
    assert count(OutboxMessage, OutboxMessage.task == "tasks.payouts.payout_failed") == 1

    client.login("rice@example.com")
    page = client.get(f"/sellers/{seller.id}/statement").get_data(as_text=True)
    assert "กันเงินไว้เพื่อโอน" in page and "โอนเงินให้ผู้ขายไม่สำเร็จ" in page
    assert "บัญชีปิดแล้ว" in page
    client.submit("/logout", {})

    client.login("admin@example.com")
    services.mark_paid(market["admin"], other, bank_reference="R9", paid_on=today)
    db.session.commit()
    run_page = client.get(f"/admin/payout-runs/{run.id}").get_data(as_text=True)
    totals = run_page[run_page.index('class="stats run-totals"') :].split("</ul>")[0]
    assert f"{payout.amount_satang // 100:,}.{payout.amount_satang % 100:02d}" in totals
    assert f"{other.amount_satang // 100:,}.{other.amount_satang % 100:02d}" in totals
    runs_page = client.get("/admin/payouts").get_data(as_text=True)
    row = runs_page[runs_page.index(f">รอบการโอนเงิน {run.id}<") :].split("</tr>")[0]
    failed_text = f"฿{payout.amount_satang // 100:,}.{payout.amount_satang % 100:02d}"
    paid_text = f"฿{other.amount_satang // 100:,}.{other.amount_satang % 100:02d}"
    # Each amount under its own label (on a phone the label is all that says which it is)
    assert dict(re.findall(r'<td data-label="([^"]+)" class="num">([^<]+)</td>', row)) == {
        "ยอดที่ต้องจ่าย": "฿0.00",  # nothing left to pay
        "โอนแล้ว": paid_text,
        "ไม่สำเร็จ": failed_text,
    }


@at_once
def test_english_says_one_payout(client, db, market):
    delivered_order(market, [(market["rice"], 10)])
    client.login("admin@example.com")
    client.submit("/language/en", {})
    started = client.submit("/admin/payouts/runs", {})
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert ": 1 payout, " in page and "1 payouts" not in page
    assert "1 payout reserved" in page


@at_once
def test_the_run_page_warns_when_the_seller_came_to_owe_after_the_reservation(client, db, market):
    order, run, payout, _other = _run_with_payouts(market)
    rice_item = next(i for i in order.items if i.product_id == market["rice"].id)
    order_refunds.refund(market["admin"], order, [(rice_item.id, 10)])  # all the rice back
    db.session.commit()
    owed = balance_of(AccountKind.SELLER_RECEIVABLE, payout.seller_id)
    assert owed > 0
    client.login("admin@example.com")

    page = client.get(f"/admin/payout-runs/{run.id}").get_data(as_text=True)

    section = page[page.index(f'id="payout-{payout.id}"') :].split("</section>")[0]
    assert 'class="warning"' in section
    assert f"฿{owed // 100:,}.{owed % 100:02d}" in section
    client.submit("/logout", {})
    client.login("rice@example.com")
    statement = client.get(f"/sellers/{payout.seller_id}/statement").get_data(as_text=True)
    assert "หรือกันไว้เพื่อโอนแล้ว" in statement  # not "after it was paid to you"


@at_once
def test_the_statement_page_labels_its_columns_and_signs_its_amounts(client, db, market):
    seller = market["rice_seller"]
    seller.promptpay_id = ""
    db.session.commit()
    delivered_order(market, [(market["rice"], 10)])
    client.login("rice@example.com")

    page = client.get(f"/sellers/{seller.id}/statement").get_data(as_text=True)

    head = page[page.index("statement-head") :].split("</li>")[0]
    assert "จำนวนเงิน" in head and "ยอดคงเหลือ" in head
    assert "\u2212฿40.00" in page  # the levy, with the one minus sign
    assert "-฿" not in page and "\u2212฿0.00" not in page
    assert "฿0.00" in page  # nothing paid out, refunded or owed
    assert f'href="/sellers/{seller.id}/edit"' in page  # add a PromptPay ID or an account
    assert "ยอดเงินของคุณตอนนี้ (" in page and "ยอดคงเหลือปลายงวด (" in page


def test_a_bad_period_shows_the_statement_page_with_the_error_by_the_dates(client, db, market):
    seller_id = market["rice_seller"].id
    client.login("rice@example.com")

    for query, field, chosen in (
        ("from=2026-03-31&to=2026-03-01", "to", (1, 3, 2026)),
        ("from_day=31&from_month=2&from_year=2026", "from", (31, 2, 2026)),  # no 31 February
        ("from=2026-13-01", "from", (None, None, None)),
        ("from=2020-01-01&to=2026-01-01", "to", (1, 1, 2026)),
    ):
        answer = client.get(f"/sellers/{seller_id}/statement?{query}")
        page = answer.get_data(as_text=True)
        assert answer.status_code == 400, query
        assert "statement-head" in page  # the statement page, not a bare error page
        box = page[page.index('class="filters statement-period') :].split("</form>")[0]
        assert 'type="date"' not in box  # days from selects, B.E. years in Thai
        fieldset = next(
            part for part in box.split("<fieldset")[1:] if f'name="{field}_day"' in part
        )
        assert f'id="{field}-error" role="alert"' in fieldset, query
        selected = re.findall(r'<option value="(\d+)" selected>', fieldset)
        assert selected == [str(part) for part in chosen if part is not None], query


def test_statement_styles_print_the_notice_and_draw_the_owed_box_red():
    from pathlib import Path

    css = (Path(__file__).parent.parent / "static" / "css" / "site.css").read_text()
    print_rules = [part.split("}")[0] for part in css.split("@media print {")[1:]]
    hidden = " ".join(rule for rule in print_rules if "display: none" in rule)
    assert ".notice" not in hidden and ".flash" in hidden
    # More specific than ".stats.big li", which sets every box's border.
    assert ".stats.big.balances li.owed { border-color: var(--red)" in css
    assert re.search(r"\.table \.num, \.num \{ text-align: right", css)  # money on the right


@with_fee
def test_the_shipments_page_shows_proceeds_after_refunds_with_one_query_for_all(client, db, market):
    from tests.conftest import statements_during

    order = buy(market, [(market["rice"], 10)])
    order_refunds.refund(market["admin"], order, [(order.items[0].id, 3)])
    db.session.commit()
    seller = market["rice_seller"]
    before = proceeds_of(order, seller)
    after = before - 105000 + 1200 + 2625  # the bags back, their levy and fee given back
    assert proceeds.earned(seller.id, {order.id}) == {order.id: after}
    client.login("rice@example.com")
    url = f"/sellers/{seller.id}/shipments"

    page = client.get(url).get_data(as_text=True)

    assert f"฿{after // 100:,}.{after % 100:02d}" in page
    assert f"฿{before // 100:,}.{before % 100:02d}" not in page
    refunded = before - after
    assert f"\u2212฿{refunded // 100:,}.{refunded % 100:02d}" in page
    one = len(statements_during(lambda: client.get(url)))
    buy(market, [(market["rice"], 1)])
    buy(market, [(market["rice"], 2)])
    assert len(statements_during(lambda: client.get(url))) == one  # no query per parcel


def test_a_percent_with_a_comma_is_refused_not_read_as_thousands(client, db, market):
    from marketplace.levies.forms import read_rate
    from marketplace.levies.models import LevyKind
    from marketplace.parsing import CommaInPercent, parse_percent

    with pytest.raises(CommaInPercent):
        parse_percent("1,5")
    assert parse_percent("1.5") == 150
    with pytest.raises(ValueError, match="จุลภาค"):
        read_rate(LevyKind.PERCENT, "2,5")
    seller_id = market["rice_seller"].id
    client.login("admin@example.com")

    refused = client.submit(f"/admin/sellers/{seller_id}/platform-fee", {"rate": "1,5"})

    assert refused.status_code == 400
    assert "ใช้จุดสำหรับทศนิยม" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Seller, seller_id).platform_fee_bps is None
    saved = client.submit(f"/admin/sellers/{seller_id}/platform-fee", {"rate": "1.5"})
    assert saved.status_code == 303
    db.session.expire_all()
    assert db.session.get(Seller, seller_id).platform_fee_bps == 150


@with_fee
def test_a_shipment_refunded_in_full_before_release_stops_being_due(db, market):
    order = buy(market, [(market["rice"], 2)])
    shipment = deliver(market, order, market["rice_seller"])
    order_refunds.refund(market["admin"], order, None)  # all of it, shipping too
    db.session.commit()
    later = shipment.delivered_at + timedelta(days=4)
    assert proceeds.pending_shares(
        ledger.find_account(AccountKind.SELLER_PAYABLE, seller_id=shipment.seller_id).id,
        [order.id],
    ) == {order.id: 0}

    assert proceeds.due_shipments(later) == []
    assert proceeds.release_due(now=later) == 0
    # A delivered shipment of a paid order whose payment is not posted yet (its routing
    # waits in the outbox) stays due until it is.
    unrouted = buy(market, [(market["rice"], 1)], pay=False)
    unrouted.status, unrouted.paid_at = "paid", shipment.delivered_at
    unrouted.shipments[0].status = "delivered"
    unrouted.shipments[0].delivered_at = shipment.delivered_at
    db.session.commit()
    assert [row.id for row in proceeds.due_shipments(later)] == [unrouted.shipments[0].id]


@with_fee
def test_verify_checks_a_release_against_the_hold_it_waited(app, db, market):
    order = buy(market, [(market["rice"], 2)])
    shipment = deliver(market, order, market["rice_seller"])
    over = shipment.delivered_at + timedelta(days=3)
    assert proceeds.release_due(now=over) == 1
    db.session.commit()
    entry = ledger.existing(f"release:{shipment.id}")
    assert entry.memo == f"shipment {shipment.id} after a hold of 3 days"
    assert verify().ok

    # The parcel "arrived" two days later than recorded: released one day into the hold.
    shipment.delivered_at += timedelta(days=2)
    db.session.commit()

    found = problems()
    assert (
        f"shipment {shipment.id}: its proceeds were released before the hold of 3 days "
        f"after delivery was over"
    ) in found, found


def test_verify_holds_a_release_to_the_hold_it_recorded_or_else_the_shortest(
    app, db, market, monkeypatch
):
    order = buy(market, [(market["rice"], 2)])
    shipment = deliver(market, order, market["rice_seller"])
    assert proceeds.release_due(now=shipment.delivered_at + timedelta(days=3)) == 1
    db.session.commit()
    monkeypatch.setitem(app.config, "PAYOUT_HOLD_DAYS", 7)  # longer from now on

    assert verify().ok  # released after the 3 days it recorded

    tamper("UPDATE journal_entries SET memo = '' WHERE key = :key", key=f"release:{shipment.id}")
    found = problems()
    assert (
        f"shipment {shipment.id}: its proceeds were released before the hold of 7 days "
        f"after delivery was over"
    ) in found, found


@pytest.mark.parametrize(
    ("app", "thai", "english"),
    [
        ({"PAYOUT_HOLD_DAYS": 0}, "พร้อมโอนทันทีที่ส่งถึงผู้ซื้อ", "as soon as the parcel is delivered"),
        ({"PAYOUT_HOLD_DAYS": 1}, "หลังส่งถึงผู้ซื้อแล้ว 1 วัน", "1 day after delivery."),
        ({"PAYOUT_HOLD_DAYS": 7}, "หลังส่งถึงผู้ซื้อแล้ว 7 วัน", "7 days after delivery."),
    ],
    indirect=["app"],
    ids=["no-hold", "one-day", "a-week"],
)
def test_the_payouts_page_says_when_proceeds_become_available(client, db, market, thai, english):
    client.login("admin@example.com")

    assert thai in client.get("/admin/payouts").get_data(as_text=True)
    client.post("/language/en", data={"csrf_token": client.csrf_token()})
    page = client.get("/admin/payouts").get_data(as_text=True)
    assert english in page and "0 days" not in page and "1 days" not in page


# Statements, transfer files and the payouts page's lists, figure by figure


def csv_rows(body):
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


HEADINGS = {
    name: name.upper()
    for name in [
        "seller",
        "period",
        "opening",
        "date",
        "kind",
        "order",
        "description",
        "amount",
        "balance",
        "payout_amount",
        "closing_balance",
        "proceeds",
        "levies",
        "platform_fees",
        "refunds",
        "payouts",
        "now",
        "pending",
        "available",
        "in_payout",
        "paid_out",
        "owed",
    ]
}
LABELS = {kind: f"<{kind}>" for kind in services.STATEMENT_KINDS.values()}


@at_once
def test_the_statement_file_line_by_line(db, market):
    jam = ProductFactory(seller=market["rice_seller"], name_th="แยมมะม่วง", price_satang=12000)
    market["fund"].name_en = "Ban Rai Welfare Fund"
    order = delivered_order(market, [(market["rice"], 10), (jam, 2), (market["basket"], 1)])
    seller = market["rice_seller"]
    run = services.start_run(market["admin"])
    payout = next(p for p in run.payouts if p.seller_id == seller.id)
    today = levies.today()
    services.mark_paid(market["admin"], payout, bank_reference="KTB-77", paid_on=today)
    order_refunds.refund(market["admin"], order, [(order.items[0].id, 1)], reason="แตก 1 ถุง")
    db.session.commit()
    parcel = parcel_of(order, seller)
    goods = 350000 + 24000 + parcel.shipping_satang
    due = proceeds_of(order, seller)
    item = next(i for i in order.items if i.product_id == market["rice"].id)
    name = f"{item.name} × 10, แยมมะม่วง × 2"  # the parcel's items, not the basket
    found = services.statement(seller.id, today, today)
    assert (found.seller_id, found.start, found.end) == (seller.id, today, today)

    rows = csv_rows(
        services.statement_csv(found, seller.name_th, LABELS, HEADINGS, "th", today=today)
    )

    be_day = f"{today.day:02d}/{today.month:02d}/{today.year + 543}"
    fund = market["fund"].name_th
    # A refund of one bag of ten after the payout: 35,000 back to the buyer, of which the
    # fund gives back its ฿4 and the marketplace its 2.5% (875).
    assert rows[:5] == [
        ["SELLER", seller.name_th],
        ["PERIOD", be_day, be_day],
        ["OPENING", "0.00"],
        [],
        ["DATE", "KIND", "ORDER", "DESCRIPTION", "AMOUNT", "BALANCE", "PAYOUT_AMOUNT"],
    ]
    assert rows[5:-14] == [
        [be_day, "<proceeds>", order.number, name, baht_text(goods), baht_text(goods), ""],
        [
            be_day,
            "<levy>",
            order.number,
            f"{fund}: {item.name}",
            "-40.00",
            baht_text(goods - 4000),
            "",
        ],
        [
            be_day,
            "<platform_fee>",
            order.number,
            item.name,
            "-87.50",
            baht_text(goods - 4000 - 8750),
            "",
        ],
        [be_day, "<platform_fee>", order.number, "แยมมะม่วง", "-6.00", baht_text(due), ""],
        [
            be_day,
            "<payout_reserved>",
            "",
            f"TC-PAYOUT-{payout.id}",
            "0.00",
            baht_text(due),
            baht_text(due),
        ],
        [be_day, "<payout>", "", "KTB-77", baht_text(-due), "0.00", baht_text(due)],
        [be_day, "<refund>", order.number, "แตก 1 ถุง", "-350.00", "-350.00", ""],
        [be_day, "<levy_reversal>", order.number, f"{fund}: {item.name}", "4.00", "-346.00", ""],
        [be_day, "<platform_fee_reversal>", order.number, item.name, "8.75", "-337.25", ""],
    ]
    assert rows[-14:] == [
        [],
        ["CLOSING_BALANCE", "-337.25"],
        ["PROCEEDS", baht_text(goods)],
        ["LEVIES", "36.00"],
        ["PLATFORM_FEES", "84.75"],
        ["REFUNDS", "350.00"],
        ["PAYOUTS", baht_text(due)],
        [],
        ["NOW", be_day],
        ["PENDING", "0.00"],
        ["AVAILABLE", "0.00"],
        ["IN_PAYOUT", "0.00"],
        ["PAID_OUT", baht_text(due)],
        ["OWED", "337.25"],
    ]
    english = csv_rows(
        services.statement_csv(found, seller.name_th, LABELS, HEADINGS, "en", today=today)
    )
    en_day = f"{today.day:02d}/{today.month:02d}/{today.year}"  # the Gregorian year
    assert english[1] == ["PERIOD", en_day, en_day] and english[-6] == ["NOW", en_day]
    with force_locale("en"):
        levy_line = services.statement(seller.id, today, today).lines[1]
        assert levy_line.description == f"Ban Rai Welfare Fund: {item.name}"
    # Another day holds none of it, and a seller with no money has no lines.
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    assert services.statement(seller.id, yesterday, yesterday).lines == []
    later = services.statement(seller.id, tomorrow, tomorrow)
    assert later.lines == [] and later.totals.opening_balance_satang == -33725
    assert services.statement(SellerMemberFactory().seller.id, today, today).lines == []


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r"])
def test_no_cell_of_a_payout_file_is_a_formula(first):
    """Excel runs a cell that starts with = + - @ (or a tab or return before them): a
    seller's name, a refund's reason or a bank account's name is kept as text."""
    found = services.Statement(
        1, date(2026, 11, 1), date(2026, 11, 30), [], services.StatementTotals()
    )
    text = f'{first}HYPERLINK("http://x")'

    rows = csv_rows(
        services.statement_csv(found, text, LABELS, HEADINGS, "en", today=date(2026, 11, 30))
    )
    safe = csv_rows(
        services.statement_csv(found, "a=b", LABELS, HEADINGS, "en", today=date(2026, 11, 30))
    )

    assert rows[0] == ["SELLER", "'" + text]
    assert safe[0] == ["SELLER", "a=b"]


@pytest.mark.parametrize(
    ("promptpay", "number", "bank", "has"),
    [
        ("0812345602", "", "", True),
        ("", "0201234567", "ธ.ก.ส.", True),
        ("0812345602", "0201234567", "ธ.ก.ส.", True),
        ("", "0201234567", "", False),
        ("", "", "ธ.ก.ส.", False),
        ("", "", "", False),
    ],
)
def test_a_seller_can_be_paid_with_a_promptpay_id_or_a_bank_account_and_its_bank(
    promptpay, number, bank, has
):
    seller = Seller(promptpay_id=promptpay, bank_account_number=number, bank_name=bank)
    assert services.has_payout_details(seller) is has


def sold(market, member, price_satang, *, delivered=True):
    """One unit of a new product of ``member``'s seller sold, paid and (by default)
    delivered; returns the order."""
    product = ProductFactory(seller=member.seller, price_satang=price_satang, weight_grams=500)
    _db.session.commit()
    order = buy(market, [(product, 1)])
    if delivered:
        shipment = order.shipments[0]
        orders.ship(member.user, shipment, carrier="ไปรษณีย์ไทย", tracking_number="EX1TH")
        orders.confirm_delivery(market["buyer"], shipment)
        _db.session.commit()
    return order


@at_once
def test_the_sellers_a_run_leaves_out_most_money_first(db, market):
    unverified = [SellerMemberFactory() for _ in range(3)]
    no_details = SellerMemberFactory()  # verified, no PromptPay ID or bank account
    no_bank = SellerMemberFactory(seller__bank_account_number="0201234567")  # which bank?
    ready = SellerMemberFactory(seller__promptpay_id="0899999999")  # a run pays it
    poor = SellerMemberFactory()
    for member in unverified[:2]:  # the same sales: the same money, told apart by id
        sold(market, member, 50000)
        sold(market, member, 90000, delivered=False)  # pending: not available yet
    sold(market, unverified[2], 40000)
    sold(market, no_details, 80000)
    sold(market, no_bank, 70000)
    sold(market, ready, 99000)
    sold(market, poor, 39000)
    proceeds.release_due()
    for member in [*unverified, poor]:  # verified once they sold, no longer now
        set_seller_verified(market["admin"], member.seller, False)
    db.session.commit()

    def available(member):
        return proceeds.balance(member.seller.id).available_satang

    minimum = available(unverified[2])  # exactly the minimum is enough to be paid
    assert available(poor) < minimum < available(unverified[0]) < available(no_bank)
    assert available(no_bank) < available(no_details)

    found = services.left_out(minimum, limit=10)

    assert [(o.seller.id, o.available_satang, o.reason) for o in found] == [
        (no_details.seller.id, available(no_details), "no_details"),
        (no_bank.seller.id, available(no_bank), "no_details"),
        (unverified[0].seller.id, available(unverified[0]), "not_verified"),
        (unverified[1].seller.id, available(unverified[1]), "not_verified"),
        (unverified[2].seller.id, minimum, "not_verified"),
    ]
    assert [o.seller.id for o in services.left_out(minimum, limit=2)] == [
        no_details.seller.id,
        no_bank.seller.id,
    ]


@at_once
def test_the_payouts_page_lists_the_latest_runs_with_their_totals(db, market):
    delivered_order(market, [(market["rice"], 10), (market["basket"], 1)])
    first = services.start_run(market["admin"])
    rice, weave = sorted(first.payouts, key=lambda p: p.seller_id)
    services.mark_paid(market["admin"], rice, bank_reference="R1", paid_on=levies.today())
    services.mark_failed(market["admin"], weave, reason="บัญชีปิด")
    second = services.start_run(market["admin"])  # pays the weavers again
    services.mark_paid(
        market["admin"], second.payouts[0], bank_reference="W2", paid_on=levies.today()
    )
    third = services.start_run(market["admin"])  # nobody left to pay
    db.session.commit()

    latest = services.runs(limit=2)
    every = services.runs(limit=10)

    assert [summary.run.id for summary in latest] == [third.id, second.id]
    assert [summary.run.id for summary in every] == [third.id, second.id, first.id]
    totals = {summary.run.id: summary.totals for summary in every}
    assert totals[first.id] == services.RunTotals(
        paid=1, paid_satang=rice.amount_satang, failed=1, failed_satang=weave.amount_satang
    )
    assert totals[second.id] == services.RunTotals(paid=1, paid_satang=weave.amount_satang)
    assert totals[third.id] == services.RunTotals()
    assert services.runs(limit=10) and services.runs(limit=0) == []


@at_once
def test_what_sellers_owe_is_read_for_the_sellers_asked_only(db, market):
    order = delivered_order(market, [(market["rice"], 10), (market["basket"], 1)])
    run = services.start_run(market["admin"])
    for payout in run.payouts:
        services.mark_paid(market["admin"], payout, bank_reference="R", paid_on=levies.today())
    rice_item, basket_item = sorted(order.items, key=lambda i: i.product_id)
    order_refunds.refund(market["admin"], order, [(rice_item.id, 1)])  # after the payout
    other = delivered_order(market, [(market["basket"], 2)])  # weavers: available, owe nothing
    db.session.commit()
    rice_id, weave_id = market["rice_seller"].id, market["weave_seller"].id
    owed = proceeds.balance(rice_id).owed_satang
    assert owed == 35000 - 400 - 875 and proceeds.balance(weave_id).available_satang > 0
    assert other.paid_at is not None

    assert services.owed_by({rice_id, weave_id}) == {rice_id: owed}
    assert services.owed_by({weave_id}) == {}
    assert services.owed_by(set()) == {}
    # Once a sale settles the debt the account is at 0: nothing owed.
    delivered_order(market, [(market["rice"], 2)])
    proceeds.release_due()
    db.session.commit()
    assert proceeds.balance(rice_id).owed_satang == 0
    assert services.owed_by({rice_id, weave_id}) == {}


@at_once
def test_fee_totals_count_the_fees_taken_and_given_back_in_the_period(db, market):
    order = delivered_order(market, [(market["rice"], 10), (market["basket"], 1)])
    rice_item = next(i for i in order.items if i.product_id == market["rice"].id)
    order_refunds.refund(market["admin"], order, [(rice_item.id, 1)])
    db.session.commit()
    today = levies.today()
    rice_id, weave_id = market["rice_seller"].id, market["weave_seller"].id

    rice = services.fee_totals(rice_id, today, today)

    assert (rice.charged_satang, rice.reversed_satang, rice.net_satang) == (8750, 875, 7875)
    assert services.fee_totals(weave_id, today, today) == services.FeeTotals(1126, 0)
    yesterday = today - timedelta(days=1)
    assert services.fee_totals(rice_id, yesterday, yesterday) == services.FeeTotals()
    assert services.fee_totals(rice_id, yesterday, today) == rice
    assert services.fee_totals(SellerMemberFactory().seller.id, today, today) == (
        services.FeeTotals()
    )
    # No payout yet: the statement's lines name none.
    lines = services.statement(rice_id, today, today).lines
    assert [(line.kind, line.payout_id, line.payout_satang) for line in lines] == [
        ("proceeds", None, None),
        ("levy", None, None),
        ("platform_fee", None, None),
        ("refund", None, None),
        ("levy_reversal", None, None),
        ("platform_fee_reversal", None, None),
    ]


@at_once
def test_a_failed_payout_records_who_when_and_why(db, market):
    _order, run, rice, weave = _run_with_payouts(market)
    entries, records = count(JournalEntry), count(AuditRecord)
    for actor, reason, refused in (
        (market["rice_member"], "บัญชีปิด", Forbidden),  # only an admin
        (market["admin"], "", DomainError),
        (market["admin"], None, DomainError),
        (market["admin"], "   ", DomainError),
        (market["admin"], "ก" * 501, DomainError),
    ):
        with pytest.raises(refused):
            services.mark_failed(actor, rice, reason=reason)
        db.session.rollback()
    assert (count(JournalEntry), count(AuditRecord)) == (entries, records)
    reason = "ธนาคารตีกลับ: " + "ก" * 486  # 500 characters: the most a reason has
    now = utcnow()

    failed = services.mark_failed(market["admin"], rice, reason=f"  {reason} ", now=now)
    by_the_system = services.mark_failed(None, weave, reason="returned by the bank")
    db.session.commit()

    assert failed == (rice, True) and by_the_system == (weave, True)
    db.session.expire_all()
    assert (rice.status, rice.failure_reason) == ("failed", reason)
    assert (rice.failed_at, rice.failed_by_id) == (now, market["admin"].id)
    assert (weave.failure_reason, weave.failed_by_id) == ("returned by the bank", None)
    entry = db.session.scalar(
        select(JournalEntry).where(JournalEntry.key == f"payout:{rice.id}:failed")
    )
    assert entry.memo == reason[:200] and entry.seller_id == rice.seller_id
    record = db.session.scalar(
        select(AuditRecord).where(
            AuditRecord.action == "payout.failed", AuditRecord.object_id == rice.id
        )
    )
    assert (record.actor_id, record.amount_satang) == (market["admin"].id, rice.amount_satang)
    assert record.detail == {"reason": reason, "run": run.id}
    assert [party.seller_id for party in record.parties] == [rice.seller_id]
    system = db.session.scalar(
        select(AuditRecord).where(
            AuditRecord.action == "payout.failed", AuditRecord.object_id == weave.id
        )
    )
    assert (system.actor_id, system.actor_label) == (None, "system")
    # The same reason again changes nothing; the amount is the sellers' to be paid again.
    assert services.mark_failed(market["admin"], rice, reason=reason) == (rice, False)
    assert proceeds.balance(rice.seller_id).available_satang == rice.amount_satang
    assert verify().ok


@at_once
def test_a_paid_payout_records_who_when_and_the_banks_reference(db, market):
    _order, run, rice, weave = _run_with_payouts(market)
    today = levies.today()
    entries, records = count(JournalEntry), count(AuditRecord)
    for actor, reference, paid_on, refused, field in (
        (market["rice_member"], "R1", today, Forbidden, None),  # only an admin
        (market["admin"], "", today, DomainError, "bank_reference"),
        (market["admin"], None, today, DomainError, "bank_reference"),
        (market["admin"], "R" * 101, today, DomainError, "bank_reference"),
        (market["admin"], "R1", today + timedelta(days=1), DomainError, "paid_on"),
    ):
        with pytest.raises(refused) as caught:
            services.mark_paid(actor, rice, bank_reference=reference, paid_on=paid_on)
        assert getattr(caught.value, "field", None) == field
        db.session.rollback()
    for wrong in (utcnow(), today.isoformat()):  # a day, typed: parsed at the edge
        with pytest.raises(TypeError, match="paid_on is a date"):
            services.mark_paid(market["admin"], rice, bank_reference="R1", paid_on=wrong)
    assert (count(JournalEntry), count(AuditRecord)) == (entries, records)
    reference = "KTB-" + "9" * 96  # 100 characters: the longest a reference is
    now = utcnow()

    paid = services.mark_paid(
        market["admin"], rice, bank_reference=f" {reference} ", paid_on=today, now=now
    )
    by_the_system = services.mark_paid(None, weave, bank_reference="SCB-1", paid_on=today)
    db.session.commit()

    assert paid == (rice, True) and by_the_system == (weave, True)
    db.session.expire_all()
    assert (rice.status, rice.bank_reference, rice.paid_on) == ("paid", reference, today)
    assert (rice.paid_at, rice.paid_by_id) == (now, market["admin"].id)
    assert (weave.bank_reference, weave.paid_by_id) == ("SCB-1", None)
    record = db.session.scalar(
        select(AuditRecord).where(
            AuditRecord.action == "payout.paid", AuditRecord.object_id == rice.id
        )
    )
    assert (record.actor_id, record.amount_satang) == (market["admin"].id, rice.amount_satang)
    assert record.detail == {
        "bank_reference": reference,
        "paid_on": today.isoformat(),
        "run": run.id,
    }
    assert [party.seller_id for party in record.parties] == [rice.seller_id]
    # The same again changes nothing; another reference is refused, naming the field.
    again = services.mark_paid(market["admin"], rice, bank_reference=reference, paid_on=today)
    assert again == (rice, False)
    with pytest.raises(Conflict) as caught:
        services.mark_paid(market["admin"], rice, bank_reference="KTB-2", paid_on=today)
    assert caught.value.field == "bank_reference"
    assert verify().ok


@at_once
def test_a_seller_with_a_payout_waiting_is_paid_again_only_once_it_is_settled(db, market):
    _order, _first, rice, weave = _run_with_payouts(market)
    services.mark_paid(market["admin"], weave, bank_reference="W1", paid_on=levies.today())
    db.session.commit()
    more = delivered_order(market, [(market["rice"], 10), (market["basket"], 1)])
    proceeds.release_due()
    db.session.commit()

    second = services.start_run(market["admin"])  # the rice group's first payout still waits

    assert [(p.seller_id, p.amount_satang) for p in second.payouts] == [
        (market["weave_seller"].id, proceeds_of(more, market["weave_seller"]))
    ]
    services.mark_paid(market["admin"], rice, bank_reference="R1", paid_on=levies.today())
    third = services.start_run(market["admin"])
    assert [(p.seller_id, p.amount_satang) for p in third.payouts] == [
        (market["rice_seller"].id, proceeds_of(more, market["rice_seller"]))
    ]
    db.session.commit()
    assert verify().ok


@configured(PAYOUT_HOLD_DAYS=3, PLATFORM_FEE_BPS=250)
def test_a_run_releases_what_its_own_moment_makes_due_and_records_who_started_it(db, market):
    order = buy(market, [(market["rice"], 10)])
    deliver(market, order, market["rice_seller"])
    due = proceeds_of(order, market["rice_seller"])
    admin = market["admin"]
    soon = utcnow() + timedelta(days=1)  # the hold of 3 days is not over
    later = utcnow() + timedelta(days=4)

    early = services.start_run(admin, now=soon)
    run = services.start_run(None, now=later, system="beat")
    by_hand = services.start_run(None)
    db.session.commit()

    assert (early.created_at, early.created_by_id, early.total_satang) == (soon, admin.id, 0)
    assert early.payouts == [] and (early.hold_days, early.minimum_satang) == (3, 10_000)
    assert (run.created_at, run.created_by_id, run.total_satang) == (later, None, due)
    assert [(p.amount_satang, p.created_at, p.status) for p in run.payouts] == [
        (due, later, "pending")
    ]
    reserved = db.session.scalar(
        select(JournalEntry).where(JournalEntry.key == f"payout:{run.payouts[0].id}:reserve")
    )
    assert (reserved.memo, reserved.seller_id) == (f"run {run.id}", market["rice_seller"].id)
    started = {
        record.object_id: (record.actor_id, record.actor_label, record.amount_satang)
        for record in db.session.scalars(
            select(AuditRecord).where(AuditRecord.action == "payout_run.started")
        )
    }
    assert started == {
        early.id: (admin.id, "", 0),
        run.id: (None, "beat", due),
        by_hand.id: (None, "system", 0),
    }
    with pytest.raises(Forbidden):
        services.start_run(market["rice_member"])


@at_once
def test_a_seller_with_exactly_the_minimum_is_paid(app, db, market, monkeypatch):
    order = delivered_order(market, [(market["rice"], 1)])
    due = proceeds_of(order, market["rice_seller"])
    monkeypatch.setitem(app.config, "PAYOUT_MINIMUM", due + 1)
    assert services.start_run(market["admin"]).payouts == []
    monkeypatch.setitem(app.config, "PAYOUT_MINIMUM", due)

    run = services.start_run(market["admin"])

    assert [(p.seller_id, p.amount_satang) for p in run.payouts] == [
        (market["rice_seller"].id, due)
    ]


@at_once
def test_a_statement_runs_by_day_then_as_posted_and_adds_up_every_sale(db, market):
    """A run and its transfer recorded as of yesterday (the parcel was delivered the day
    before) come before today's lines, though posted after them; both orders' proceeds add
    up in the totals."""
    seller = market["rice_seller"]
    first = delivered_order(market, [(market["rice"], 2)])
    parcel_of(first, seller).delivered_at -= timedelta(days=2)
    yesterday = levies.today() - timedelta(days=1)
    run = services.start_run(market["admin"], now=utcnow() - timedelta(days=1))
    services.mark_paid(market["admin"], run.payouts[0], bank_reference="R1", paid_on=yesterday)
    second = delivered_order(market, [(market["rice"], 3)])
    db.session.commit()

    found = services.statement(seller.id, yesterday, levies.today())

    assert [line.kind for line in found.lines] == [
        "payout_reserved",
        "payout",
        "proceeds",
        "levy",
        "platform_fee",
        "proceeds",
        "levy",
        "platform_fee",
    ]
    assert [line.order_id for line in found.lines[2:]] == [first.id] * 3 + [second.id] * 3
    parcels = [parcel_of(order, seller) for order in (first, second)]
    assert found.totals.proceeds_satang == sum(
        p.subtotal_satang + p.shipping_satang for p in parcels
    )


@at_once
def test_a_seller_who_gives_every_satang_as_fee_earns_nothing_and_verify_agrees(db, market):
    """A 100% fee on a pickup order (no shipping): each line gives all it sold, the parcel
    earns exactly 0, and nothing is above its line. A parcel whose goods were recorded as
    less than its lines then earns less than nothing."""
    weave = market["weave_seller"]
    weave.offers_pickup = True
    mat = ProductFactory(seller=weave, price_satang=12000, stock=10)
    fees.set_rate(market["admin"], weave, 10_000)
    _db.session.commit()
    order = orders.place_order(
        market["buyer"],
        [(market["basket"].id, 1), (mat.id, 2)],
        address=ADDRESS,
        methods={weave.id: DeliveryMethod.PICKUP},
    )
    orders.confirm_transfer(market["admin"], order)
    _db.session.commit()
    parcel = parcel_of(order, weave)
    assert (parcel.shipping_satang, proceeds_of(order, weave)) == (0, 0)

    assert verify().ok

    parcel.subtotal_satang -= 45050  # as if only the mats were sold
    _db.session.commit()
    assert f"shipment {parcel.id}: its proceeds are negative (-45050)" in problems()
