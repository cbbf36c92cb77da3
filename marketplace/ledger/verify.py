"""Check the whole ledger: ``flask ledger verify``.

- every entry has lines and they sum to zero;
- every chain runs 1, 2, 3… with each entry's stored hash equal to the recomputed one,
  and each ``prev_hash`` equal to the hash before it;
- every account's balance equals the sum of its lines; no fund account is negative;
- a fund never holds a payable and a receivable at once, nor a seller money available and
  a debt: what one owes back is settled by what next comes in, before anything can be
  remitted or paid out (after every entry, not only now);
- every paid order has its payment entry; every levy of a paid order item is accrued
  exactly once and reversed exactly as its refunds say, never more than accrued;
- every refund that is done is in the ledger; one Stripe has not paid back yet (pending)
  or refused (failed) is not, and a pending one still has its Stripe call in the outbox
  or its Stripe refund id (Stripe's event then settles it);
- the per-day levy totals the reports read equal the journal;
- sellers' money: payables, payouts, releases, cash out and platform revenue agree with the
  orders, refunds and payouts (marketplace/payouts/verify.py).

Levies of orders whose routing task is still waiting in the outbox are counted as waiting,
not as discrepancies.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.ledger.models import (
    NEVER_NEGATIVE,
    Account,
    AccountKind,
    EntryKind,
    FundLevyDay,
    FundLevyMonth,
    JournalEntry,
    JournalLine,
    LevyDimension,
    Remittance,
)
from marketplace.ledger.services import entry_hash, natural
from marketplace.levies import arithmetic
from marketplace.levies.models import OrderItemLevy
from marketplace.orders.models import Order, OrderItem, Refund, RefundItem, RefundStatus
from marketplace.outbox.models import OutboxMessage
from marketplace.payouts import verify as payouts

#: Entries read at a time (any size gives the same report: test_ledger_verify walks by 3).
BATCH = 2000  # pragma: no mutate


@dataclass
class Report:
    problems: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    waiting_orders: int = 0
    #: ``(chain, entries, head hash)`` of each chain checked in an export file.
    heads: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.problems

    def problem(self, text):
        self.problems.append(text)


def verify():
    """Read the ledger in a session of its own (it walks every entry), and report."""
    report = Report()
    with Session(db.engine) as session:
        _entries_and_chains(session, report)
        _balances(session, report)
        _never_owed_both_ways(session, report)
        _orders_and_levies(session, report)
        _money_amounts(session, report)
        _refund_sequences(session, report)
        _day_totals(session, report)
        payouts.check(session, report)
    return report


def _entries_and_chains(session, report):
    sums = {
        entry_id: int(total)
        for entry_id, total in session.execute(
            select(JournalLine.entry_id, func.sum(JournalLine.amount_satang)).group_by(
                JournalLine.entry_id
            )
        )
    }
    report.counts["entries"] = 0
    report.counts["lines"] = session.scalar(select(func.count()).select_from(JournalLine))
    chains = set()
    previous = {}
    last_id = 0
    while True:
        entries = session.scalars(
            select(JournalEntry)
            .where(JournalEntry.id > last_id)
            .order_by(JournalEntry.id)  # pragma: no mutate (SQLite reads by id anyway)
            .limit(BATCH)  # pragma: no mutate (all at once: the same report)
        ).all()
        if not entries:
            break
        lines = defaultdict(list)
        for line in session.scalars(
            select(JournalLine).where(JournalLine.entry_id.in_([e.id for e in entries]))
        ):
            lines[line.entry_id].append(line)
        for entry in entries:
            report.counts["entries"] += 1
            chains.add(entry.chain)
            if entry.id not in sums:
                report.problem(f"entry {entry.id} ({entry.key}) has no lines")
            elif sums[entry.id] != 0:
                report.problem(
                    f"entry {entry.id} ({entry.key}) does not balance: {sums[entry.id]:+d}"
                )
            if entry_hash(entry, lines[entry.id]) != entry.hash:
                report.problem(
                    f"entry {entry.id} ({entry.key}): its hash does not match its content"
                )
            expected_seq, expected_prev = previous.get(entry.chain, (0, ""))
            if entry.seq != expected_seq + 1:
                report.problem(
                    f"chain {entry.chain}: entry {entry.id} is number {entry.seq}, "
                    f"expected {expected_seq + 1}"
                )
            if entry.prev_hash != expected_prev:
                report.problem(
                    f"chain {entry.chain}: entry {entry.id} does not follow its predecessor"
                )
            previous[entry.chain] = (entry.seq, entry.hash)
        last_id = entries[-1].id
        session.expunge_all()
    _check_chain_order(session, report)
    report.counts["chains"] = len(chains)


def _check_chain_order(session, report):
    """Entries were walked by id; a chain's seq order must agree with id order."""
    rows = session.execute(
        select(JournalEntry.chain, func.count(), func.max(JournalEntry.seq)).group_by(
            JournalEntry.chain
        )
    ).all()
    for chain, count, top in rows:
        if count != top:
            report.problem(f"chain {chain}: {count} entries but numbered up to {top}")


