"""Refunds of orders paid through Stripe, from the order's side.

Stripe is asked after the refund's commit (``tasks.payments.send_refund``); here that call,
and the one that makes a PaymentIntent, are held back, as when Stripe is slow, and Stripe's
answers are handed in through the services that record them. A pending refund holds its
units and its amount; paid back, it reaches the ledger once; refused, it gives the units,
the shipping and the amount back to the order, and the ledger never sees it.
"""

import pytest
from sqlalchemy import select

from marketplace.audit.models import AuditRecord
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.ledger import services as ledger
from marketplace.ledger.models import AccountKind, JournalEntry
from marketplace.ledger.verify import verify
from marketplace.limits import MAX_LINE_QUANTITY
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as orders
from marketplace.orders.models import DeliveryMethod, RefundStatus
from marketplace.outbox import dispatch
from marketplace.payments import services as payments
from marketplace.payments.models import Payment
from marketplace.shipping import services as shipping
from marketplace.shipping.fees import Tier
from tests.factories import (
    ADDRESS,
    AdminFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)

#: Stripe's keys are set (the provider is offered); nothing here reaches Stripe.
STRIPE = {
    "STRIPE_SECRET_KEY": "sk_test_refunds",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_refunds",
    "STRIPE_WEBHOOK_SECRET": "whsec_refunds",
}
#: The tasks that call Stripe: held back (Stripe is slow); every other task runs.
CALLS_STRIPE = {"tasks.payments.create_intent", "tasks.payments.send_refund"}


@pytest.fixture
def app(make_app):
    return make_app(**STRIPE)


@pytest.fixture
def stripe_calls(monkeypatch):
    """The Stripe tasks handed over after a commit, by name (held, never run)."""
    real, held = dispatch.publish, []

    def publish(message):
        if message["task"] in CALLS_STRIPE:
            held.append(message["task"])
        else:
            real(message)

    monkeypatch.setattr("marketplace.outbox.dispatch.publish", publish)
    return held


@pytest.fixture
def shop(db, stripe_calls):
    """Rice (฿350 a bag, ฿4 a bag to a fund) and baskets (฿450.50) from two sellers."""
    rice = SellerMemberFactory(user__email="rice@example.com")
    weaver = SellerMemberFactory(user__email="weaver@example.com")
    treasurer = FundTreasurerFactory(user__email="treasurer@example.com")
    shop = {
        "rice_member": rice.user,
        "rice": ProductFactory(seller=rice.seller, price_satang=35000, stock=100),
        "basket": ProductFactory(seller=weaver.seller, price_satang=45050, stock=100),
        "fund": treasurer.fund,
        "admin": AdminFactory(email="admin@example.com"),
        "buyer": UserFactory(email="buyer@example.com"),
    }
    agreed_levy(rice, treasurer, shop["rice"])
    db.session.commit()
    return shop


def paid_by_card(db, shop, lines):
    """An order of ``[(product, quantity)]`` paid through Stripe: its PaymentIntent made,
    then Stripe's event that the money arrived."""
    order = orders.place_order(
        shop["buyer"],
        [(product.id, quantity) for product, quantity in lines],
        address=ADDRESS,
        payment_method="stripe",
    )
    db.session.commit()
    payment = db.session.get(Payment, orders.payment_of(order).id)
    intent = f"pi_{order.id}"
    payments.record_intent(payment.id, intent)
    db.session.commit()
    event = {
        "id": f"evt_paid_{order.id}",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {"id": intent, "amount_received": order.total_satang, "currency": "thb"}
        },
    }
    assert payments.handle_stripe_event(event) == "paid"
    db.session.commit()
    return order


def balance(kind, **owner):
    found = ledger.find_account(kind, **owner)
    return found.balance_satang if found is not None else 0


def refund_entries(db):
    return db.session.query(JournalEntry).filter(JournalEntry.key.like("refund:%")).count()


