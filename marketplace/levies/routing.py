"""Posting orders' money and levies to the ledger. Called by the tasks in tasks/levy.py.

Every posting has an idempotency key, so running any of these twice, or twice at once,
posts nothing new:

- ``payment:{order}`` — cash up, each seller's payable up by its shipment;
- ``levy:{order item levy}:accrue`` — the seller's payable down, the fund's up;
- ``refund:{refund}`` — cash down, the sellers' payables down;
- ``levy:{order item levy}:reverse:{refund item}`` — the fund's share given back;
- ``fee:{order item}:charge`` — the seller's payable down, platform revenue up (items with
  a platform fee only);
- ``fee:{order item}:reverse:{refund item}`` — the refunded units' share of the fee given
  back to the seller, as levies are;
- ``release:{shipment}:refund:{refund}`` — a refund of a shipment whose proceeds were
  already released comes off the seller's released money (marketplace/payouts/proceeds.py).

Every entry here touches cash, or is posted while cash is locked (the fees), so each
keeps the main chain's head safe in a batch (see ``ledger.batch``).
"""

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from marketplace.extensions import db
from marketplace.ledger import services as ledger
from marketplace.ledger.models import EntryKind, JournalEntry
from marketplace.levies import arithmetic
from marketplace.orders.models import Order, OrderItem, Refund, RefundStatus
from marketplace.payouts import proceeds


def _load_orders(order_ids):
    return db.session.scalars(
        select(Order)
        .where(Order.id.in_(order_ids))
        .order_by(Order.id)  # pragma: no mutate (the order a batch posts in: any is correct)
        .options(
            selectinload(Order.shipments),
            selectinload(Order.items).selectinload(OrderItem.levies),
        )
    ).all()


def _load_order(order_id):
    """The order of a refund (always there: a refund's order is never deleted)."""
    return _load_orders([order_id])[0]


def _item_dims(order, item, shipment_seller):
    return {
        "order_id": order.id,
        "order_item_id": item.id,
        "seller_id": shipment_seller,
        "product_id": item.product_id,
        "buyer_province_code": order.ship_subdistrict_code[:2],
    }


def _accounts_of(orders):
    # pragma: no mutate block (what is locked up front against deadlocks, PostgreSQL's
    # concern: under SQLite, where mutation testing runs, one writer at a time makes any
    # set of these the same)
    accounts = [ledger.cash()]
    for order in orders:
        accounts += [ledger.seller_payable(s.seller_id) for s in order.shipments]
        for fund_id in {levy.fund_id for item in order.items for levy in item.levies}:
            accounts += [ledger.fund_payable(fund_id), ledger.fund_receivable(fund_id)]
    if any(item.platform_fee_satang for order in orders for item in order.items):
        accounts.append(ledger.platform_revenue())
    return accounts


def _lock_accounts_of(order):
    """Lock every account the order's postings can touch, at once and in id order.

    Each posting locks its own accounts again (a no-op in this transaction); taking them
    all first means two tasks, or a task and a remittance, never wait on each other in a
    circle.
    """
    return ledger.lock(_accounts_of([order]))


def route_order(order_id):
    """Post a paid order's payment and its levies; return how many entries were new."""
    return route_orders([order_id])


def route_orders(order_ids):
    """Post the payments and levies of many paid orders in this transaction; return how
    many entries were new. Every account they touch is locked once, up front and in id
    order, and each chain is extended from the head the batch keeps (``ledger.batch``):
    the hot cash account and main chain are taken once per batch, not once per order, and
    the batch's entries are written together at its end."""
    orders = [order for order in _load_orders(order_ids) if order.paid_at is not None]
    if not orders:
        return 0
    # pragma: no mutate start (the keys the batch reads at once: a key it was not told of
    # is looked up when posted, with the same answer)
    keys = [f"payment:{order.id}" for order in orders]
    keys += [
        f"levy:{levy.id}:accrue" for order in orders for item in order.items for levy in item.levies
    ]
    keys += [
        f"fee:{item.id}:charge"
        for order in orders
        for item in order.items
        if item.platform_fee_satang
    ]
    # pragma: no mutate end
    with ledger.batch(_accounts_of(orders), keys):  # pragma: no mutate
        return sum(_route(order) for order in orders)


