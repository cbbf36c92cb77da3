"""A seller's money in the ledger: pending, available, in payout, paid out, owed.

What a seller earns from one shipment (its proceeds) is its goods + the shipping charged
for it − the levies on its items − the platform fee. The ledger keeps it in four accounts
per seller, so that each state is an account balance the database checks, and every move
between them is a balanced, idempotent, hash-chained entry like any other:

==========================  ===============  ===========================================
account (code)              kind             holds
==========================  ===============  ===========================================
``seller:{id}``             seller_payable   **pending**: proceeds of paid shipments not
                                             released yet (the payment, levies, fees,
                                             refunds and reversals post here, as ever)
``seller-available:{id}``   seller_available **available**: released, free to be paid
``seller-payout:{id}``      seller_in_payout **in payout**: reserved by a payout not paid yet
``seller-receivable:{id}``  seller_receivable **owed** (an asset): refunds that came after
                                             the money was paid out
==========================  ===============  ===========================================

The last three can never go below zero (a CHECK constraint). What the marketplace owes a
seller in all is pending + available + in payout − owed; **paid out** is the sum of the
payouts paid (``payout:{id}:paid``, cash down).

A shipment's **pending share** is what its order's entries left on ``seller:{id}`` (each
of those entries names the order, and a seller has one shipment per order). It is
released ``PAYOUT_HOLD_DAYS`` after delivery:

- ``release:{shipment}`` moves the shipment's share off pending. Proceeds reaching the
  seller's released money settle what the seller owes first, the rest becomes available;
  a negative share (more refunded than earned) takes what is available first and leaves
  the seller owing the rest (:func:`marketplace.payouts.arithmetic.released`).
- A refund of a shipment already released still posts to pending (levy routing is
  unchanged); in the same transaction ``release:{shipment}:refund:{refund}`` moves the
  shipment's share on again, so the refund reduces what is available, or, once the money
  was paid out, leaves the seller owing: never a negative balance.

A first release records the hold it waited in its memo (``after a hold of N days``), which
``flask ledger verify`` checks against the delivery. A shipment refunded in full before its
release leaves nothing on pending: it has nothing to release and is no longer listed as due
(:func:`due_shipments`).

Releases are posted by the hourly beat task and by every payout run before it reserves
anything, each under the lock of cash (the main chain's head, see ``ledger.batch``) and of
the seller's accounts. Reading a balance posts nothing: shipments that are due but not
released yet are counted as released, with the same arithmetic, so a balance is right at
once (``PAYOUT_HOLD_DAYS=0`` makes delivered proceeds available at once) and a GET writes
nothing.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import String, cast, exists, func, literal, or_, select
from sqlalchemy.orm import aliased

from marketplace.dbtypes import utcnow
from marketplace.extensions import db
from marketplace.ledger import services as ledger
from marketplace.ledger.models import Account, AccountKind, EntryKind, JournalEntry, JournalLine
from marketplace.orders.models import Order, Shipment, ShipmentStatus
from marketplace.payouts.arithmetic import released

#: The seller's accounts, in the order :func:`accounts` returns them.
KINDS = (
    AccountKind.SELLER_PAYABLE,
    AccountKind.SELLER_AVAILABLE,
    AccountKind.SELLER_IN_PAYOUT,
    AccountKind.SELLER_RECEIVABLE,
)


@dataclass
class Accounts:
    pending: object
    available: object
    in_payout: object
    receivable: object

    def all(self):
        return [self.pending, self.available, self.in_payout, self.receivable]


def accounts(seller_id):
    """The seller's four accounts, created on first use (for postings)."""
    return Accounts(*(ledger.account(kind, seller_id=seller_id) for kind in KINDS))


def lock(seller_ids):
    """Lock cash and the sellers' accounts, in id order; ``{seller_id: Accounts}`` fresh.

    Every posting to a seller's released money holds cash: the entries go to the main
    chain, whose head only the holder of the cash lock may extend.
    """
    found = {seller_id: accounts(seller_id) for seller_id in sorted(set(seller_ids))}
    locked = ledger.lock([ledger.cash()] + [a for acct in found.values() for a in acct.all()])
    return {
        seller_id: Accounts(*(locked[a.id] for a in acct.all()))
        for seller_id, acct in found.items()
    }


def hold_days():
    return current_app.config["PAYOUT_HOLD_DAYS"]


def release_key(shipment_id):
    return f"release:{shipment_id}"