def test_a_card_refund_waits_for_stripe_then_reaches_the_ledger_once(db, shop, stripe_calls):
    order = paid_by_card(db, shop, [(shop["rice"], 10), (shop["basket"], 1)])
    rice_item = next(item for item in order.items if item.product_id == shop["rice"].id)
    paid = order.total_satang
    assert balance(AccountKind.CASH) == paid
    assert balance(AccountKind.FUND_PAYABLE, fund_id=shop["fund"].id) == 4000

    refund = order_refunds.refund(shop["admin"], order, [(rice_item.id, 3)], reason="  บุบ  ")
    db.session.commit()

    # Waiting for Stripe: the 3 bags are taken off the order, the ledger has not moved.
    assert refund.status == RefundStatus.PENDING
    assert (refund.amount_satang, refund.shipping_satang, refund.reason) == (105000, 0, "บุบ")
    assert stripe_calls[-1] == "tasks.payments.send_refund"
    db.session.refresh(order)
    assert order.refunded_satang == 105000
    assert rice_item.refunded_quantity == 3
    assert order_refunds.pending_refund_of(order).id == refund.id
    assert order_refunds.count_pending_refunds() == 1
    assert order_refunds.refunded_by_shipment(order) == {rice_item.shipment_id: 105000}
    assert refund_entries(db) == 0
    assert balance(AccountKind.CASH) == paid

    # One refund at a time: a second one waits until Stripe has answered the first.
    with pytest.raises(Conflict, match="ยังดำเนินการอยู่"):
        order_refunds.refund(shop["admin"], order, [(rice_item.id, 1)])
    db.session.rollback()
    assert db.session.get(type(rice_item), rice_item.id).refunded_quantity == 3

    outcome = payments.record_refund_sent(refund.id, "re_1", "succeeded")
    db.session.commit()

    assert outcome == f"refund {refund.id}: paid back, recorded"
    db.session.refresh(refund)
    assert (refund.status, refund.provider_refund_id) == (RefundStatus.SUCCEEDED, "re_1")
    assert order_refunds.count_pending_refunds() == 0
    assert order_refunds.pending_refund_of(order) is None
    assert refund_entries(db) == 1
    assert balance(AccountKind.CASH) == paid - 105000
    assert balance(AccountKind.FUND_PAYABLE, fund_id=shop["fund"].id) == 4000 - 1200
    # Stripe's answer again (its event after the task's): nothing moves twice.
    assert payments.record_refund_sent(refund.id, "re_1", "succeeded").endswith("succeeded")
    with pytest.raises(Conflict):
        order_refunds.refund_paid_back(refund)
    db.session.rollback()
    assert balance(AccountKind.CASH) == paid - 105000
    assert verify().ok


def test_a_card_refund_stripe_refuses_gives_units_shipping_and_money_back(db, shop, stripe_calls):
    order = paid_by_card(db, shop, [(shop["rice"], 10), (shop["basket"], 2)])
    paid, shipping = order.total_satang, sum(s.shipping_satang for s in order.shipments)
    assert shipping > 0

    refund = order_refunds.refund(shop["admin"], order, None, reason="ยกเลิก")
    db.session.commit()

    assert refund.status == RefundStatus.PENDING
    assert (refund.amount_satang, refund.shipping_satang) == (paid, shipping)
    db.session.refresh(order)
    assert order.refunded_satang == paid
    assert [item.refunded_quantity for item in order.items] == [
        item.quantity for item in order.items
    ]
    assert sum(order_refunds.refunded_by_shipment(order).values()) == paid

    payments.record_refund_refused(refund.id, "insufficient funds")
    db.session.commit()

    db.session.refresh(refund)
    db.session.refresh(order)
    assert refund.status == RefundStatus.FAILED
    assert order.refunded_satang == 0
    assert [item.refunded_quantity for item in order.items] == [0, 0]
    assert [s.shipping_refunded_satang for s in order.shipments] == [0, 0]
    # Nothing is refunded: not in the order's figures, not in the ledger.
    assert order_refunds.refunded_by_shipment(order) == {}
    assert order_refunds.count_pending_refunds() == 0
    assert refund_entries(db) == 0
    assert balance(AccountKind.CASH) == paid
    assert balance(AccountKind.FUND_PAYABLE, fund_id=shop["fund"].id) == 4000
    with pytest.raises(Conflict):
        order_refunds.refund_failed(refund)
    db.session.rollback()

    # The units are the order's again: they can be refunded once more.
    again = order_refunds.refund(shop["admin"], order, [(order.items[0].id, 2)])
    db.session.commit()
    assert again.status == RefundStatus.PENDING
    assert order_refunds.refunded_by_shipment(order) == {
        order.items[0].shipment_id: 2 * order.items[0].unit_price_satang
    }
    assert verify().ok