def _balances(session, report):
    sums = {
        account_id: int(total)
        for account_id, total in session.execute(
            select(JournalLine.account_id, func.sum(JournalLine.amount_satang)).group_by(
                JournalLine.account_id
            )
        )
    }
    # In id order (what SQLite reads anyway): problems in the order the accounts were opened.
    accounts = session.scalars(select(Account).order_by(Account.id)).all()  # pragma: no mutate
    report.counts["accounts"] = len(accounts)
    for acct in accounts:
        expected = natural(acct, sums.get(acct.id, 0))
        if acct.balance_satang != expected:
            report.problem(
                f"account {acct.code}: balance {acct.balance_satang} but its lines say {expected}"
            )
        if acct.kind in NEVER_NEGATIVE and (acct.balance_satang < 0 or expected < 0):
            report.problem(f"account {acct.code} is negative")


#: Pairs of accounts of one owner that are never both above zero: the money held for a
#: fund or free to pay a seller, and what that fund or seller owes back.
OWED_BOTH_WAYS = (
    (AccountKind.FUND_PAYABLE, AccountKind.FUND_RECEIVABLE, "fund_id", "fund"),
    (AccountKind.SELLER_AVAILABLE, AccountKind.SELLER_RECEIVABLE, "seller_id", "seller"),
)


def _never_owed_both_ways(session, report):
    """After every entry, no fund holds levies while it owes levies back, and no seller has
    money available while it owes the marketplace: whatever came in should have settled
    the debt first (a fund paid twice otherwise, or a seller paid what it owes)."""
    accounts = session.scalars(
        select(Account).where(
            Account.kind.in_([kind for held, owed, *_ in OWED_BOTH_WAYS for kind in (held, owed)])
        )
    ).all()
    sides = {}  # account id -> (owner, 0 for the money held, 1 for the debt)
    for held_kind, owed_kind, owner_field, label in OWED_BOTH_WAYS:
        for acct in accounts:
            if acct.kind in (held_kind, owed_kind):
                owner = (label, getattr(acct, owner_field))
                sides[acct.id] = (owner, 0 if acct.kind == held_kind else 1)
    if not sides:
        return
    balances = defaultdict(lambda: [0, 0])
    reported = set()
    rows = session.execute(
        select(JournalLine.entry_id, JournalLine.account_id, JournalLine.amount_satang)
        .where(JournalLine.account_id.in_(list(sides)))
        # Lines in the order they were posted (what SQLite reads anyway), a batch at a time.
        .order_by(JournalLine.entry_id, JournalLine.id)  # pragma: no mutate
        .execution_options(yield_per=BATCH)  # pragma: no mutate
    )
    touched, current = set(), None
    by_id = {acct.id: acct for acct in accounts}

    def check(entry_id):
        for owner in touched:
            held, owed = balances[owner]
            if held > 0 and owed > 0 and owner not in reported:
                reported.add(owner)
                report.problem(
                    f"{owner[0]} {owner[1]} holds {held} and owes {owed} at once "
                    f"(after entry {entry_id}): what it owes was not settled first"
                )
        touched.clear()

    for entry_id, account_id, amount in rows:
        if entry_id != current and current is not None:
            check(current)
        current = entry_id
        owner, side = sides[account_id]
        balances[owner][side] += natural(by_id[account_id], amount)
        touched.add(owner)
    if current is not None:
        check(current)