def _route(order):
    money = ledger.cash()
    lines = [(money, order.total_satang)]
    for shipment in order.shipments:
        owed = shipment.subtotal_satang + shipment.shipping_satang
        lines.append((ledger.seller_payable(shipment.seller_id), -owed))
    _entry, new = ledger.post(
        ledger.Posting(
            key=f"payment:{order.id}",
            kind=EntryKind.PAYMENT,
            lines=lines,
            occurred_at=order.paid_at,
            memo=order.number,  # a paid order always has its number
            dims={"order_id": order.id},
        )
    )
    created = int(new)
    sellers = {s.id: s.seller_id for s in order.shipments}
    for item in order.items:
        for levy in item.levies:
            created += _accrue(order, item, levy, sellers[item.shipment_id])
        created += _charge_fee(order, item, sellers[item.shipment_id])
    return created


def _accrue(order, item, levy, seller_id):
    if ledger.is_posted(f"levy:{levy.id}:accrue"):  # pragma: no mutate (a known key posts nothing)
        return 0
    payable = ledger.fund_payable(levy.fund_id)
    receivable = ledger.fund_receivable(levy.fund_id)
    seller = ledger.seller_payable(seller_id)
    owed_back = receivable.balance_satang  # locked, and fresh, since _lock_accounts_of
    settles = min(owed_back, levy.amount_satang)  # a fund that owes levies back repays first
    _entry, new = ledger.post(
        ledger.Posting(
            key=f"levy:{levy.id}:accrue",
            kind=EntryKind.LEVY,
            lines=[
                (seller, levy.amount_satang),
                (receivable, -settles),
                (payable, -(levy.amount_satang - settles)),
            ],
            occurred_at=order.paid_at,
            memo=f"{order.number} {item.name_th}",
            dims={
                **_item_dims(order, item, seller_id),
                "fund_id": levy.fund_id,
                "order_item_levy_id": levy.id,
                "levy_satang": levy.amount_satang,
                "units": item.quantity,
            },
        )
    )
    return int(new)


def post_refund(refund_id):
    """Post a refund and the levy reversals it causes (after the order's own postings).

    Only a refund that is done: one Stripe has not paid back yet (or refused) is not money
    that left, and its own task posts it once Stripe says so.
    """
    refund = db.session.scalar(
        select(Refund).where(Refund.id == refund_id).options(selectinload(Refund.items))
    )
    if refund is None or refund.status != RefundStatus.SUCCEEDED:
        return 0
    order = _load_order(refund.order_id)
    _lock_accounts_of(order)
    created = _route(order)  # a reversal never comes before its accrual
    shipments = {s.id: s for s in order.shipments}
    per_seller = {}
    for refund_item in refund.items:
        seller_id = shipments[refund_item.shipment_id].seller_id
        per_seller[seller_id] = per_seller.get(seller_id, 0) + refund_item.amount_satang
    lines = [(ledger.cash(), -refund.amount_satang)]
    lines += [(ledger.seller_payable(s), amount) for s, amount in sorted(per_seller.items())]
    _entry, new = ledger.post(
        ledger.Posting(
            key=f"refund:{refund.id}",
            kind=EntryKind.REFUND,
            lines=lines,
            occurred_at=refund.created_at,
            memo=refund.reason[:200],
            dims={"order_id": order.id, "refund_id": refund.id},
        )
    )
    created += new
    items = {item.id: item for item in order.items}
    # Units of items (a shipping fee refunded carries no levy and no fee).
    for refund_item in [ri for ri in refund.items if ri.order_item_id is not None]:
        item = items[refund_item.order_item_id]
        seller_id = shipments[item.shipment_id].seller_id
        for levy in item.levies:
            created += _reverse(order, item, levy, refund, refund_item, seller_id)
        created += _reverse_fee(order, item, refund, refund_item, seller_id)
    # A shipment already released: the refund comes off the seller's released money.
    created += proceeds.release_refunded(order, refund)
    return created