def test_a_refund_that_is_not_there_is_not_found(db, shop):
    with pytest.raises(NotFound):
        order_refunds.locked_refund(999_999)


def paid_by_transfer(db, shop, lines, methods=None):
    order = orders.place_order(
        shop["buyer"],
        [(product.id, quantity) for product, quantity in lines],
        address=ADDRESS,
        methods=methods,
    )
    orders.confirm_transfer(shop["admin"], order)
    db.session.commit()
    return order


def test_refunding_the_rest_returns_what_is_left_with_all_the_shipping(db, shop):
    order = paid_by_transfer(db, shop, [(shop["rice"], 10), (shop["basket"], 2)])
    rice_item = next(item for item in order.items if item.product_id == shop["rice"].id)
    shipping = sum(s.shipping_satang for s in order.shipments)
    first = order_refunds.refund(shop["admin"], order, [(rice_item.id, 3)])
    db.session.commit()

    rest = order_refunds.refund(shop["admin"], order, None, reason="ร้านปิด")
    db.session.commit()

    # 7 bags and 2 baskets, and both parcels' shipping; done at once (paid by transfer).
    assert rest.status == RefundStatus.SUCCEEDED
    assert rest.shipping_satang == shipping
    assert rest.amount_satang == 7 * 35000 + 2 * 45050 + shipping
    assert (rest.reason, rest.created_by_id) == ("ร้านปิด", shop["admin"].id)
    assert first.amount_satang + rest.amount_satang == order.total_satang
    db.session.refresh(order)
    assert order.refunded_satang == order.total_satang
    assert balance(AccountKind.CASH) == 0
    assert balance(AccountKind.FUND_PAYABLE, fund_id=shop["fund"].id) == 0
    # Nothing is left: refunding the rest again refunds nothing, and says so quietly.
    assert order_refunds.refund(shop["admin"], order, None) is None
    db.session.commit()
    assert refund_entries(db) == 2
    assert verify().ok


def test_the_rest_may_be_only_shipping_or_only_goods(db, shop):
    order = paid_by_transfer(db, shop, [(shop["rice"], 2)])
    item = order.items[0]
    order_refunds.refund(shop["admin"], order, [(item.id, 2)])
    db.session.commit()

    # Every bag refunded one by one: the rest is the parcel's shipping alone.
    rest = order_refunds.refund(shop["admin"], order, None)
    db.session.commit()
    assert (rest.amount_satang, rest.shipping_satang) == (
        order.shipping_satang,
        order.shipping_satang,
    )
    assert order.shipping_satang > 0

    # Collected at the seller's place: no shipping, the rest is the goods alone.
    shop["rice"].seller.offers_pickup = True
    db.session.commit()
    pickup = paid_by_transfer(
        db, shop, [(shop["rice"], 3)], methods={shop["rice"].seller_id: DeliveryMethod.PICKUP}
    )
    assert pickup.shipping_satang == 0
    goods = order_refunds.refund(shop["admin"], pickup, None)
    db.session.commit()
    assert (goods.amount_satang, goods.shipping_satang) == (3 * 35000, 0)
    assert verify().ok


