"""Sellers get paid: payout runs, payouts paid or failed, statements, fees.

Services take typed values (satang ints, dates, ids), flush and never commit. The ledger
side (accounts, releases, balances) is marketplace/payouts/proceeds.py.
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, exists, func, or_, select, update
from sqlalchemy.orm import selectinload

from marketplace.audit import services as audit
from marketplace.dbtypes import utcnow
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.funds.models import Fund
from marketplace.i18n import format_date, localized, noon_in_bangkok, to_bangkok
from marketplace.ledger import services as ledger
from marketplace.ledger.models import Account, AccountKind, EntryKind, JournalEntry, JournalLine
from marketplace.money import baht_text
from marketplace.orders.models import Order, OrderItem, Shipment
from marketplace.outbox import services as outbox
from marketplace.payouts import proceeds
from marketplace.payouts.arithmetic import released
from marketplace.payouts.models import Payout, PayoutRun, PayoutStatus
from marketplace.sellers.models import Seller

#: How long a bank reference and a failure reason may be.
REFERENCE_LENGTH = 100
REASON_LENGTH = 500


@dataclass
class FeeTotals:
    charged_satang: int = 0
    reversed_satang: int = 0

    @property
    def net_satang(self):
        return self.charged_satang - self.reversed_satang


def fee_totals(seller_id, start, end):
    """The platform fees deducted from the seller's sales in the period (Bangkok days),
    and those given back by refunds, read from the ledger."""
    payable = ledger.find_account(AccountKind.SELLER_PAYABLE, seller_id=seller_id)
    if payable is None:
        return FeeTotals()
    rows = db.session.execute(
        select(JournalEntry.kind, func.sum(JournalLine.amount_satang))
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(
            JournalLine.account_id == payable.id,
            JournalEntry.kind.in_((EntryKind.FEE, EntryKind.FEE_REVERSAL)),
            JournalEntry.local_date.between(start, end),
        )
        .group_by(JournalEntry.kind)
    ).all()
    totals = FeeTotals()
    for kind, amount in rows:
        if kind == EntryKind.FEE:
            totals.charged_satang = int(amount)
        else:
            totals.reversed_satang = -int(amount)
    return totals


# Payout runs


def _require_admin(actor):
    if actor is not None and not actor.is_admin:
        raise Forbidden(_l("Only an admin can do this."))


def has_payout_details(seller):
    """A PromptPay ID, or a bank account with its bank: somewhere to send the money."""
    return bool(seller.promptpay_id or (seller.bank_account_number and seller.bank_name))


def _with_details():
    return or_(
        Seller.promptpay_id != "",
        (Seller.bank_account_number != "") & (Seller.bank_name != ""),
    )


def _payable_sellers(minimum):
    """Verified sellers with at least ``minimum`` available, somewhere to send it, and no
    payout waiting to be paid, in id order."""
    waiting = exists().where(Payout.seller_id == Seller.id, Payout.status == PayoutStatus.PENDING)
    return db.session.scalars(
        select(Seller)
        .join(Account, Account.seller_id == Seller.id)
        .where(
            # Each seller's available is read again under the lock, and those under the
            # minimum skipped: these only keep the run from locking sellers it would skip.
            Account.kind == AccountKind.SELLER_AVAILABLE,  # pragma: no mutate
            Account.balance_satang >= minimum,  # pragma: no mutate
            Seller.verified.is_(True),
            _with_details(),
            ~waiting,
        )
        .order_by(Seller.id)  # pragma: no mutate (payouts numbered by seller; SQLite's order)
    ).all()


@dataclass
class LeftOut:
    seller: Seller
    available_satang: int
    #: Why a run leaves the seller out: ``no_details`` (no PromptPay ID or bank account)
    #: or ``not_verified``.
    reason: str


def left_out(minimum, *, limit):
    """Sellers with at least ``minimum`` available whom a run would leave out: not verified,
    or with no PromptPay ID or bank account on file (one query; at most ``limit``, most
    money first, then by id). Balances are the ledger's: releases that are due but not
    posted yet show after the next run or hourly release."""
    rows = db.session.execute(
        select(Seller, Account.balance_satang)
        .join(Account, Account.seller_id == Seller.id)
        .where(
            Account.kind == AccountKind.SELLER_AVAILABLE,
            Account.balance_satang >= minimum,
            or_(Seller.verified.is_not(True), ~_with_details()),
        )
        # Ties by id: SQLite reads them in id order anyway (test_the_sellers_a_run_leaves_out_…).
        .order_by(Account.balance_satang.desc(), Seller.id)  # pragma: no mutate
        .limit(limit)
    ).all()
    return [
        LeftOut(seller, int(amount), "not_verified" if not seller.verified else "no_details")
        for seller, amount in rows
    ]


def start_run(actor, *, now=None, system="system"):
    """Start a payout run: release what is due, then reserve, for each seller with at least
    PAYOUT_MINIMUM available and payout details on file, all of it in one payout.

    Runs take turns on the cash account's lock (every posting to a seller's money holds
    it), so two runs at once never reserve the same money: the second finds it reserved.
    A run with nobody to pay is recorded too, with no payouts. ``actor`` is the admin, or
    None for the command line or the beat (named by ``system``).
    """
    _require_admin(actor)
    now = now or utcnow()
    config = current_app.config
    ledger.lock([ledger.cash()])  # first: runs, releases and payouts take turns from here
    proceeds.release_due(now)
    minimum = config["PAYOUT_MINIMUM"]
    run = PayoutRun(
        created_at=now,
        created_by_id=actor.id if actor is not None else None,
        hold_days=config["PAYOUT_HOLD_DAYS"],
        minimum_satang=minimum,
    )
    db.session.add(run)
    db.session.flush()
    sellers = _payable_sellers(minimum)
    locked = proceeds.lock([seller.id for seller in sellers])
    for seller in sellers:
        accounts = locked[seller.id]
        amount = accounts.available.balance_satang
        if amount < minimum:  # read again under the lock
            continue  # pragma: no mutate (only a refund between the query and the lock)
        payout = Payout(
            run=run,
            seller_id=seller.id,
            amount_satang=amount,
            available_satang=amount,
            promptpay_id=seller.promptpay_id,
            bank_name=seller.bank_name,
            bank_account_name=seller.bank_account_name,
            bank_account_number=seller.bank_account_number,
            created_at=now,
        )
        db.session.add(payout)
        db.session.flush()
        ledger.post(
            ledger.Posting(
                key=f"payout:{payout.id}:reserve",
                kind=EntryKind.PAYOUT_RESERVE,
                lines=[(accounts.available, amount), (accounts.in_payout, -amount)],
                occurred_at=now,
                memo=f"run {run.id}",
                dims={"seller_id": seller.id},
            )
        )
        run.total_satang += amount
    db.session.flush()
    audit.payout_run_started(
        actor,
        run,
        seller_ids=[p.seller_id for p in run.payouts],
        amount_satang=run.total_satang,
        system=system,
    )
    return run


def get_run(run_id):
    run = db.session.scalar(
        select(PayoutRun)
        .where(PayoutRun.id == run_id)
        .options(selectinload(PayoutRun.payouts).joinedload(Payout.seller))
    )
    if run is None:
        raise NotFound(_l("No such payout run."))
    return run


@dataclass
class RunTotals:
    """A run's payouts by status: how many, and their amounts (satang)."""

    to_pay: int = 0
    to_pay_satang: int = 0
    paid: int = 0
    paid_satang: int = 0
    failed: int = 0
    failed_satang: int = 0

    @property
    def count(self):
        return self.to_pay + self.paid + self.failed

    @classmethod
    def of(cls, payouts):
        totals = cls()
        for payout in payouts:
            totals.add(payout.status, 1, payout.amount_satang)
        return totals

    def add(self, status, count, amount):
        name = {
            PayoutStatus.PENDING: "to_pay",
            PayoutStatus.PAID: "paid",
            PayoutStatus.FAILED: "failed",
        }[PayoutStatus(status)]
        setattr(self, name, getattr(self, name) + count)
        setattr(self, f"{name}_satang", getattr(self, f"{name}_satang") + amount)


