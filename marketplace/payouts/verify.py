"""The checks ``flask ledger verify`` makes of sellers' money (marketplace/ledger/verify.py
calls :func:`check`):

- each seller's payable (pending + available + in payout − owed) equals, from the orders
  alone, the proceeds of its paid shipments (goods + shipping − levies − fees) − what
  refunds took back (net of the levy and fee shares they gave back) − the payouts paid;
- no payout exceeds what was available when it was made: the journal's available balance
  just before its reservation covers it, and the reservation is its amount;
- no proceeds released before delivery and the hold: every release is of a delivered
  shipment of a paid order; its first release is dated no earlier than the delivery plus
  the hold it records (``after a hold of N days``; for releases that record none, the
  shortest hold in force: ``PAYOUT_HOLD_DAYS`` or any run's), and the releases after a
  refund no earlier than the delivery; a released shipment keeps nothing on pending;
- paid payouts equal cash out: each paid payout left cash once for its amount, with the
  bank reference and the day the payout records, no other payout did, each failed one
  went back out of "in payout", and what is in payout is what the payouts waiting say;
- platform revenue equals the fees on paid, unrefunded items, each fee posted once;
- no line gives more than it sold: each order item's levies and fee together are at most
  its total, so no shipment's proceeds (goods + shipping − levies − fees) are negative.

Orders and refunds whose postings are not in the ledger yet are left out (the levy checks
report those that are not waiting in the outbox either).
"""

from collections import defaultdict
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from marketplace.ledger.models import Account, AccountKind, EntryKind, JournalEntry, JournalLine
from marketplace.levies import arithmetic
from marketplace.levies.models import OrderItemLevy
from marketplace.orders.models import Order, OrderItem, RefundItem, Shipment
from marketplace.payouts.models import Payout, PayoutRun, PayoutStatus
from marketplace.payouts.proceeds import HOLD_PATTERN, KINDS

SELLER_KINDS = set(KINDS)


def check(session, report):
    """Add a problem to ``report`` for each discrepancy in sellers' money."""
    accounts = {
        row.id: row
        for row in session.scalars(
            select(Account).where(
                Account.kind.in_([*SELLER_KINDS, AccountKind.PLATFORM_REVENUE, AccountKind.CASH])
            )
        )
    }
    keys = dict(session.execute(select(JournalEntry.key, JournalEntry.id)).all())
    report.counts["payouts"] = session.scalar(select(func.count()).select_from(Payout))
    routed = _routed_paid_orders(session, keys)
    refunds = _posted_refunds(keys)
    _payables(session, report, accounts, routed, refunds)
    _payouts_within_available(session, report, accounts, keys)
    _releases_after_delivery(session, report, accounts)
    _payouts_and_cash(session, report, accounts, keys)
    _platform_revenue(session, report, accounts, routed, refunds)
    _lines_within_totals(session, report)


def _routed_paid_orders(session, keys):
    """Paid orders whose payment is in the ledger (the levy checks report any other that
    is not waiting in the outbox); their levies and fees are posted with it."""
    paid = session.scalars(select(Order.id).where(Order.paid_at.is_not(None)))
    return {order_id for order_id in paid if f"payment:{order_id}" in keys}


def _posted_refunds(keys):
    """Refund ids the ledger has (their ``refund:`` entry; one still waiting in the outbox
    is left out, as the levy checks leave it)."""
    return {int(key.split(":")[1]) for key in keys if key.startswith("refund:")}


def _refunded_shares(session, posted_refunds):
    """``{seller_id: satang}`` refunds took back from each seller, net of the levy and fee
    shares they gave back, and ``{order item id: fee given back}``, from the orders."""
    levies = defaultdict(list)
    for item_id, amount in session.execute(
        select(OrderItemLevy.order_item_id, OrderItemLevy.amount_satang)
    ):
        levies[item_id].append(amount)
    taken = defaultdict(int)
    fees_back = defaultdict(int)
    rows = session.execute(
        select(
            RefundItem.refund_id,
            RefundItem.amount_satang,
            RefundItem.quantity,
            RefundItem.refunded_before,
            Shipment.seller_id,
            OrderItem.id,
            OrderItem.quantity,
            OrderItem.platform_fee_satang,
        )
        .join(Shipment, Shipment.id == RefundItem.shipment_id)
        .outerjoin(OrderItem, OrderItem.id == RefundItem.order_item_id)
    )
    posted = (row for row in rows if row.refund_id in posted_refunds)
    for _refund, amount, quantity, before, seller_id, item_id, sold, fee in posted:
        taken[seller_id] += amount
        if item_id is not None:  # a line of goods (the shipping's has no item)
            given_back = sum(
                arithmetic.reversal_for(levy, sold, before, quantity) for levy in levies[item_id]
            )
            fee_back = arithmetic.reversal_for(fee, sold, before, quantity)
            fees_back[item_id] += fee_back
            taken[seller_id] -= given_back + fee_back
    return taken, fees_back