def test_a_whole_refund_made_in_stripe_is_recorded_as_done(db, shop):
    """Stripe's dashboard refunded the whole order: the refund is recorded as done at once
    (with Stripe's id), never sent to Stripe again."""
    order = paid_by_card(db, shop, [(shop["rice"], 4)])

    refund = order_refunds.refund(
        None, order, None, reason="refunded in Stripe", provider_refund_id="re_dashboard"
    )
    db.session.commit()

    assert (refund.status, refund.provider_refund_id) == (RefundStatus.SUCCEEDED, "re_dashboard")
    assert refund.created_by_id is None
    assert refund.amount_satang == order.total_satang
    assert balance(AccountKind.CASH) == 0
    # Part of another order, refunded there too: done at once as well.
    other = paid_by_card(db, shop, [(shop["rice"], 4)])
    part = order_refunds.refund(
        None, other, [(other.items[0].id, 1)], reason="in Stripe", provider_refund_id="re_part"
    )
    db.session.commit()
    assert (part.status, part.provider_refund_id) == (RefundStatus.SUCCEEDED, "re_part")
    assert balance(AccountKind.CASH) == other.total_satang - 35000
    assert verify().ok


def test_a_refund_is_checked_before_anything_is_taken(db, shop):
    """Only an admin refunds, only a paid order, only whole units of its own items, never
    more than is left; a refused refund changes nothing."""
    order = paid_by_transfer(db, shop, [(shop["rice"], 5)])
    item = order.items[0]
    unpaid = orders.place_order(shop["buyer"], [(shop["rice"].id, 1)], address=ADDRESS)
    db.session.commit()

    with pytest.raises(Forbidden):
        order_refunds.refund(shop["buyer"], order, [(item.id, 1)])
    db.session.rollback()
    with pytest.raises(Conflict):
        order_refunds.refund(shop["admin"], unpaid, [(unpaid.items[0].id, 1)])
    db.session.rollback()
    for items in (
        [(unpaid.items[0].id, 1)],  # another order's item
        [(item.id, -1)],
        [(item.id, True)],
        [(item.id, 1.0)],
        [(item.id, MAX_LINE_QUANTITY + 1)],
        [(item.id, 0)],
        [],
    ):
        with pytest.raises(DomainError) as refused:
            order_refunds.refund(shop["admin"], order, items)
        assert refused.value.field == "items", items
        db.session.rollback()
    with pytest.raises(Conflict, match="5") as too_many:
        order_refunds.refund(shop["admin"], order, [(item.id, 4), (item.id, 2)])
    assert too_many.value.field == "items"
    db.session.rollback()

    db.session.refresh(order)
    assert (order.refunded_satang, order.items[0].refunded_quantity) == (0, 0)
    assert refund_entries(db) == 0
    # Lines of the same item add up (2 + 1 bags, in one refund); a line of none is left out.
    refund = order_refunds.refund(shop["admin"], order, [(item.id, 2), (item.id, 0), (item.id, 1)])
    db.session.commit()
    assert (refund.amount_satang, refund.items[0].quantity) == (3 * 35000, 3)
    assert (refund.reason, refund.created_by_id) == ("", shop["admin"].id)
    assert refund.created_at is not None
    # A reason is kept to its first 1,000 characters.
    long = order_refunds.refund(shop["admin"], order, [(item.id, 1)], reason="ก" * 1500)
    db.session.commit()
    assert long.reason == "ก" * 1000
    assert balance(AccountKind.CASH) == order.total_satang - 4 * 35000


def test_a_whole_line_of_the_most_units_an_order_takes_is_refunded_at_once(db, shop):
    seeds = ProductFactory(seller=shop["rice"].seller, price_satang=500, stock=MAX_LINE_QUANTITY)
    db.session.commit()
    order = paid_by_transfer(db, shop, [(seeds, MAX_LINE_QUANTITY)])

    refund = order_refunds.refund(shop["admin"], order, [(order.items[0].id, MAX_LINE_QUANTITY)])
    db.session.commit()

    assert refund.amount_satang == MAX_LINE_QUANTITY * 500
    assert order.items[0].refunded_quantity == MAX_LINE_QUANTITY