@dataclass
class RunSummary:
    run: PayoutRun
    totals: RunTotals


def runs(*, limit):
    """The latest ``limit`` payout runs, newest first, each with its payouts counted and added up by
    status (two queries)."""
    found = db.session.scalars(select(PayoutRun).order_by(PayoutRun.id.desc()).limit(limit)).all()
    totals = {run.id: RunTotals() for run in found}
    if totals:
        for run_id, status, count, amount in db.session.execute(
            select(Payout.run_id, Payout.status, func.count(), func.sum(Payout.amount_satang))
            .where(Payout.run_id.in_(list(totals)))
            .group_by(Payout.run_id, Payout.status)
        ):
            totals[run_id].add(status, int(count), int(amount))
    return [RunSummary(run, totals[run.id]) for run in found]


def owed_by(seller_ids):
    """``{seller_id: satang}`` the sellers owe the marketplace now (their receivable), for
    those who owe anything (one query)."""
    if not seller_ids:
        return {}
    rows = db.session.execute(
        select(Account.seller_id, Account.balance_satang).where(
            Account.kind == AccountKind.SELLER_RECEIVABLE,
            Account.seller_id.in_(list(seller_ids)),
            Account.balance_satang != 0,  # never below 0
        )
    )
    return {seller_id: int(amount) for seller_id, amount in rows}