def pending_shares(account_id, order_ids):
    """``{order_id: satang}`` the orders' entries left on a seller's pending account."""
    if not order_ids:  # pragma: no mutate (saves a query that would find nothing)
        return {}
    if account_id is None:
        return {}
    rows = db.session.execute(
        select(JournalEntry.order_id, func.sum(JournalLine.amount_satang))
        .join(JournalEntry.lines)
        .where(JournalLine.account_id == account_id, JournalEntry.order_id.in_(order_ids))
        .group_by(JournalEntry.order_id)
    )
    return {order_id: -int(total) for order_id, total in rows}  # a liability: credit +


def _pending_share_of_shipment():
    """What the shipment's order left on its seller's pending account (a correlated scalar
    subquery of :data:`Shipment`): the seller's share, as :func:`pending_shares` reads it."""
    pending = aliased(Account)
    return (
        select(func.sum(JournalLine.amount_satang))  # NULL (not 0) with no entries: not due
        .join(JournalLine.entry)
        .join(JournalLine.account.of_type(pending))
        .where(
            JournalEntry.order_id == Shipment.order_id,
            pending.kind == AccountKind.SELLER_PAYABLE,  # pragma: no mutate (README)
            pending.seller_id == Shipment.seller_id,
        )
        .scalar_subquery()
    )


def earned(seller_id, order_ids):
    """``{order_id: satang}`` the seller's shipments of these orders earned, after refunds:
    goods + shipping − levies − fees − what refunds took back (net of the levy and fee
    shares they gave back), read from the ledger as the statement reads it (every entry of
    the order on the seller's pending account but the releases, which only move it on).
    Orders the ledger has not seen (not paid, or routing still waiting) are left out. One
    query, whatever the number of orders."""
    pending = ledger.find_account(AccountKind.SELLER_PAYABLE, seller_id=seller_id)
    if pending is None or not order_ids:
        return {}
    rows = db.session.execute(
        select(JournalEntry.order_id, func.sum(JournalLine.amount_satang))
        .join(JournalEntry.lines)
        .where(
            JournalLine.account_id == pending.id,
            JournalEntry.order_id.in_(list(order_ids)),
            JournalEntry.kind != EntryKind.RELEASE,
        )
        .group_by(JournalEntry.order_id)
    )
    return {order_id: -int(total) for order_id, total in rows}  # a liability: credit +


def due_shipments(now=None, seller_id=None):
    """Delivered shipments of paid orders whose hold is over and whose release is not
    posted: ``[(shipment id, order id, seller id)]`` in shipment order.

    A shipment whose order is in the ledger but left nothing on pending (refunded in full
    before its release) has nothing to release and is not listed, so it is not read again
    every hour; one whose order's payment is not posted yet (its routing waits in the
    outbox) is listed until it is.
    """
    cutoff = (now or utcnow()) - timedelta(days=hold_days())
    # Lines marked `no mutate` are implied by the others (README, "Mutation testing"): a
    # delivery time means delivered, only a paid order's parcels are sent, a release
    # leaves nothing on pending. They keep each run from reading every parcel released.
    key = literal("release:").concat(cast(Shipment.id, String))  # pragma: no mutate
    payment_key = literal("payment:").concat(cast(Shipment.order_id, String))
    query = (
        select(Shipment.id, Shipment.order_id, Shipment.seller_id)
        .join(Order, Order.id == Shipment.order_id)  # pragma: no mutate
        .where(
            Shipment.status == ShipmentStatus.DELIVERED,  # pragma: no mutate
            Shipment.delivered_at <= cutoff,
            Order.paid_at.is_not(None),  # pragma: no mutate
            ~exists().where(JournalEntry.key == key),  # pragma: no mutate
            or_(
                ~exists().where(JournalEntry.key == payment_key),
                _pending_share_of_shipment() != 0,
            ),
        )
        .order_by(Shipment.id)  # pragma: no mutate (any order releases the same)
    )
    if seller_id is not None:
        query = query.where(Shipment.seller_id == seller_id)
    return db.session.execute(query).all()


#: How a first release records the hold it waited (``flask ledger verify`` reads it back).
HOLD_MEMO = "shipment {shipment} after a hold of {days} days"
HOLD_PATTERN = re.compile(r"after a hold of (\d+) days$")