def test_stripes_refund_id_is_kept_once_known(db, shop):
    """Stripe's id of a refund is what the reconciliation matches: the first one heard is
    kept, and a refund Stripe names only when it pays it back gets that one."""
    first = paid_by_card(db, shop, [(shop["rice"], 2)])
    second = paid_by_card(db, shop, [(shop["rice"], 3)])
    known = order_refunds.refund(shop["admin"], first, None)
    unnamed = order_refunds.refund(shop["admin"], second, [(second.items[0].id, 1)])
    db.session.commit()
    # Stripe answered the first with its id, and is still working on it.
    assert payments.record_refund_sent(known.id, "re_1", "pending").endswith("waiting")
    db.session.commit()

    order_refunds.refund_paid_back(order_refunds.locked_refund(known.id), "re_other")
    order_refunds.refund_paid_back(order_refunds.locked_refund(unnamed.id), "re_2")
    db.session.commit()

    assert (known.status, known.provider_refund_id) == (RefundStatus.SUCCEEDED, "re_1")
    assert (unnamed.status, unnamed.provider_refund_id) == (RefundStatus.SUCCEEDED, "re_2")
    # Each order's parcels show their own refunds only.
    assert order_refunds.refunded_by_shipment(first) == {first.shipments[0].id: first.total_satang}
    assert order_refunds.refunded_by_shipment(second) == {second.shipments[0].id: 35000}
    assert balance(AccountKind.CASH) == second.total_satang - 35000
    assert verify().ok


def test_a_refund_of_one_satang_without_shipping(db, shop):
    """A refund of one satang is a refund; a parcel collected at the seller's place (no
    shipping) gives back no shipping line; the refund's audit record names the admin."""
    seller = shop["rice"].seller
    seller.offers_pickup = True
    cheap = ProductFactory(seller=seller, price_satang=1, stock=10)
    db.session.commit()
    order = paid_by_transfer(db, shop, [(cheap, 2)], methods={seller.id: DeliveryMethod.PICKUP})
    item = order.items[0]

    one = order_refunds.refund(shop["admin"], order, [(item.id, 1)])
    db.session.commit()
    rest = order_refunds.refund(shop["admin"], order, None)
    db.session.commit()

    assert (one.status, one.amount_satang) == (RefundStatus.SUCCEEDED, 1)
    assert [(line.order_item_id, line.amount_satang) for line in rest.items] == [(item.id, 1)]
    assert (rest.amount_satang, rest.shipping_satang) == (1, 0)
    audited = db.session.scalar(
        select(AuditRecord)
        .where(AuditRecord.object_type == "order", AuditRecord.object_id == order.id)
        .order_by(AuditRecord.id.desc())
    )
    assert (audited.actor_id, audited.amount_satang) == (shop["admin"].id, 1)
    assert balance(AccountKind.CASH) == 0
    assert verify().ok


def test_the_rest_gives_back_a_shipping_fee_of_one_satang(db, shop):
    """Shipping is given back whatever it is, down to the smallest fee a seller's own rate
    table can hold."""
    seller = shop["rice"].seller
    shipping.save_seller_shipping(
        shop["rice_member"],
        seller,
        tiers=[Tier(max_weight_grams=50_000, fee_satang=1)],
        offers_pickup=False,
        pickup_note="",
    )
    db.session.commit()
    order = paid_by_transfer(db, shop, [(shop["rice"], 1)])
    assert order.shipping_satang == 1

    rest = order_refunds.refund(shop["admin"], order, None)
    db.session.commit()

    assert (rest.amount_satang, rest.shipping_satang) == (35001, 1)
    assert order.shipments[0].shipping_refunded_satang == 1
    assert balance(AccountKind.CASH) == 0
    assert verify().ok
