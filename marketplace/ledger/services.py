"""Posting to the ledger: idempotent, balanced, hash-chained, append-only.

``post`` is the one way an entry is written. It locks the accounts it touches (in id
order), so concurrent postings to one fund take turns; checks the idempotency key again
under the lock; appends to the chain; updates the balances and the per-day levy totals.
"""

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from marketplace import append_only
from marketplace.audit import services as audit
from marketplace.dbtypes import insert_for, utcnow
from marketplace.errors import Conflict, DomainError, Forbidden
from marketplace.extensions import db
from marketplace.i18n import noon_in_bangkok, to_bangkok
from marketplace.ledger.models import (
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
from marketplace.money import format_satang

MAIN_CHAIN = "main"


class LedgerError(Exception):
    """A posting that would break the ledger's rules; a programming error, not user input."""


# Accounts


def _account_code(kind, seller_id=None, fund_id=None):
    return {
        AccountKind.CASH: "cash",
        AccountKind.SELLER_PAYABLE: f"seller:{seller_id}",
        AccountKind.FUND_PAYABLE: f"fund:{fund_id}",
        AccountKind.FUND_RECEIVABLE: f"fund-receivable:{fund_id}",
        AccountKind.PLATFORM_REVENUE: "platform-revenue",
        AccountKind.SELLER_AVAILABLE: f"seller-available:{seller_id}",
        AccountKind.SELLER_IN_PAYOUT: f"seller-payout:{seller_id}",
        AccountKind.SELLER_RECEIVABLE: f"seller-receivable:{seller_id}",
    }[kind]


def account(kind, *, seller_id=None, fund_id=None):
    """The account, created on first use (a concurrent creator wins, and is then read).

    Remembered in the session by code, so a task that names the same account many times
    reads it once; a remembered id is used only while it still holds that code.
    """
    code = _account_code(kind, seller_id, fund_id)
    known = db.session.info.setdefault("ledger_account_ids", {})  # pragma: no mutate (a name)
    if code in known:
        row = db.session.get(Account, known[code])
        if row is not None and row.code == code:
            return row
    found = db.session.scalar(select(Account).where(Account.code == code))
    if found is None:
        try:
            with db.session.begin_nested():
                db.session.add(Account(code=code, kind=kind, seller_id=seller_id, fund_id=fund_id))
        except IntegrityError:
            pass
        found = db.session.scalar(select(Account).where(Account.code == code))
    known[code] = found.id
    return found


def find_account(kind, *, seller_id=None, fund_id=None):
    """The account if it exists, else None; never creates one (for reads: a GET writes
    nothing)."""
    code = _account_code(kind, seller_id, fund_id)
    return db.session.scalar(select(Account).where(Account.code == code))


def cash():
    return account(AccountKind.CASH)


def seller_payable(seller_id):
    return account(AccountKind.SELLER_PAYABLE, seller_id=seller_id)


def fund_payable(fund_id):
    return account(AccountKind.FUND_PAYABLE, fund_id=fund_id)


def fund_receivable(fund_id):
    return account(AccountKind.FUND_RECEIVABLE, fund_id=fund_id)


def platform_revenue():
    return account(AccountKind.PLATFORM_REVENUE)


def lock(accounts):
    """Lock the accounts' rows for this transaction, in id order; return them fresh.

    PostgreSQL locks the rows (``FOR UPDATE`` waits for the holder to commit). SQLite has
    no row locks, and Python's driver reads outside any transaction until the first write:
    a no-op write to the rows takes the database's write lock first, so the balances read
    next are the latest and nobody else posts until this transaction ends.
    """
    ids = sorted({a.id for a in accounts})
    if db.session.get_bind().dialect.name == "sqlite":
        _lock_sqlite(ids)
    rows = db.session.scalars(
        select(Account)
        .where(Account.id.in_(ids))
        .order_by(Account.id)  # pragma: no mutate (PostgreSQL's lock order; SQLite locks all)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {row.id: row for row in rows}


def _lock_sqlite(ids):
    """Take SQLite's write lock (waiting the driver's timeout); a Conflict if it stays busy."""
    table = Account.__table__
    # Any write takes the lock (the database's, not the rows'): which rows is not tested.
    rows = update(table).where(table.c.id.in_(ids))  # pragma: no mutate
    try:
        db.session.execute(rows.values(balance_satang=table.c.balance_satang))
    except OperationalError as error:
        if "locked" not in str(error.orig):
            raise
        raise Conflict(
            _l("Another payment or remittance is being recorded right now. Please try again.")
        ) from None


_BATCH = "ledger_batch"


@contextmanager
def batch(accounts, keys=()):
    """Post many entries in this transaction under one lock (levy routing of many orders).

    Locks ``accounts`` once, in id order; postings in the block to those accounts take no
    lock again, and each chain is extended from the head the batch keeps instead of being
    read back per entry. Postings to other accounts lock them as usual.

    ``keys`` are the idempotency keys the block may post: which of them are posted already
    is read once, under the lock, instead of once per posting. Entries, lines, balances and
    the levy totals are written together when the block ends (a few multi-row statements
    for the whole batch), so the block must not read them back from the database.

    The kept heads and keys are safe because nobody else can append to those chains, or
    post those keys, meanwhile: every entry of the main chain touches the cash account, and
    every entry of a fund's chain that fund's accounts, all locked here; each key is posted
    only by postings that touch the accounts locked for it. A new kind of entry on the main
    chain that does not touch cash must take a lock every main-chain posting takes (or
    batches must read the head back again).
    """
    locked = lock(accounts)
    keys = sorted(set(keys))
    posted = set()
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        posted.update(
            db.session.scalars(select(JournalEntry.key).where(JournalEntry.key.in_(chunk)))
        )
    held = {"locked": locked, "heads": {}, "keys": set(keys), "posted": posted, "totals": {}}
    db.session.info[_BATCH] = held
    try:
        yield locked
        db.session.flush()
        for model, rows in held["totals"].items():
            _upsert_totals(model, [{**key, **amounts} for key, amounts in rows.values()])
    finally:
        db.session.info.pop(_BATCH, None)


def _lock_for(accounts):
    """``lock(accounts)``, unless a batch holds them all already."""
    held = db.session.info.get(_BATCH)
    if held is not None and all(a.id in held["locked"] for a in accounts):
        return held["locked"]
    return lock(accounts)


def _chain_head(chain):
    """(seq, hash) of the chain's last entry, or None; a batch remembers what it wrote."""
    held = db.session.info.get(_BATCH)
    if held is not None and chain in held["heads"]:
        return held["heads"][chain]
    # A chain the batch has not written to has nothing waiting to be flushed: writing the
    # batch's other entries now would only split them into more statements.
    with db.session.no_autoflush:
        return db.session.execute(
            select(JournalEntry.seq, JournalEntry.hash)
            .where(JournalEntry.chain == chain)
            .order_by(JournalEntry.seq.desc())
            .limit(1)  # pragma: no mutate (.first() reads one row either way)
        ).first()


def natural(account_row, amount):
    """How a line's signed amount (debit +) moves the account's natural balance."""
    return amount if account_row.is_asset else -amount


# Entries


@dataclass
class Posting:
    """What to post; ``lines`` are ``(account, signed amount)`` pairs."""

    key: str
    kind: EntryKind
    lines: list
    occurred_at: object
    memo: str = ""
    dims: dict = field(default_factory=dict)


HASHED_FIELDS = (
    "key",
    "kind",
    "memo",
    "chain",
    "seq",
    "local_date",
    "order_id",
    "order_item_id",
    "order_item_levy_id",
    "refund_id",
    "remittance_id",
    "fund_id",
    "seller_id",
    "product_id",
    "buyer_province_code",
    "levy_satang",
    "units",
)


def entry_hash(entry, lines):
    """sha256 of the previous hash and the entry's content, lines included.

    ``entry`` and ``lines`` are ORM rows, or plain dicts with the same names (an entry
    read back from an export, see ``export.py``): one function hashes both.
    """
    content = hashed_fields(entry)
    content["lines"] = sorted(
        [_field(line, "account_id"), _field(line, "amount_satang")] for line in lines
    )
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((_field(entry, "prev_hash") + text).encode()).hexdigest()


def hashed_fields(entry):
    """The entry's hashed fields (lines apart) as plain JSON values, as the hash sees them."""
    content = {name: _plain(_field(entry, name)) for name in HASHED_FIELDS}
    content["occurred_at"] = _plain(_field(entry, "occurred_at"))  # a datetime: isoformat()
    return content


def _field(row, name):
    return row[name] if isinstance(row, dict) else getattr(row, name)


def _plain(value):
    """JSON's own value: dates and datetimes as ISO text (an entry's kind, a StrEnum, is
    already its text)."""
    if isinstance(value, date):
        return value.isoformat()
    return value


def existing(key):
    return db.session.scalar(select(JournalEntry).where(JournalEntry.key == key))


def is_posted(key):
    """Whether an entry with this idempotency key exists (a batch knows its own keys)."""
    held = db.session.info.get(_BATCH)
    if held is not None and key in held["keys"]:
        return key in held["posted"]
    return existing(key) is not None


def post(posting):
    """Write the entry once; return ``(entry, created)``. A known key changes nothing (in a
    batch that knows the key, the earlier entry is not read back: ``(None, False)``)."""
    lines = [(acct, amount) for acct, amount in posting.lines if amount != 0]
    if not lines or sum(amount for _acct, amount in lines) != 0:
        raise LedgerError(f"entry {posting.key} does not balance: {lines}")
    locked = _lock_for([acct for acct, _amount in lines])
    held = db.session.info.get(_BATCH)
    # Checked under the lock: a concurrent posting of this key has committed, or not begun.
    if held is not None and posting.key in held["keys"]:
        if posting.key in held["posted"]:
            return None, False
    else:
        found = existing(posting.key)
        if found is not None:
            return found, False
    touched = [locked[acct.id] for acct, _amount in lines]
    fund_ids = {row.fund_id for row in touched if row.fund_id is not None}
    if len(fund_ids) > 1:
        raise LedgerError(f"entry {posting.key} touches more than one fund")
    chain = f"fund:{fund_ids.pop()}" if fund_ids else MAIN_CHAIN
    last = _chain_head(chain)
    entry = JournalEntry(
        key=posting.key,
        kind=posting.kind,
        chain=chain,
        seq=(last[0] + 1) if last else 1,
        prev_hash=last[1] if last else "",
        occurred_at=posting.occurred_at,
        local_date=to_bangkok(posting.occurred_at).date(),
        memo=posting.memo,
        **{"levy_satang": 0, "units": 0, **posting.dims},
    )
    journal_lines = [
        JournalLine(account_id=acct.id, amount_satang=amount) for acct, amount in lines
    ]
    entry.hash = entry_hash(entry, journal_lines)
    entry.lines = journal_lines
    db.session.add(entry)
    if held is not None:
        held["heads"][chain] = (entry.seq, entry.hash)
        held["posted"].add(entry.key)  # pragma: no mutate (a batch meets each key once)
    for acct, amount in lines:
        row = locked[acct.id]
        row.balance_satang += natural(row, amount)
    if entry.levy_satang:
        _count_levy_day(entry, held)
    if held is None:
        db.session.flush()  # a batch writes its entries together when it ends
    return entry, True


def _count_levy_day(entry, held=None):
    """Keep the per-day and per-month totals the reports read: one upsert per table, or,
    in a batch, added to the batch's totals and upserted once when it ends."""
    month = entry.local_date.replace(day=1)
    rows = {
        FundLevyDay: [
            {
                "fund_id": entry.fund_id,
                "day": entry.local_date,
                "seller_id": entry.seller_id,
                "product_id": entry.product_id,
                "buyer_province_code": entry.buyer_province_code,
            }
        ],
        FundLevyMonth: [
            {"fund_id": entry.fund_id, "month": month, "dimension": dimension, "key": str(key)}
            for dimension, key in (
                (LevyDimension.PRODUCT, entry.product_id),
                (LevyDimension.SELLER, entry.seller_id),
                (LevyDimension.PROVINCE, entry.buyer_province_code),
            )
        ],
    }
    amounts = _levy_amounts(entry)
    for model, keys in rows.items():
        if held is None:
            _upsert_totals(model, [{**key, **amounts} for key in keys])
            continue
        totals = held["totals"].setdefault(model, {})
        for key in keys:
            name = tuple(key[column] for column in _TOTALS_KEYS[model])
            if name not in totals:
                totals[name] = (key, dict.fromkeys(amounts, 0))
            added = totals[name][1]
            for column, amount in amounts.items():
                added[column] += amount


#: The unique key of each totals table (its upsert's conflict target).
_TOTALS_KEYS = {
    FundLevyDay: ("fund_id", "day", "seller_id", "product_id", "buyer_province_code"),
    FundLevyMonth: ("fund_id", "month", "dimension", "key"),
}


#: What a levy entry adds to its totals rows.
_TOTALS_AMOUNTS = ("accrued_satang", "accrued_units", "reversed_satang", "reversed_units")
_NOTHING_ADDED = dict.fromkeys(_TOTALS_AMOUNTS, 0)


def _levy_amounts(entry):
    """What the entry adds to its totals rows: an accrual (a positive levy) or a reversal."""
    if entry.levy_satang > 0:  # pragma: no mutate (a levy of 0 never reaches it: >= 0 is one)
        return {**_NOTHING_ADDED, "accrued_satang": entry.levy_satang, "accrued_units": entry.units}
    return {**_NOTHING_ADDED, "reversed_satang": -entry.levy_satang, "reversed_units": entry.units}


def _upsert_totals(model, rows):
    """Add each row's amounts to the totals row named by its key, creating those that are
    missing, with ``INSERT … ON CONFLICT DO UPDATE`` (PostgreSQL and SQLite both have it):
    one statement, compiled once and run for every row."""
    table = model.__table__
    insert = insert_for(db.session, table)
    upsert = insert.on_conflict_do_update(
        index_elements=_TOTALS_KEYS[model],  # pragma: no mutate (SQLite needs none; see README)
        set_={name: table.c[name] + insert.excluded[name] for name in _TOTALS_AMOUNTS},
    )
    db.session.execute(upsert, rows)


# Remittances


def record_remittance(actor, fund, *, amount_satang, remitted_on, bank_reference):
    """Money sent to the fund's bank account on the Bangkok day ``remitted_on``: fund
    payable down, cash down.

    A treasurer of the fund or an admin records it; more than the fund is owed is refused.
    """
    if not (actor.is_admin or actor.is_treasurer_of(fund.id)):
        raise Forbidden(_l("You are not a treasurer of this fund."))
    if not isinstance(amount_satang, int) or isinstance(amount_satang, bool):
        raise TypeError(f"amount_satang is an int, got {type(amount_satang).__name__}")
    if type(remitted_on) is not date:  # a datetime is a date too
        raise TypeError(f"remitted_on is a date, got {type(remitted_on).__name__}")
    if amount_satang <= 0:
        raise DomainError(_l("The amount must be more than zero."), field="amount")
    if remitted_on > to_bangkok(utcnow()).date():
        raise DomainError(_l("A remittance cannot be dated in the future."), field="remitted_on")
    reference = (bank_reference or "").strip()[:100]
    if not reference:
        raise DomainError(_l("Enter the bank reference of the transfer."), field="bank_reference")
    payable, money = fund_payable(fund.id), cash()
    lock([payable, money])
    already = db.session.scalar(
        select(Remittance.id).where(
            Remittance.fund_id == fund.id, Remittance.bank_reference == reference
        )
    )
    if already is not None:  # the same transfer sent twice (a double click, a reload)
        raise Conflict(
            _l("A remittance with this bank reference is already recorded."),
            field="bank_reference",
        )
    owed = payable.balance_satang
    if amount_satang > owed:
        raise DomainError(
            _l("The fund is owed %(owed)s; a remittance cannot be more.", owed=format_satang(owed)),
            field="amount",
        )
    remittance = Remittance(
        fund_id=fund.id,
        amount_satang=amount_satang,
        remitted_on=remitted_on,
        bank_reference=reference,
        recorded_by_id=actor.id,
    )
    db.session.add(remittance)
    db.session.flush()
    post(
        Posting(
            key=f"remittance:{remittance.id}",
            kind=EntryKind.REMITTANCE,
            lines=[(payable, amount_satang), (money, -amount_satang)],
            # Dated by the transfer, so reports and the journal agree on the day.
            occurred_at=noon_in_bangkok(remitted_on),
            memo=reference,
            dims={"fund_id": fund.id, "remittance_id": remittance.id},
        )
    )
    audit.remittance_recorded(actor, remittance)
    return remittance


# The append-only guard


_refuse_changes = append_only.guard(
    (JournalEntry, JournalLine),
    lambda: LedgerError("journal entries and lines are append-only; post a reversal"),
)


def install():
    """Refuse, in the ORM, any change to a posted entry or line; idempotent."""
    append_only.install(_refuse_changes)