def _reverse(order, item, levy, refund, refund_item, seller_id):
    key = f"levy:{levy.id}:reverse:{refund_item.id}"
    if ledger.is_posted(key):  # pragma: no mutate (a known key posts nothing)
        return 0
    amount = arithmetic.reversal_for(
        levy.amount_satang, item.quantity, refund_item.refunded_before, refund_item.quantity
    )
    if amount == 0:
        return 0  # too small to move a satang yet: its units count with the next reversal
    # Units refunded and not yet counted by an earlier reversal of this levy.
    counted = db.session.scalar(
        select(func.coalesce(func.sum(JournalEntry.units), 0)).where(
            JournalEntry.order_item_levy_id == levy.id,
            JournalEntry.kind == EntryKind.LEVY_REVERSAL,
        )
    )
    units = refund_item.refunded_before + refund_item.quantity - counted
    payable = ledger.fund_payable(levy.fund_id)
    receivable = ledger.fund_receivable(levy.fund_id)
    seller = ledger.seller_payable(seller_id)
    held = payable.balance_satang  # locked, and fresh, since _lock_accounts_of
    from_payable = min(held, amount)  # already remitted? the fund owes the rest back
    _entry, new = ledger.post(
        ledger.Posting(
            key=key,
            kind=EntryKind.LEVY_REVERSAL,
            lines=[
                (payable, from_payable),
                (receivable, amount - from_payable),
                (seller, -amount),
            ],
            occurred_at=refund.created_at,
            memo=f"{order.number} {item.name_th}",
            dims={
                **_item_dims(order, item, seller_id),
                "fund_id": levy.fund_id,
                "order_item_levy_id": levy.id,
                "refund_id": refund.id,
                "levy_satang": -amount,
                "units": units,
            },
        )
    )
    return int(new)


def _charge_fee(order, item, seller_id):
    """The item's platform fee: the seller's payable down, platform revenue up."""
    key = f"fee:{item.id}:charge"
    if not item.platform_fee_satang:
        return 0
    if ledger.is_posted(key):  # pragma: no mutate (a known key posts nothing)
        return 0
    _entry, new = ledger.post(
        ledger.Posting(
            key=key,
            kind=EntryKind.FEE,
            lines=[
                (ledger.seller_payable(seller_id), item.platform_fee_satang),
                (ledger.platform_revenue(), -item.platform_fee_satang),
            ],
            occurred_at=order.paid_at,
            memo=f"{order.number} {item.name_th}",
            dims=_item_dims(order, item, seller_id),
        )
    )
    return int(new)


def _reverse_fee(order, item, refund, refund_item, seller_id):
    """The refunded units' share of the item's fee, given back to the seller."""
    key = f"fee:{item.id}:reverse:{refund_item.id}"
    if not item.platform_fee_satang or ledger.is_posted(key):  # pragma: no mutate (0 gives 0)
        return 0
    amount = arithmetic.reversal_for(
        item.platform_fee_satang, item.quantity, refund_item.refunded_before, refund_item.quantity
    )
    if amount == 0:
        return 0
    _entry, new = ledger.post(
        ledger.Posting(
            key=key,
            kind=EntryKind.FEE_REVERSAL,
            lines=[
                (ledger.platform_revenue(), amount),
                (ledger.seller_payable(seller_id), -amount),
            ],
            occurred_at=refund.created_at,
            memo=f"{order.number} {item.name_th}",
            dims={**_item_dims(order, item, seller_id), "refund_id": refund.id},
        )
    )
    return int(new)