@dataclass
class _Posted:
    """What the order, levy and refund checks compare: the ledger's entries by key, and
    the work the outbox still has to do (not a discrepancy yet)."""

    entries: dict  # key → (kind, levy_satang)
    waiting_orders: set
    waiting_refunds: set
    #: Pending refunds whose Stripe call still waits in the outbox.
    refunds_to_send: set
    paid_ids: set


def _orders_and_levies(session, report):
    posted = _read_posted(session)
    report.waiting_orders = len(posted.waiting_orders)
    report.counts["paid_orders"] = len(posted.paid_ids)
    _payments_posted(report, posted)
    _levies_posted(session, report, posted)
    _refunds_posted(session, report, posted)


def _waiting(session, task, name):
    return {
        message.payload.get(name)
        for message in session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.done_at.is_(None),
                # Without it the same: only route_order's payloads name an order, and a
                # refund's Stripe call and its posting never wait at once.
                OutboxMessage.task == task,  # pragma: no mutate
            )
        )
    }


def _read_posted(session):
    entries = {
        key: (kind, levy)
        for key, kind, levy in session.execute(
            select(JournalEntry.key, JournalEntry.kind, JournalEntry.levy_satang)
        )
    }
    return _Posted(
        entries=entries,
        waiting_orders=_waiting(session, "tasks.levy.route_order", "order_id"),
        waiting_refunds=_waiting(session, "tasks.levy.post_refund", "refund_id"),
        refunds_to_send=_waiting(session, "tasks.payments.send_refund", "refund_id"),
        paid_ids=set(session.scalars(select(Order.id).where(Order.paid_at.is_not(None)))),
    )


def _payments_posted(report, posted):
    """Every paid order's payment is in the ledger (or waits in the outbox)."""
    for order_id in sorted(posted.paid_ids):
        if f"payment:{order_id}" not in posted.entries and order_id not in posted.waiting_orders:
            report.problem(f"order {order_id} is paid but its payment is not in the ledger")


#: The keys levy routing posts under (levies/routing.py): the levy's id is the first number.
_LEVY_KEY = {
    EntryKind.LEVY: re.compile(r"levy:(\d+):accrue"),
    EntryKind.LEVY_REVERSAL: re.compile(r"levy:(\d+):reverse:\d+"),
}


def _levies_posted(session, report, posted):
    """Each levy of a paid order is accrued once, for its amount, and reversed exactly as
    its refunds say; no levy of an unpaid order is in the ledger."""
    levies = session.execute(
        select(
            OrderItemLevy.id,
            OrderItemLevy.amount_satang,
            OrderItemLevy.order_item_id,
            OrderItem.order_id,
            OrderItem.quantity,
        ).join(OrderItem, OrderItemLevy.order_item_id == OrderItem.id)
    ).all()
    report.counts["levies"] = len(levies)
    refund_items = defaultdict(list)
    for item_id, quantity, before, refund_id in session.execute(
        select(
            RefundItem.order_item_id,
            RefundItem.quantity,
            RefundItem.refunded_before,
            RefundItem.refund_id,
        )
        .join(Refund, RefundItem.refund_id == Refund.id)
        .where(Refund.status == RefundStatus.SUCCEEDED)  # shipping's (no item) is never read
    ):
        refund_items[item_id].append((quantity, before, refund_id))
    accruals, reversals = {}, defaultdict(int)
    for key, (kind, amount) in posted.entries.items():
        if kind not in (EntryKind.LEVY, EntryKind.LEVY_REVERSAL):
            continue
        named = _LEVY_KEY[kind].fullmatch(key)
        if named is None:
            report.problem(f"entry {key!r}: a {kind.value} entry whose key names no levy")
        elif kind == EntryKind.LEVY:
            accruals[int(named[1])] = amount
        else:
            reversals[int(named[1])] += -amount
    for levy_id, amount, item_id, order_id, quantity in levies:
        if order_id not in posted.paid_ids:
            if levy_id in accruals:
                report.problem(
                    f"levy {levy_id} is in the ledger but its order {order_id} is not paid"
                )
            continue
        if levy_id not in accruals:
            if order_id not in posted.waiting_orders:
                report.problem(f"levy {levy_id} of paid order {order_id} was never posted")
            continue
        if accruals[levy_id] != amount:
            report.problem(
                f"levy {levy_id}: posted {accruals[levy_id]} but the order says {amount}"
            )
        _reversals_match(
            report, posted, levy_id, amount, quantity, refund_items[item_id], reversals[levy_id]
        )