def _payables(session, report, accounts, routed, refunds):
    """Each seller's money in the ledger equals what its orders, refunds and payouts say."""
    earned = defaultdict(int)
    for order_id, seller_id, goods, shipping in session.execute(
        select(
            Shipment.order_id,
            Shipment.seller_id,
            Shipment.subtotal_satang,
            Shipment.shipping_satang,
        )
    ):
        if order_id in routed:
            earned[seller_id] += goods + shipping
    for order_id, seller_id, fee, levy in session.execute(
        select(
            OrderItem.order_id,
            Shipment.seller_id,
            OrderItem.platform_fee_satang,
            func.coalesce(
                select(func.sum(OrderItemLevy.amount_satang))
                .where(OrderItemLevy.order_item_id == OrderItem.id)
                .scalar_subquery(),
                0,
            ),
        ).join(Shipment, Shipment.id == OrderItem.shipment_id)
    ):
        if order_id in routed:
            earned[seller_id] -= fee + int(levy)
    taken, _fees_back = _refunded_shares(session, refunds)
    paid = dict(
        session.execute(
            select(Payout.seller_id, func.sum(Payout.amount_satang))
            .where(Payout.status == PayoutStatus.PAID)
            .group_by(Payout.seller_id)
        ).all()
    )
    in_ledger = defaultdict(int)
    for account_id, total in session.execute(
        select(JournalLine.account_id, func.sum(JournalLine.amount_satang)).group_by(
            JournalLine.account_id
        )
    ):
        acct = accounts.get(account_id)
        if acct is not None and acct.kind in SELLER_KINDS:
            in_ledger[acct.seller_id] -= int(total)  # what the marketplace owes the seller
    # Refunds and paid payouts are of sellers with orders and money in the ledger.
    sellers = set(earned) | set(in_ledger)
    for seller_id in sorted(sellers):
        expected = earned[seller_id] - taken[seller_id] - int(paid.get(seller_id, 0))
        if in_ledger[seller_id] != expected:
            report.problem(
                f"seller {seller_id}: the ledger owes {in_ledger[seller_id]}, but its proceeds "
                f"less refunds and payouts are {expected}"
            )


def _payout_key(key):
    """``(payout id, step)`` of a ``payout:{id}:{step}`` key."""
    _prefix, payout_id, step = key.split(":")
    return int(payout_id), step


def _payouts_within_available(session, report, accounts, keys):
    """Walk each seller's available account in posting order: it never goes below zero,
    and each reservation takes its payout's amount out of what was there."""
    reserve_of = {}
    for key, entry_id in keys.items():
        if key.startswith("payout:") and key.endswith(":reserve"):
            reserve_of[entry_id] = _payout_key(key)[0]
    payouts = {payout.id: payout for payout in session.scalars(select(Payout))}
    running = defaultdict(int)
    reserved = {}
    available_ids = [a.id for a in accounts.values() if a.kind == AccountKind.SELLER_AVAILABLE]
    for account_id, entry_id, amount in session.execute(
        select(JournalLine.account_id, JournalLine.entry_id, JournalLine.amount_satang)
        .where(JournalLine.account_id.in_(available_ids))
        .order_by(JournalLine.entry_id, JournalLine.id)  # pragma: no mutate (SQLite's order)
    ):
        before = running[account_id]
        running[account_id] = before - amount  # a liability: a debit takes money out
        payout_id = reserve_of.get(entry_id)
        if payout_id is None:
            if running[account_id] < 0:
                report.problem(
                    f"account {accounts[account_id].code} went below zero at entry {entry_id}"
                )
            continue
        reserved[payout_id] = amount
        payout = payouts.get(payout_id)
        if payout is not None and payout.amount_satang > before:
            report.problem(
                f"payout {payout_id} is {payout.amount_satang}, more than the {before} "
                f"available when it was made"
            )
    for payout_id, payout in payouts.items():
        if payout_id not in reserved:
            report.problem(f"payout {payout_id} was never reserved in the ledger")
        elif reserved[payout_id] != payout.amount_satang:
            report.problem(
                f"payout {payout_id} is {payout.amount_satang} but {reserved[payout_id]} "
                f"was reserved"
            )