def get_payout(payout_id, run_id=None):
    """The payout (of run ``run_id``, when given: a payout of another run is not found)."""
    payout = db.session.get(Payout, payout_id)
    if payout is None or (run_id is not None and payout.run_id != run_id):
        raise NotFound(_l("No such payout."))
    return payout


def _locked_payout(payout):
    """Lock the payout's row, then read it again, so two changes to it take turns.

    Called with the seller's accounts locked already (:func:`proceeds.lock`): on SQLite,
    whose ``FOR UPDATE`` is a no-op and whose driver reads outside any transaction until the
    first write, that lock is what makes this read the latest one.
    """
    # Which rows are locked is PostgreSQL's concern (SQLite, where mutation runs, locks the
    # database when the seller's accounts are locked).
    db.session.execute(
        select(Payout.id).where(Payout.id == payout.id).with_for_update()  # pragma: no mutate
    )
    db.session.refresh(payout)
    return payout


def _settle(payout, status, **values):
    """Move the payout from pending to ``status`` with one conditional write
    (``UPDATE … WHERE status = 'pending'``); a Conflict when another request settled it
    first, whatever the database's locking."""
    result = db.session.execute(
        update(Payout)
        # The status test is a second guard behind the seller's lock and the read after it
        # (which hold two admins at once apart: test_paid_and_failed_at_the_same_moment_…):
        # while the lock holds, no test can reach it.
        .where(Payout.id == payout.id, Payout.status == PayoutStatus.PENDING)  # pragma: no mutate
        .values(status=status, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_l("Another admin has just recorded this payout. Reload the page."))
    db.session.refresh(payout)


def check_paid_on(paid_on, *, today, run_started=None):
    """The day of a transfer: not in the future, and not before its run started (Bangkok
    days); a DomainError naming ``paid_on``. Forms call it too, to show every error at once."""
    if paid_on > today:
        raise DomainError(_l("A payout cannot be paid in the future."), field="paid_on")
    if run_started is not None and paid_on < to_bangkok(run_started).date():
        raise DomainError(_l("A payout cannot be paid before its run started."), field="paid_on")


def mark_paid(actor, payout, *, bank_reference, paid_on, now=None):
    """The admin sent the money: record the bank's reference and the day; cash goes down.

    Returns ``(payout, changed)``. The same reference and day again change nothing;
    anything else for a paid payout (another reference or day, or input that would be
    refused for a pending one), or any call for a failed one, is a Conflict. The seller's
    accounts are locked before the payout's status is read, and the status changes with a
    conditional write, so two admins at once (paid and paid, or paid and failed) give one
    change and one Conflict on SQLite and PostgreSQL alike. The seller's members are told
    by mail (through the outbox).
    """
    _require_admin(actor)
    now = now or utcnow()
    if isinstance(paid_on, datetime) or not isinstance(paid_on, date):
        raise TypeError(f"paid_on is a date, got {type(paid_on).__name__}")
    reference = (bank_reference or "").strip()
    accounts = proceeds.lock([payout.seller_id])[payout.seller_id]
    _locked_payout(payout)
    if payout.status == PayoutStatus.PAID:
        if payout.bank_reference == reference and payout.paid_on == paid_on:
            return payout, False  # the same call again (a retry, a double click)
        raise Conflict(
            _l(
                "This payout is already paid, with reference %(reference)s.",
                reference=payout.bank_reference,
            ),
            field="bank_reference",
        )
    if payout.status == PayoutStatus.FAILED:
        raise Conflict(_l("This payout failed; its amount is available to the seller again."))
    if not reference:
        raise DomainError(_l("Enter the bank reference of the transfer."), field="bank_reference")
    if len(reference) > REFERENCE_LENGTH:
        raise DomainError(
            _l("A bank reference has at most %(count)d characters.", count=REFERENCE_LENGTH),
            field="bank_reference",
        )
    check_paid_on(paid_on, today=to_bangkok(now).date(), run_started=payout.created_at)
    _settle(
        payout,
        PayoutStatus.PAID,
        bank_reference=reference,
        paid_on=paid_on,
        paid_at=now,
        paid_by_id=actor.id if actor is not None else None,
    )
    ledger.post(
        ledger.Posting(
            key=f"payout:{payout.id}:paid",
            kind=EntryKind.PAYOUT,
            lines=[
                (accounts.in_payout, payout.amount_satang),
                (ledger.cash(), -payout.amount_satang),
            ],
            # Dated by the transfer, as remittances are.
            occurred_at=noon_in_bangkok(paid_on),
            memo=reference,
            dims={"seller_id": payout.seller_id},
        )
    )
    audit.payout_paid(
        actor,
        payout,
        seller_id=payout.seller_id,
        amount_satang=payout.amount_satang,
        detail={"bank_reference": reference, "paid_on": paid_on.isoformat(), "run": payout.run_id},
    )
    outbox.enqueue("tasks.payouts.payout_paid", payout_id=payout.id)
    return payout, True


def mark_failed(actor, payout, *, reason, now=None):
    """The money did not reach the seller: the amount is theirs again (after settling what
    they owe, if a refund came meanwhile). Returns ``(payout, changed)``.

    The same reason again changes nothing (``changed`` False: a retry is harmless); another
    reason for a failed payout, or any for a paid one, is a Conflict. Locked and written as
    :func:`mark_paid` is. The seller's members are told by mail (through the outbox).
    """
    _require_admin(actor)
    now = now or utcnow()
    reason = (reason or "").strip()
    accounts = proceeds.lock([payout.seller_id])[payout.seller_id]
    _locked_payout(payout)
    if payout.status == PayoutStatus.FAILED:
        if payout.failure_reason == reason:
            return payout, False
        raise Conflict(_l("This payout has already failed."), field="reason")
    if payout.status == PayoutStatus.PAID:
        raise Conflict(_l("This payout is already paid."))
    if not reason:
        raise DomainError(_l("Say why the payout failed."), field="reason")
    if len(reason) > REASON_LENGTH:
        raise DomainError(
            _l("A reason has at most %(count)d characters.", count=REASON_LENGTH), field="reason"
        )
    _settle(
        payout,
        PayoutStatus.FAILED,
        failure_reason=reason,
        failed_at=now,
        failed_by_id=actor.id if actor is not None else None,
    )
    amount = payout.amount_satang
    to_available, to_owed = released(
        amount, accounts.available.balance_satang, accounts.receivable.balance_satang
    )
    ledger.post(
        ledger.Posting(
            key=f"payout:{payout.id}:failed",
            kind=EntryKind.PAYOUT_FAILED,
            lines=[
                (accounts.in_payout, amount),
                (accounts.available, -to_available),
                (accounts.receivable, to_owed),
            ],
            occurred_at=now,
            memo=reason[:200],
            dims={"seller_id": payout.seller_id},
        )
    )
    audit.payout_failed(
        actor,
        payout,
        seller_id=payout.seller_id,
        amount_satang=amount,
        detail={"reason": reason, "run": payout.run_id},
    )
    outbox.enqueue("tasks.payouts.payout_failed", payout_id=payout.id)
    return payout, True


# Statements

#: What each journal entry is on a seller's statement.
STATEMENT_KINDS = {
    EntryKind.PAYMENT: "proceeds",
    EntryKind.LEVY: "levy",
    EntryKind.LEVY_REVERSAL: "levy_reversal",
    EntryKind.FEE: "platform_fee",
    EntryKind.FEE_REVERSAL: "platform_fee_reversal",
    EntryKind.REFUND: "refund",
    EntryKind.PAYOUT_RESERVE: "payout_reserved",
    EntryKind.PAYOUT: "payout",
    EntryKind.PAYOUT_FAILED: "payout_failed",
}
#: Moves between the seller's own accounts that are lines all the same, so that a seller
#: sees a payout on its way and one that failed (they change nothing in all: amount 0).
PAYOUT_STEPS = (EntryKind.PAYOUT_RESERVE, EntryKind.PAYOUT_FAILED)


@dataclass
class StatementLine:
    kind: str
    occurred_at: datetime
    order_id: int | None
    order_number: str | None
    description: str
    #: How the line moves what the marketplace owes the seller (negative: less).
    amount_satang: int
    #: What the marketplace owes the seller after the line (negative: the seller owes).
    balance_satang: int
    #: The payout a payout line is about (reserved, paid or failed), and its amount.
    payout_id: int | None = None
    payout_satang: int | None = None


@dataclass
class StatementTotals:
    opening_balance_satang: int = 0
    closing_balance_satang: int = 0
    proceeds_satang: int = 0
    levies_satang: int = 0
    platform_fees_satang: int = 0
    refunds_satang: int = 0
    payouts_satang: int = 0
    pending_satang: int = 0
    available_satang: int = 0
    in_payout_satang: int = 0
    paid_out_satang: int = 0
    owed_satang: int = 0


@dataclass
class Statement:
    seller_id: int
    start: date
    end: date
    lines: list
    totals: StatementTotals


def _seller_account_ids(seller_id):
    return [
        acct.id
        for kind in proceeds.KINDS
        if (acct := ledger.find_account(kind, seller_id=seller_id)) is not None
    ]


def statement(seller_id, start, end):
    """Every movement of the seller's money in the period (Bangkok days, both inclusive),
    in order (by day, then as posted), with a running balance; and the totals, with the
    balances now.

    A line is a journal entry that changes what the marketplace owes the seller: proceeds
    (a shipment's goods and shipping), levies by fund, platform fees, refunds, the levy and
    fee shares refunds give back, payouts paid. Moves between the seller's own accounts
    change nothing in all and are not lines (releases), except a payout's reservation and
    its failure: those are lines of amount 0 with the payout's amount beside them, so the
    seller sees a payout on its way, and one that came back (with the reason). The closing
    balance is the ledger's: pending + available + in payout − owed.
    """
    account_ids = _seller_account_ids(seller_id)
    totals = StatementTotals()
    lines = []
    if account_ids:
        moved = -func.sum(JournalLine.amount_satang)  # a liability's credit is the seller's
        opening = db.session.scalar(
            select(func.coalesce(moved, 0))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalLine.account_id.in_(account_ids), JournalEntry.local_date < start)
        )
        totals.opening_balance_satang = int(opening)
        in_payout = ledger.find_account(AccountKind.SELLER_IN_PAYOUT, seller_id=seller_id)
        in_payout_id = in_payout.id if in_payout is not None else None  # None: no payout yet
        # What the entry moved into (or out of) "in payout": only payout lines read it.
        to_payout = -func.sum(
            case((JournalLine.account_id == in_payout_id, JournalLine.amount_satang))
        )
        rows = db.session.execute(
            select(JournalEntry, moved, to_payout)
            .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
            .where(
                JournalLine.account_id.in_(account_ids),
                JournalEntry.local_date.between(start, end),
            )
            .group_by(JournalEntry.id)
            .having(
                or_(func.sum(JournalLine.amount_satang) != 0, JournalEntry.kind.in_(PAYOUT_STEPS))
            )
            # By day, then as posted (a payout is dated by its transfer's day, at noon).
            .order_by(JournalEntry.local_date, JournalEntry.id)
        ).all()
        lines = _statement_lines(seller_id, rows, totals)
    totals.closing_balance_satang = totals.opening_balance_satang + sum(
        line.amount_satang for line in lines
    )
    now_balance = proceeds.balance(seller_id)
    totals.pending_satang = now_balance.pending_satang
    totals.available_satang = now_balance.available_satang
    totals.in_payout_satang = now_balance.in_payout_satang
    totals.paid_out_satang = now_balance.paid_out_satang
    totals.owed_satang = now_balance.owed_satang
    return Statement(seller_id, start, end, lines, totals)