def _reversals_match(report, posted, levy_id, amount, quantity, refunds, reversed_satang):
    """A levy is never reversed by more than was accrued, and, once its refunds are all
    posted, by exactly what they add up to."""
    if reversed_satang > amount:
        report.problem(f"levy {levy_id}: reversed {reversed_satang}, more than the {amount} posted")
        return
    if any(refund_id in posted.waiting_refunds for _q, _b, refund_id in refunds):
        return
    expected = sum(
        arithmetic.reversal_for(amount, quantity, before, refunded)
        for refunded, before, _refund_id in refunds
    )
    if reversed_satang != expected:
        report.problem(
            f"levy {levy_id}: reversed {reversed_satang}, but its refunds say {expected}"
        )


def _refunds_posted(session, report, posted):
    """Every refund that is done is in the ledger (or waits in the outbox); one that Stripe
    has not paid back yet, or refused, is not; a pending one still has a way to finish."""
    for refund_id, status, provider_refund_id in session.execute(
        # Problems by refund id (what SQLite reads anyway).
        select(Refund.id, Refund.status, Refund.provider_refund_id).order_by(
            Refund.id  # pragma: no mutate
        )
    ):
        key = f"refund:{refund_id}"
        if status != RefundStatus.SUCCEEDED:
            if key in posted.entries:
                report.problem(f"refund {refund_id} is {status} but in the ledger")
            elif (
                status == RefundStatus.PENDING
                and provider_refund_id is None
                and refund_id not in posted.refunds_to_send
            ):
                report.problem(f"refund {refund_id} is pending and nothing sends it to Stripe")
            continue
        if key not in posted.entries and refund_id not in posted.waiting_refunds:
            report.problem(f"refund {refund_id} is not in the ledger")


def _money_amounts(session, report):
    """Payments, refunds and remittances moved exactly their amounts through cash."""
    cash_id = session.scalar(select(Account.id).where(Account.code == "cash"))
    moved = {
        key: int(amount)
        for key, amount in session.execute(
            select(JournalEntry.key, func.sum(JournalLine.amount_satang))
            .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
            .where(JournalLine.account_id == cash_id)
            .group_by(JournalEntry.key)
        )
    }
    checks = [
        (f"payment:{order_id}", total, f"order {order_id}")
        for order_id, total in session.execute(
            select(Order.id, Order.total_satang).where(Order.paid_at.is_not(None))
        )
    ]
    checks += [
        (f"refund:{refund_id}", -amount, f"refund {refund_id}")
        for refund_id, amount in session.execute(
            select(Refund.id, Refund.amount_satang).where(Refund.status == RefundStatus.SUCCEEDED)
        )
    ]
    checks += [
        (f"remittance:{remittance_id}", -amount, f"remittance {remittance_id}")
        for remittance_id, amount in session.execute(
            select(Remittance.id, Remittance.amount_satang)
        )
    ]
    for key, expected, what in checks:
        if key in moved and moved[key] != expected:
            report.problem(f"{what}: the ledger moved {moved[key]} through cash, not {expected}")
    remitted = {key for key in moved if key.startswith("remittance:")}
    for key, _expected, what in checks:
        if key.startswith("remittance:") and key not in remitted:
            report.problem(f"{what} is not in the ledger")