def _releases_after_delivery(session, report, accounts):
    """Every release is of a delivered shipment of a paid order, dated after delivery, and
    a released shipment keeps nothing on pending."""
    shipments = {
        row.id: row
        for row in session.execute(
            select(
                Shipment.id,
                Shipment.order_id,
                Shipment.seller_id,
                Shipment.delivered_at,
                Order.paid_at,
            ).join(Order, Order.id == Shipment.order_id)
        )
    }
    released = set()
    shortest_hold = _shortest_hold(session)
    for key, occurred_at, order_id, seller_id, memo in session.execute(
        select(
            JournalEntry.key,
            JournalEntry.occurred_at,
            JournalEntry.order_id,
            JournalEntry.seller_id,
            JournalEntry.memo,
        ).where(JournalEntry.kind == EntryKind.RELEASE)
    ):
        shipment_id = int(key.split(":")[1])
        shipment = shipments.get(shipment_id)
        if shipment is None or (shipment.order_id, shipment.seller_id) != (order_id, seller_id):
            report.problem(f"release {key} names no shipment of its order and seller")
            continue
        released.add(shipment_id)
        if shipment.delivered_at is None or shipment.paid_at is None:
            report.problem(
                f"shipment {shipment_id}: its proceeds were released but it is not delivered"
            )
        elif occurred_at < shipment.delivered_at:
            report.problem(
                f"shipment {shipment_id}: its proceeds were released before it was delivered"
            )
        elif key == f"release:{shipment_id}":  # the first release waited the hold
            found = HOLD_PATTERN.search(memo)
            days = int(found.group(1)) if found else shortest_hold
            if occurred_at < shipment.delivered_at + timedelta(days=days):
                report.problem(
                    f"shipment {shipment_id}: its proceeds were released before the hold of "
                    f"{days} days after delivery was over"
                )
    pending_ids = {
        a.id: a.seller_id for a in accounts.values() if a.kind == AccountKind.SELLER_PAYABLE
    }
    left = {}
    for account_id, order_id, total in session.execute(
        select(JournalLine.account_id, JournalEntry.order_id, func.sum(JournalLine.amount_satang))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.account_id.in_(list(pending_ids)))
        .group_by(JournalLine.account_id, JournalEntry.order_id)
    ):
        left[(pending_ids[account_id], order_id)] = -int(total)
    for shipment_id in sorted(released):
        shipment = shipments[shipment_id]
        share = left.get((shipment.seller_id, shipment.order_id))  # None: nothing left
        if share:
            report.problem(
                f"shipment {shipment_id} was released but {share} of it is still pending"
            )


def _shortest_hold(session):
    """The shortest hold after delivery that was in force: PAYOUT_HOLD_DAYS now, or any
    run's (each records the hold it ran under)."""
    runs = session.scalar(select(func.min(PayoutRun.hold_days)))
    config = current_app.config["PAYOUT_HOLD_DAYS"]
    return config if runs is None else min(config, int(runs))