def _payout_id(entry):
    """The payout a ``payout:{id}:{step}`` entry is about."""
    return int(entry.key.split(":")[1])


def _statement_lines(seller_id, rows, totals):
    """The rows as lines with their descriptions and running balance; adds up ``totals``."""
    order_ids = {entry.order_id for entry, *_moved in rows if entry.order_id is not None}
    numbers = dict(
        db.session.execute(select(Order.id, Order.number).where(Order.id.in_(order_ids))).all()
    )
    items_by_order = {}
    item_names = {}
    for item in db.session.scalars(
        select(OrderItem)
        .join(Shipment, Shipment.id == OrderItem.shipment_id)
        # Only the statement's orders (any other order's items are never looked up).
        .where(OrderItem.order_id.in_(order_ids))  # pragma: no mutate
        .where(Shipment.seller_id == seller_id)
        .order_by(OrderItem.id)  # pragma: no mutate (SQLite reads them in id order anyway)
    ):
        items_by_order.setdefault(item.order_id, []).append(f"{item.name} × {item.quantity}")
        item_names[item.id] = item.name
    fund_ids = {entry.fund_id for entry, *_moved in rows if entry.fund_id is not None}
    funds = {
        fund.id: localized(fund.name_th, fund.name_en)
        # Only the funds the statement names (any other is never looked up).
        for fund in db.session.scalars(
            select(Fund).where(Fund.id.in_(fund_ids))
        )  # pragma: no mutate
    }
    balance = totals.opening_balance_satang
    lines = []
    for entry, moved, to_payout in rows:
        kind = STATEMENT_KINDS[entry.kind]  # remittances and releases never move it
        amount = int(moved)
        balance += amount
        payout_id = payout_amount = None
        # Levies and fees are posted per order item (with its fund), proceeds per order.
        if kind == "proceeds":
            description = ", ".join(items_by_order[entry.order_id])
            totals.proceeds_satang += amount
        elif kind in ("levy", "levy_reversal"):
            description = f"{funds[entry.fund_id]}: {item_names[entry.order_item_id]}"
            totals.levies_satang -= amount
        elif kind in ("platform_fee", "platform_fee_reversal"):
            description = item_names[entry.order_item_id]
            totals.platform_fees_satang -= amount
        elif kind == "refund":
            description = entry.memo
            totals.refunds_satang -= amount
        else:  # a payout reserved, paid or failed
            payout_id = _payout_id(entry)
            payout_amount = abs(int(to_payout))
            if kind == "payout":
                description = entry.memo  # the bank's reference
                totals.payouts_satang -= amount
            elif kind == "payout_reserved":
                description = f"TC-PAYOUT-{payout_id}"  # the transfer's reference
            else:
                description = entry.memo  # why it failed
        lines.append(
            StatementLine(
                kind=kind,
                occurred_at=entry.occurred_at,
                order_id=entry.order_id,
                order_number=numbers.get(entry.order_id),
                description=description,
                amount_satang=amount,
                balance_satang=balance,
                payout_id=payout_id,
                payout_satang=payout_amount,
            )
        )
    return lines


