"""Property: whatever buyers, admins and workers do, in any order, the money adds up.

Random sequences of place / pay / partial refund / cancel / duplicated task / remittance.
After every step: every entry sums to zero; each fund's balance equals the levies of its
paid, unrefunded units minus its remittances; no fund account is negative.
"""

from datetime import date

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from marketplace.errors import DomainError
from marketplace.funds import reports
from marketplace.ledger import services as ledger
from marketplace.ledger.models import Account, AccountKind, JournalLine, Remittance
from marketplace.levies import arithmetic, routing
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as orders
from marketplace.orders.models import Order
from marketplace.outbox.models import OutboxMessage
from tests.conftest import examples
from tests.factories import (
    AdminFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)

ADDRESS = {
    "name": "ผู้ซื้อ",
    "phone": "0812345678",
    "address_line": "1",
    "subdistrict_code": "830107",
    "postal_code": "83130",
}

steps = st.lists(
    st.one_of(
        st.tuples(st.just("place"), st.integers(0, 2), st.integers(1, 7)),
        st.tuples(st.just("pay"), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("refund"), st.integers(0, 9), st.integers(1, 4)),
        st.tuples(st.just("cancel"), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("duplicate"), st.integers(0, 9), st.just(0)),
        # Up to 150% of what the fund is owed: more than owed must be refused.
        st.tuples(st.just("remit"), st.integers(0, 1), st.integers(1, 150)),
    ),
    min_size=1,
    max_size=15,
)


def build_world(db):
    """Two funds, two sellers, three products under per-unit, per-kg and percent rules."""
    first, second = SellerMemberFactory(), SellerMemberFactory()
    fund_a, fund_b = FundTreasurerFactory(), FundTreasurerFactory()
    admin = AdminFactory()
    buyer = UserFactory(fund_id=fund_b.fund_id)
    products = [
        ProductFactory(seller=first.seller, price_satang=35000, weight_grams=5050, stock=10_000),
        ProductFactory(seller=first.seller, price_satang=33, weight_grams=333, stock=10_000),
        ProductFactory(seller=second.seller, price_satang=45050, weight_grams=400, stock=10_000),
    ]
    db.session.flush()
    for seller_member, fund, scope, kind, rate, product in (
        (first, fund_a, "product", "per_unit", 400, products[0]),
        (first, fund_b, "seller", "per_kg", 150, None),
        (second, fund_b, "seller", "percent", 333, None),
    ):
        agreed_levy(seller_member, fund, product, kind=kind, rate=rate, scope=scope)
    # The buyer's own fund gets 1% of the second seller's sales too.
    agreed_levy(second, None, kind="percent", rate=100, admin=admin)
    db.session.commit()
    return {
        "admin": admin,
        "buyer": buyer,
        "products": products,
        "funds": [fund_a.fund, fund_b.fund],
        "treasurers": [fund_a.user, fund_b.user],
        "orders": [],
    }


def expected_balance(db, fund_id):
    """Levies of paid, unrefunded units, minus remittances: from the orders, not the ledger."""
    total = 0
    for order in db.session.scalars(select(Order).where(Order.paid_at.is_not(None))):
        for item in order.items:
            for levy in item.levies:
                if levy.fund_id == fund_id:
                    kept = levy.amount_satang - arithmetic.reversed_after(
                        levy.amount_satang, item.quantity, item.refunded_quantity
                    )
                    total += kept
    remitted = db.session.scalar(
        select(func.coalesce(func.sum(Remittance.amount_satang), 0)).where(
            Remittance.fund_id == fund_id
        )
    )
    return total - remitted


def check_invariants(db, world):
    db.session.expire_all()
    unbalanced = db.session.execute(
        select(JournalLine.entry_id)
        .group_by(JournalLine.entry_id)
        .having(func.sum(JournalLine.amount_satang) != 0)
    ).all()
    assert unbalanced == []
    for fund in world["funds"]:
        assert reports.balance(fund.id) == expected_balance(db, fund.id)
    negative = db.session.scalars(
        select(Account).where(
            Account.kind.in_((AccountKind.FUND_PAYABLE, AccountKind.FUND_RECEIVABLE)),
            Account.balance_satang < 0,
        )
    ).all()
    assert negative == []
    sellers_negative = db.session.scalars(
        select(Account).where(
            Account.kind == AccountKind.SELLER_PAYABLE, Account.balance_satang < 0
        )
    ).all()
    assert sellers_negative == []


def apply_step(app, db, world, step):
    action, index, amount = step
    if action == "place":
        product = world["products"][index]
        order = orders.place_order(world["buyer"], [(product.id, amount)], address=ADDRESS)
        world["orders"].append(order.id)
        return
    if action == "remit":
        fund = world["funds"][index]
        owed = ledger.fund_payable(fund.id).balance_satang
        if owed:
            ledger.record_remittance(
                world["treasurers"][index],
                fund,
                amount_satang=max(1, owed * amount // 100),
                remitted_on=date(2026, 6, 1),
                bank_reference="prop",
            )
        return
    if not world["orders"]:
        return
    order = db.session.get(Order, world["orders"][index % len(world["orders"])])
    if action == "pay" and order.status == "pending_payment":
        orders.confirm_transfer(world["admin"], order)
    elif action == "refund":
        # Refunds pick among paid orders with units left, so steps often hit one item twice.
        refundable = [
            o
            for o in (db.session.get(Order, oid) for oid in world["orders"])
            if o.paid_at is not None and o.items[0].refunded_quantity < o.items[0].quantity
        ]
        if refundable:
            target = refundable[index % len(refundable)]
            item = target.items[0]
            left = item.quantity - item.refunded_quantity
            order_refunds.refund(world["admin"], target, [(item.id, min(amount, left))])
    elif action == "cancel" and order.status in ("pending_payment", "paid"):
        orders.cancel_order(world["admin"], order, "property test")
    elif action == "duplicate":
        # The broker delivers the routing message again, and a worker posts directly too.
        celery = app.extensions["celery"]
        for message in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.task.like("tasks.levy.%"))
        ):
            celery.tasks[message.task].apply(kwargs={**message.payload, "outbox_id": message.id})
        routing.route_order(order.id)


@settings(
    max_examples=examples(80),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps)
def test_the_ledger_adds_up_after_every_step(app, db, sequence):
    world = build_world(db)
    check_invariants(db, world)
    for step in sequence:
        try:
            apply_step(app, db, world, step)
            db.session.commit()
            event(f"did {step[0]}")
        except DomainError:
            db.session.rollback()
            event(f"refused {step[0]}")
        check_invariants(db, world)