def _payouts_and_cash(session, report, accounts, keys):
    """Paid payouts left cash once for their amount; no other did; failed ones went back;
    what is in payout is what the payouts waiting say."""
    cash_ids = [a.id for a in accounts.values() if a.kind == AccountKind.CASH]
    moved = defaultdict(int)
    paid_entries = {}
    for key, amount, memo, local_date in session.execute(
        select(
            JournalEntry.key, JournalLine.amount_satang, JournalEntry.memo, JournalEntry.local_date
        )
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(
            # Only payouts' cash lines are looked up: the others are left unread.
            JournalEntry.kind == EntryKind.PAYOUT,  # pragma: no mutate
            JournalLine.account_id.in_(cash_ids),
        )
    ):
        moved[key] += amount
        paid_entries[key] = (memo, local_date)
    payouts = session.scalars(select(Payout).order_by(Payout.id)).all()  # pragma: no mutate
    statuses = {payout.id: payout.status for payout in payouts}
    for payout in payouts:
        paid_key, failed_key = f"payout:{payout.id}:paid", f"payout:{payout.id}:failed"
        if payout.status == PayoutStatus.PAID:
            if paid_key not in keys:
                report.problem(f"payout {payout.id} is paid but no cash left for it")
            elif moved[paid_key] != -payout.amount_satang:
                report.problem(
                    f"payout {payout.id} is {payout.amount_satang} but cash paid {-moved[paid_key]}"
                )
            elif paid_entries[paid_key] != (payout.bank_reference, payout.paid_on):
                memo, day = paid_entries[paid_key]
                report.problem(
                    f"payout {payout.id} records reference {payout.bank_reference!r} on "
                    f"{payout.paid_on}, but cash paid it with {memo!r} on {day}"
                )
        elif paid_key in keys:
            report.problem(f"payout {payout.id} is {payout.status} but cash paid it")
        if (payout.status == PayoutStatus.FAILED) != (failed_key in keys):
            report.problem(
                f"payout {payout.id} is {payout.status} but its failure is "
                f"{'' if failed_key in keys else 'not '}in the ledger"
            )
    for key in keys:
        if key.startswith("payout:") and _payout_key(key)[0] not in statuses:
            report.problem(f"entry {key} is for a payout that does not exist")
    waiting = {}
    for payout in payouts:
        if payout.status == PayoutStatus.PENDING:
            waiting[payout.seller_id] = payout.amount_satang  # one at a time (an index)
    for acct in accounts.values():
        if acct.kind == AccountKind.SELLER_IN_PAYOUT and (
            acct.balance_satang != waiting.get(acct.seller_id, 0)
        ):
            report.problem(
                f"account {acct.code} holds {acct.balance_satang} but the payouts waiting "
                f"are {waiting.get(acct.seller_id, 0)}"
            )


def _platform_revenue(session, report, accounts, routed, refunds):
    """Platform revenue is the fees of paid items less those refunds gave back; each fee of
    a paid item is posted once, for its amount."""
    charged = {}
    for key, amount in session.execute(
        select(JournalEntry.key, JournalLine.amount_satang)
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .join(Account, Account.id == JournalLine.account_id)
        .where(
            JournalEntry.kind == EntryKind.FEE,
            # Without it the fee's line on the seller is read too, then replaced by its line
            # on platform revenue, posted after it: the same figures.
            Account.kind == AccountKind.PLATFORM_REVENUE,  # pragma: no mutate
        )
    ):
        charged[int(key.split(":")[1])] = -amount
    expected = 0
    for item_id, order_id, fee in session.execute(
        select(OrderItem.id, OrderItem.order_id, OrderItem.platform_fee_satang)
    ):
        if order_id not in routed:
            if item_id in charged:
                report.problem(f"order item {item_id}: its fee is posted but it is not paid")
            continue
        expected += fee
        if charged.get(item_id, 0) != fee:
            report.problem(
                f"order item {item_id}: its fee is {fee} but {charged.get(item_id, 0)} was posted"
            )
    _taken, fees_back = _refunded_shares(session, refunds)
    expected -= sum(fees_back.values())
    revenue = sum(
        a.balance_satang for a in accounts.values() if a.kind == AccountKind.PLATFORM_REVENUE
    )
    if revenue != expected:
        report.problem(
            f"platform revenue is {revenue}, but the fees of paid, unrefunded items are {expected}"
        )


def _lines_within_totals(session, report):
    """Each order item's levies and fee together are at most its total, and no shipment's
    proceeds (goods + shipping − levies − fees) are negative."""
    levies = dict(
        session.execute(
            select(OrderItemLevy.order_item_id, func.sum(OrderItemLevy.amount_satang)).group_by(
                OrderItemLevy.order_item_id
            )
        ).all()
    )
    deducted = defaultdict(int)
    for item_id, shipment_id, total, fee in session.execute(
        select(
            OrderItem.id,
            OrderItem.shipment_id,
            OrderItem.line_total_satang,
            OrderItem.platform_fee_satang,
        )
    ):
        levy = int(levies.get(item_id) or 0)
        if levy + fee > total:
            report.problem(
                f"order item {item_id}: its levies {levy} and fee {fee} take more than its "
                f"total {total}"
            )
        deducted[shipment_id] += levy + fee
    for shipment_id, goods, shipping in session.execute(
        select(Shipment.id, Shipment.subtotal_satang, Shipment.shipping_satang)
    ):
        if goods + shipping - deducted[shipment_id] < 0:
            report.problem(
                f"shipment {shipment_id}: its proceeds are negative "
                f"({goods + shipping - deducted[shipment_id]})"
            )