def statement_csv(found, seller_name, labels, headings, language, *, today):
    """The statement as CSV text: UTF-8 with a BOM (so Excel shows Thai), Bangkok dates in
    the language's calendar (Buddhist Era in Thai), amounts in baht. The period's totals
    come first, then the balances now (``today``), each under its own heading."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)

    def day(value):
        return format_date(value, "short", language)

    writer.writerow([headings["seller"], _cell(seller_name)])
    writer.writerow([headings["period"], day(found.start), day(found.end)])
    writer.writerow([headings["opening"], baht_text(found.totals.opening_balance_satang)])
    writer.writerow([])
    writer.writerow(
        [
            headings["date"],
            headings["kind"],
            headings["order"],
            headings["description"],
            headings["amount"],
            headings["balance"],
            headings["payout_amount"],
        ]
    )
    for line in found.lines:
        writer.writerow(
            [
                day(line.occurred_at),
                labels[line.kind],
                line.order_number or "",
                _cell(line.description),
                baht_text(line.amount_satang),
                baht_text(line.balance_satang),
                baht_text(line.payout_satang) if line.payout_satang is not None else "",
            ]
        )
    writer.writerow([])
    totals = found.totals
    for name in ("closing_balance", "proceeds", "levies", "platform_fees", "refunds", "payouts"):
        writer.writerow([headings[name], baht_text(getattr(totals, f"{name}_satang"))])
    writer.writerow([])
    writer.writerow([headings["now"], day(today)])
    for name in ("pending", "available", "in_payout", "paid_out", "owed"):
        writer.writerow([headings[name], baht_text(getattr(totals, f"{name}_satang"))])
    return buffer.getvalue()


def _cell(text):
    """Text as a CSV cell, never a formula: Excel runs cells that start with = + - @."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