def _refund_sequences(session, report):
    """Each item's refunds follow one another: units before + units refunded, up to sold."""
    sold = dict(session.execute(select(OrderItem.id, OrderItem.quantity)).all())
    refunded = dict(session.execute(select(OrderItem.id, OrderItem.refunded_quantity)).all())
    running = defaultdict(int)
    for item_id, quantity, before in session.execute(
        select(RefundItem.order_item_id, RefundItem.quantity, RefundItem.refunded_before)
        .join(Refund, RefundItem.refund_id == Refund.id)
        .where(RefundItem.order_item_id.is_not(None), Refund.status != RefundStatus.FAILED)
        .order_by(RefundItem.id)  # pragma: no mutate (SQLite reads them by id anyway)
    ):
        if before != running[item_id]:
            report.problem(
                f"order item {item_id}: a refund says {before} units were refunded before it, "
                f"the earlier refunds say {running[item_id]}"
            )
        running[item_id] = before + quantity
    for item_id, total in running.items():  # a refund item's order item is always there
        if total != refunded[item_id] or total > sold[item_id]:
            report.problem(
                f"order item {item_id}: refunds add up to {total} units; the item says "
                f"{refunded[item_id]} of {sold[item_id]}"
            )


def _day_totals(session, report):
    dims = (
        JournalEntry.fund_id,
        JournalEntry.local_date,
        JournalEntry.seller_id,
        JournalEntry.product_id,
        JournalEntry.buyer_province_code,
    )
    levy = JournalEntry.levy_satang
    from_journal = {
        tuple(row[:5]): [int(row[5]), int(row[6])]
        for row in session.execute(
            select(
                *dims,
                # With levy != 0 below, > 0 and >= 0 are one (as are < 0, <= 0 and < 1).
                func.sum(case((levy > 0, levy), else_=0)),  # pragma: no mutate
                func.sum(case((levy < 0, -levy), else_=0)),  # pragma: no mutate
            )
            .where(levy != 0)
            .group_by(*dims)
        )
    }
    stored = {
        (r.fund_id, r.day, r.seller_id, r.product_id, r.buyer_province_code): [
            r.accrued_satang,
            r.reversed_satang,
        ]
        for r in session.scalars(select(FundLevyDay))
    }
    for key in set(from_journal) | set(stored):
        if from_journal.get(key) != stored.get(key):  # a row on one side only is wrong too
            report.problem(
                f"daily levy totals for fund {key[0]} on {key[1]} (product {key[3]}) "
                f"say {stored.get(key)} but the journal says {from_journal.get(key)}"
            )
    _month_totals(session, report, from_journal)


def _month_totals(session, report, daily):
    """The monthly breakdowns must equal the (journal-checked) daily sums, rolled up."""
    expected = defaultdict(lambda: [0, 0])
    for (fund_id, day, seller_id, product_id, province), (accrued, reversed_) in daily.items():
        month = day.replace(day=1)
        for dimension, key in (
            (LevyDimension.PRODUCT, product_id),
            (LevyDimension.SELLER, seller_id),
            (LevyDimension.PROVINCE, province),
        ):
            row = expected[(fund_id, month, dimension, str(key))]
            row[0] += accrued
            row[1] += reversed_
    stored = {
        (r.fund_id, r.month, LevyDimension(r.dimension), r.key): [
            r.accrued_satang,
            r.reversed_satang,
        ]
        for r in session.scalars(select(FundLevyMonth))
    }
    for key in set(expected) | set(stored):
        if expected.get(key) != stored.get(key):
            report.problem(
                f"monthly levy totals for fund {key[0]}, {key[1]:%Y-%m}, {key[2]} {key[3]} "
                f"say {stored.get(key)} but the journal says {expected.get(key)}"
            )