def _post_release(key, order_id, seller, amount, occurred_at, memo):
    """Move ``amount`` of a shipment's proceeds from pending to the released money."""
    to_available, to_owed = released(
        amount, seller.available.balance_satang, seller.receivable.balance_satang
    )
    _entry, new = ledger.post(
        ledger.Posting(
            key=key,
            kind=EntryKind.RELEASE,
            lines=[
                (seller.pending, amount),
                (seller.available, -to_available),
                (seller.receivable, to_owed),
            ],
            occurred_at=occurred_at,
            memo=memo,
            dims={"order_id": order_id, "seller_id": seller.pending.seller_id},
        )
    )
    return int(new)


def release_due(now=None):
    """Post the release of every shipment whose hold is over; return how many.

    A shipment whose order has left nothing on pending yet (its routing still waits in
    the outbox) is left for a later run.
    """
    now = now or utcnow()
    due = due_shipments(now)
    if not due:
        return 0
    locked = lock({row.seller_id for row in due})
    posted = 0
    for seller_id, seller in locked.items():
        mine = [row for row in due if row.seller_id == seller_id]
        shares = pending_shares(seller.pending.id, [row.order_id for row in mine])
        for row in mine:
            # Nothing left: the payment's routing still waits (or another run released it
            # meanwhile; its key could not be posted twice anyway).
            amount = shares.get(row.order_id, 0)
            if amount == 0:
                continue
            memo = HOLD_MEMO.format(shipment=row.id, days=hold_days())
            posted += _post_release(release_key(row.id), row.order_id, seller, amount, now, memo)
    return posted


def release_refunded(order, refund):
    """After a refund is posted: move on the share of each shipment already released
    (``release:{shipment}:refund:{refund}``), so the refund comes off the released money.
    Return how many entries were new."""
    done = [s for s in order.shipments if ledger.is_posted(release_key(s.id))]
    if not done:
        return 0
    locked = lock({s.seller_id for s in done})
    created = 0
    for shipment in done:
        seller = locked[shipment.seller_id]
        key = f"{release_key(shipment.id)}:refund:{refund.id}"
        # A released shipment's order is on its pending account (the payment, the release).
        amount = pending_shares(seller.pending.id, [order.id])[order.id]
        if amount == 0:  # the refund took nothing of this parcel, or was moved on already
            continue
        # Dated when it is posted: a refund recorded before the delivery can reach the
        # ledger after the release.
        memo = f"shipment {shipment.id}"
        created += _post_release(key, order.id, seller, amount, utcnow(), memo)
    return created


@dataclass
class Balance:
    pending_satang: int = 0
    available_satang: int = 0
    in_payout_satang: int = 0
    paid_out_satang: int = 0
    owed_satang: int = 0

    @property
    def total_satang(self):
        """What the marketplace owes the seller now, in all (negative: the seller owes)."""
        return (
            self.pending_satang + self.available_satang + self.in_payout_satang - self.owed_satang
        )


def paid_out(seller_id):
    """The payouts paid to the seller, in all: what left cash for them."""
    cash = ledger.find_account(AccountKind.CASH)
    if cash is None:
        return 0
    total = db.session.scalar(
        select(func.coalesce(func.sum(JournalLine.amount_satang), 0))
        .join(JournalLine.entry)
        .where(
            # Only a payout takes money out of cash with a seller named on it (README).
            JournalEntry.kind == EntryKind.PAYOUT,  # pragma: no mutate
            JournalEntry.seller_id == seller_id,
            JournalLine.account_id == cash.id,
        )
    )
    return -int(total)


def balance(seller_id, now=None):
    """The seller's balances now, from the ledger and the shipments; posts nothing.

    Shipments whose hold is over but whose release is not posted yet count as released.
    """
    found = {kind: ledger.find_account(kind, seller_id=seller_id) for kind in KINDS}
    held = {kind: (acct.balance_satang if acct else 0) for kind, acct in found.items()}
    result = Balance(
        pending_satang=held[AccountKind.SELLER_PAYABLE],
        available_satang=held[AccountKind.SELLER_AVAILABLE],
        in_payout_satang=held[AccountKind.SELLER_IN_PAYOUT],
        owed_satang=held[AccountKind.SELLER_RECEIVABLE],
        paid_out_satang=paid_out(seller_id),
    )
    pending = found[AccountKind.SELLER_PAYABLE]
    due = due_shipments(now, seller_id=seller_id)
    shares = pending_shares(pending.id if pending else None, [row.order_id for row in due])
    for row in due:
        amount = shares.get(row.order_id, 0)
        to_available, to_owed = released(amount, result.available_satang, result.owed_satang)
        result.pending_satang -= amount
        result.available_satang += to_available
        result.owed_satang += to_owed
    return result