_DIGITS = re.compile(r"[0-9]+")


def _digits_as_text(text):
    """A number that must stay text in a spreadsheet (an account number or PromptPay ID:
    Excel drops leading zeros and rounds long numbers): ``="0201234567"``, a formula that
    only gives back the digits. Anything but digits is an ordinary, formula-safe cell."""
    text = str(text or "")
    return f'="{text}"' if _DIGITS.fullmatch(text) else _cell(text)


def bank_transfer_csv(run, headings, status_labels):
    """The run's payouts still to be sent, one transfer a row, for a bank's bulk transfer:
    UTF-8 with a BOM, amounts in baht with two decimals, account numbers and PromptPay IDs
    kept as text (leading zeros and all), the payout number as the transfer's reference
    (what the admin then records as paid), and each row's status. Payouts paid or failed
    are not in it, so the file never sends one twice (its name says "to pay")."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(
        [
            headings["number"],
            headings["payout"],
            headings["seller"],
            headings["bank"],
            headings["account_number"],
            headings["account_name"],
            headings["promptpay"],
            headings["amount"],
            headings["reference"],
            headings["status"],
        ]
    )
    waiting = [p for p in run.payouts if p.status == PayoutStatus.PENDING]
    for number, payout in enumerate(waiting, start=1):
        writer.writerow(
            [
                number,
                payout.id,
                _cell(payout.seller.name_th),
                _cell(payout.bank_name),
                _digits_as_text(payout.bank_account_number),
                _cell(payout.bank_account_name),
                _digits_as_text(payout.promptpay_id),
                baht_text(payout.amount_satang),
                f"TC-PAYOUT-{payout.id}",
                status_labels[payout.status],
            ]
        )
    return buffer.getvalue()
