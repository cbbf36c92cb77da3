"""Sellers get paid: payout runs, payouts paid or failed, statements, fees.

Services take typed values (satang ints, dates, ids), flush and never commit. The ledger
side (accounts, releases, balances) is marketplace/payouts/proceeds.py.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import selectinload

from marketplace.audit import services as audit
from marketplace.dbtypes import utcnow
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.i18n import BANGKOK, to_bangkok
from marketplace.ledger import services as ledger
from marketplace.ledger.models import Account, AccountKind, EntryKind, JournalEntry, JournalLine
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


def _payable_sellers(minimum):
    """Sellers with at least ``minimum`` available, somewhere to send it, and no payout
    waiting to be paid, in id order."""
    waiting = exists().where(Payout.seller_id == Seller.id, Payout.status == PayoutStatus.PENDING)
    return db.session.scalars(
        select(Seller)
        .join(Account, Account.seller_id == Seller.id)
        .where(
            Account.kind == AccountKind.SELLER_AVAILABLE,
            Account.balance_satang >= minimum,
            or_(
                Seller.promptpay_id != "",
                (Seller.bank_account_number != "") & (Seller.bank_name != ""),
            ),
            ~waiting,
        )
        .order_by(Seller.id)
    ).all()


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
        total_satang=0,
    )
    db.session.add(run)
    db.session.flush()
    sellers = _payable_sellers(minimum)
    locked = proceeds.lock([seller.id for seller in sellers])
    for seller in sellers:
        accounts = locked[seller.id]
        amount = accounts.available.balance_satang
        if amount < minimum:  # read again under the lock
            continue
        payout = Payout(
            run=run,
            seller_id=seller.id,
            amount_satang=amount,
            available_satang=amount,
            status=PayoutStatus.PENDING,
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


def runs(limit=50):
    """The latest payout runs, newest first."""
    return db.session.scalars(
        select(PayoutRun)
        .order_by(PayoutRun.id.desc())
        .limit(limit)
        .options(selectinload(PayoutRun.payouts))
    ).all()


def get_payout(payout_id, run_id=None):
    """The payout (of run ``run_id``, when given: a payout of another run is not found)."""
    payout = db.session.get(Payout, payout_id)
    if payout is None or (run_id is not None and payout.run_id != run_id):
        raise NotFound(_l("No such payout."))
    return payout


def _locked_payout(payout):
    """Lock the payout's row, then read it again, so two changes to it take turns."""
    db.session.execute(select(Payout.id).where(Payout.id == payout.id).with_for_update())
    db.session.refresh(payout)
    return payout


def _noon_in_bangkok(day):
    return datetime.combine(day, time(12), tzinfo=BANGKOK).astimezone(UTC)


def mark_paid(actor, payout, *, bank_reference, paid_on, now=None):
    """The admin sent the money: record the bank's reference and the day; cash goes down.

    Returns ``(payout, changed)``. The same reference and day again change nothing;
    another reference or day for a paid payout, or any for a failed one, is a Conflict.
    The seller's members are told by mail (through the outbox).
    """
    _require_admin(actor)
    now = now or utcnow()
    reference = (bank_reference or "").strip()
    if not reference:
        raise DomainError(_l("Enter the bank reference of the transfer."), field="bank_reference")
    if len(reference) > REFERENCE_LENGTH:
        raise DomainError(
            _l("A bank reference has at most %(count)d characters.", count=REFERENCE_LENGTH),
            field="bank_reference",
        )
    if not isinstance(paid_on, date) or isinstance(paid_on, datetime):
        raise DomainError(_l("Enter a date as YYYY-MM-DD."), field="paid_on")
    if paid_on > to_bangkok(now).date():
        raise DomainError(_l("A payout cannot be paid in the future."), field="paid_on")
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
    if paid_on < to_bangkok(payout.created_at).date():
        raise DomainError(_l("A payout cannot be paid before its run started."), field="paid_on")
    accounts = proceeds.lock([payout.seller_id])[payout.seller_id]
    payout.status = PayoutStatus.PAID
    payout.bank_reference = reference
    payout.paid_on = paid_on
    payout.paid_at = now
    payout.paid_by_id = actor.id if actor is not None else None
    db.session.flush()
    ledger.post(
        ledger.Posting(
            key=f"payout:{payout.id}:paid",
            kind=EntryKind.PAYOUT,
            lines=[
                (accounts.in_payout, payout.amount_satang),
                (ledger.cash(), -payout.amount_satang),
            ],
            # Dated by the transfer, as remittances are.
            occurred_at=_noon_in_bangkok(paid_on),
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
    they owe, if a refund came meanwhile). Returns ``(payout, changed)``; the same reason
    again changes nothing; a paid payout, or another reason, is a Conflict."""
    _require_admin(actor)
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Say why the payout failed."), field="reason")
    if len(reason) > REASON_LENGTH:
        raise DomainError(
            _l("A reason has at most %(count)d characters.", count=REASON_LENGTH), field="reason"
        )
    _locked_payout(payout)
    if payout.status == PayoutStatus.FAILED:
        if payout.failure_reason == reason:
            return payout, False
        raise Conflict(_l("This payout has already failed."), field="reason")
    if payout.status == PayoutStatus.PAID:
        raise Conflict(_l("This payout is already paid."))
    accounts = proceeds.lock([payout.seller_id])[payout.seller_id]
    payout.status = PayoutStatus.FAILED
    payout.failure_reason = reason
    payout.failed_at = now
    payout.failed_by_id = actor.id if actor is not None else None
    db.session.flush()
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
    return payout, True
