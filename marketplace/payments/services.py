"""What the marketplace asks Stripe and what Stripe tells it: PaymentIntents, refunds'
money, webhook events, and the issues they raise for admins. Services flush; the webhook
view, the order page's POST and the tasks commit once.

Stripe is never called inside a database transaction. Each call is split in three, and the
boundary (a task in ``tasks/payments.py``, a view) runs them in turn:

1. read what the call needs (:func:`intent_to_create`, :func:`refund_to_send`), a plain
   value, and end that read-only transaction;
2. call Stripe with no transaction open (:func:`create_intent`, :func:`send_refund`), with
   an idempotency key from our own ids: the same call made again gets the same answer;
3. record the answer in a transaction of its own (:func:`record_intent`,
   :func:`record_refund_sent`, :func:`record_refund_refused`).

A refund's money works like this. The refund is recorded *pending* in the admin's one
transaction: its units and amount are taken from the order, so nothing can be refunded
twice, but the ledger does not see it. After that commit the outbox task asks Stripe to pay
it back (key ``talat-refund-<id>``, our refund id in Stripe's metadata). Stripe says it
succeeded: the refund is done and posted to the ledger, levy reversals with it. Stripe
refuses: the units and the amount go back to the order and admins see an issue. No answer
(a timeout, Stripe down): nothing changes and no lock is held; the task is retried, and
the same key returns the refund Stripe may have made meanwhile, never a second one. A
crash between Stripe's answer and its recording is the same case. Should Stripe's own
event come first, it finds the refund by the id in its metadata and records it the same
way. So the ledger shows exactly the money Stripe paid back, never a refund half made.

Events can come in any order and more than once. Each event id is stored once (a repeat
changes nothing); a refund that arrives before its payment first checks the payment with
Stripe (read before the event's transaction, :func:`intents_to_read`) and records it, so
the order ends the same either way.
"""

import logging
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from marketplace.audit import services as audit
from marketplace.dbtypes import utcnow
from marketplace.errors import Conflict, Forbidden
from marketplace.extensions import db
from marketplace.guards import MAX_ID
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus, Refund, RefundStatus
from marketplace.payments import stripe_gateway
from marketplace.payments.models import (
    IssueKind,
    Payment,
    PaymentIssue,
    PaymentStatus,
    StripeEvent,
)

log = logging.getLogger(__name__)

ISSUE_LABELS = {
    IssueKind.AMOUNT_MISMATCH: _l("Stripe's amount does not match the order"),
    IssueKind.PAID_AFTER_CANCEL: _l("Paid after the order was cancelled"),
    IssueKind.UNMATCHED_REFUND: _l("A refund made in Stripe needs recording"),
    IssueKind.UNKNOWN_PAYMENT: _l("A Stripe payment we do not know"),
    IssueKind.REFUND_FAILED: _l("Stripe did not pay a refund back: pay the buyer another way"),
}

PAYMENT_EVENTS = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
}
REFUND_EVENTS = {"charge.refunded", "refund.created", "refund.updated", "charge.refund.updated"}


# PaymentIntents


@dataclass(frozen=True)
class IntentToCreate:
    """What Stripe needs to make a payment's PaymentIntent."""

    payment_id: int
    amount_satang: int
    order_id: int
    order_number: str

    @property
    def idempotency_key(self):
        return f"talat-payment-{self.payment_id}"


def intent_to_create(payment_id):
    """What the PaymentIntent of a pending Stripe payment needs, or None when it has one
    already or its order no longer waits for payment. Reads only."""
    payment = db.session.get(Payment, payment_id)
    if (
        payment is None
        or payment.provider != "stripe"
        or payment.external_id
        or payment.status != PaymentStatus.PENDING
    ):
        return None
    order = db.session.get(Order, payment.order_id)
    if order.status != OrderStatus.PENDING_PAYMENT:
        return None
    return IntentToCreate(payment.id, payment.amount_satang, order.id, order.number)


def create_intent(wanted):
    """Make the PaymentIntent in Stripe and return its id (no database: call it with no
    transaction open). Made once per payment, however often this is called."""
    return stripe_gateway.create_payment_intent(
        amount_satang=wanted.amount_satang,
        order_id=wanted.order_id,
        order_number=wanted.order_number,
        idempotency_key=wanted.idempotency_key,
    )


def record_intent(payment_id, intent_id):
    """Keep the PaymentIntent's id on its payment (the payment row locked meanwhile)."""
    db.session.execute(select(Payment.id).where(Payment.id == payment_id).with_for_update())
    payment = db.session.get(Payment, payment_id, populate_existing=True)
    if payment.external_id is None:
        payment.external_id = intent_id
    elif payment.external_id != intent_id:  # one idempotency key: never, but say so
        log.warning(
            "payment %s has intent %s; Stripe answered %s",
            payment_id,
            payment.external_id,
            intent_id,
        )
    db.session.flush()
    return payment


# Refunds paid back through Stripe


@dataclass(frozen=True)
class RefundToSend:
    """What Stripe needs to pay a pending refund back."""

    refund_id: int
    order_id: int
    intent_id: str
    amount_satang: int

    @property
    def idempotency_key(self):
        return f"talat-refund-{self.refund_id}"


def refund_to_send(refund_id):
    """What paying back a pending refund needs, or None when it is not pending (done or
    failed already: by an earlier try, or by Stripe's event). Reads only."""
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.status != RefundStatus.PENDING or refund.provider_refund_id:
        return None
    payment = orders.payment_of(refund.order)
    return RefundToSend(refund.id, refund.order_id, payment.external_id, refund.amount_satang)


def send_refund(to_send):
    """Ask Stripe to pay the refund back (no database: call it with no transaction open);
    ``(Stripe's refund id, its status)``. Raises StripeRefused (Stripe will not) or
    StripeUnavailable (no answer: ask again, with the same key)."""
    return stripe_gateway.create_refund(
        intent_id=to_send.intent_id,
        amount_satang=to_send.amount_satang,
        idempotency_key=to_send.idempotency_key,
        metadata={"refund_id": str(to_send.refund_id), "order_id": str(to_send.order_id)},
    )


def record_refund_sent(refund_id, provider_refund_id, status):
    """Record Stripe's answer to a refund: succeeded, it is done and goes to the ledger;
    failed, the units go back to the order; pending, Stripe's event will say."""
    refund = order_refunds.locked_refund(refund_id)
    if refund.status != RefundStatus.PENDING:
        return f"refund {refund.id} already {refund.status}"
    if refund.provider_refund_id is None:
        refund.provider_refund_id = provider_refund_id
    return _refund_status(refund, status)


def record_refund_refused(refund_id, detail):
    """Stripe will not make the refund: its units and amount go back to the order."""
    refund = order_refunds.locked_refund(refund_id)
    if refund.status != RefundStatus.PENDING:
        return f"refund {refund.id} already {refund.status}"
    return _refund_not_paid(refund, f"Stripe refused the refund: {detail}")


def _refund_status(refund, status):
    """Apply Stripe's status of our pending refund (whose order is locked)."""
    if status == "succeeded":
        order_refunds.refund_paid_back(refund)
        return f"refund {refund.id}: paid back, recorded"
    if status in ("failed", "canceled"):
        return _refund_not_paid(refund, f"Stripe says the refund {status}")
    db.session.flush()
    return f"refund {refund.id}: {status} in Stripe, waiting"


def _refund_not_paid(refund, detail):
    order_refunds.refund_failed(refund)
    payment = orders.payment_of(refund.order)
    _issue(
        IssueKind.REFUND_FAILED,
        f"{detail}; refund {refund.id} of order {refund.order.number} is given back to the "
        "order: refund it again, or pay the buyer back another way",
        payment,
        refund.provider_refund_id or "",
        refund.amount_satang,
    )
    return f"refund {refund.id}: not paid back, flagged"


# Webhook events


def intents_to_read(event):
    """The PaymentIntents handling ``event`` needs from Stripe: a refund that comes before
    its payment checks the payment. Reads only; the view reads them from Stripe before
    the event's transaction and passes them to :func:`handle_stripe_event`."""
    if event.get("type") not in REFUND_EVENTS:
        return []
    data = event["data"].get("object") or {}
    intent_id = data.get("payment_intent")
    if not intent_id:
        return []
    payment = _payment_for_intent(str(intent_id))
    if payment is None or payment.order.paid_at is not None:
        return []
    return [payment.external_id]


def handle_stripe_event(event, intents=None):
    """Apply one verified event, once; return a short outcome for the log and the event row.

    ``intents`` are the PaymentIntents :func:`intents_to_read` named, as read from Stripe.
    """
    data = event["data"].get("object") or {}
    record = StripeEvent(
        id=str(event.get("id", ""))[:100],
        type=str(event.get("type", ""))[:100],
        object_id=str(data.get("id", ""))[:100],
        payload=event,
    )
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:
        return "duplicate"
    if record.type in PAYMENT_EVENTS:
        outcome = _on_payment_intent(record.type, data)
    elif record.type in REFUND_EVENTS:
        outcome = _on_refund_event(record.type, data, intents or {})
    else:
        outcome = "ignored"
    record.outcome = outcome[:200]
    db.session.flush()
    return outcome


def _payment_for_intent(intent_id, metadata=None):
    payment = db.session.scalar(select(Payment).where(Payment.external_id == intent_id))
    order_id = str((metadata or {}).get("order_id", ""))
    as_id = order_id.isascii() and order_id.isdigit() and len(order_id) <= len(str(MAX_ID))
    if payment is None and as_id and int(order_id) <= MAX_ID:
        # The intent was made but its id not yet saved (a crash in between): find by order.
        candidate = db.session.scalar(
            select(Payment).where(
                Payment.order_id == int(order_id),
                Payment.provider == "stripe",
                Payment.external_id.is_(None),
            )
        )
        if candidate is not None:
            candidate.external_id = intent_id
            payment = candidate
    return payment


def _issue(kind, detail, payment=None, external_id="", amount=None):
    db.session.add(
        PaymentIssue(
            kind=kind,
            order_id=payment.order_id if payment else None,
            payment_id=payment.id if payment else None,
            external_id=external_id[:100],
            amount_satang=amount,
            detail=detail[:2000],
        )
    )
    db.session.flush()


def _on_payment_intent(event_type, intent):
    intent_id = str(intent.get("id", ""))
    payment = _payment_for_intent(intent_id, intent.get("metadata"))
    if payment is None:
        _issue(
            IssueKind.UNKNOWN_PAYMENT,
            f"{event_type} for an unknown PaymentIntent",
            external_id=intent_id,
        )
        return "unknown payment intent: flagged"
    if event_type == "payment_intent.succeeded":
        received = intent.get("amount_received") or intent.get("amount")
        return _paid(payment, intent_id, received, intent.get("currency"))
    if payment.status == PaymentStatus.PENDING:
        payment.status = (
            PaymentStatus.FAILED
            if event_type.endswith("payment_failed")
            else PaymentStatus.CANCELLED
        )
        db.session.flush()
    return "payment not made; the order waits for another attempt or expires"


def _paid(payment, intent_id, amount, currency):
    """Stripe says the money arrived: check it, then mark the order paid (once)."""
    order = db.session.get(Order, payment.order_id)
    if payment.status == PaymentStatus.CONFIRMED:
        return "already paid"
    if currency != stripe_gateway.CURRENCY or amount != payment.amount_satang:
        _issue(
            IssueKind.AMOUNT_MISMATCH,
            f"Stripe received {amount} {currency}; the order is {payment.amount_satang} thb",
            payment,
            intent_id,
            amount if isinstance(amount, int) else None,
        )
        return "amount or currency does not match: flagged, not paid"
    if order.status != OrderStatus.PENDING_PAYMENT:
        _issue(
            IssueKind.PAID_AFTER_CANCEL,
            "Paid after the order was cancelled: refund the buyer",
            payment,
            intent_id,
            amount,
        )
        return "order no longer waiting for payment: flagged"
    orders.mark_paid(order)
    payment.status = PaymentStatus.CONFIRMED
    payment.confirmed_at = order.paid_at
    db.session.flush()
    audit.payment_confirmed(None, order, payment, system="stripe")
    return "paid"


def _on_refund_event(event_type, data, intents):
    """Record refunds Stripe reports; the ones the back office made are already known (or
    pending, and settled here when Stripe's event comes before its answer was recorded)."""
    if data.get("object") == "charge":
        refunds = (data.get("refunds") or {}).get("data") or []
        intent_id = data.get("payment_intent")
    else:
        refunds = [data]
        intent_id = data.get("payment_intent")
    outcomes = [
        _one_refund(intent_id or refund.get("payment_intent"), refund, intents)
        for refund in refunds
    ]
    return "; ".join(outcomes) or "no refund in the event"


def _our_refund(refund_id, metadata):
    """The refund the back office made that Stripe's refund ``refund_id`` is: by its id,
    or, before Stripe's answer was recorded, by our refund id in its metadata."""
    ours = db.session.scalar(select(Refund).where(Refund.provider_refund_id == refund_id))
    if ours is not None:
        return ours
    mine = str((metadata or {}).get("refund_id", ""))
    if mine.isascii() and mine.isdigit() and len(mine) <= len(str(MAX_ID)) and int(mine) <= MAX_ID:
        candidate = db.session.get(Refund, int(mine))
        if (
            candidate is not None
            and candidate.status == RefundStatus.PENDING
            and candidate.provider_refund_id is None
        ):
            return candidate
    return None


def _one_refund(intent_id, refund, intents):
    refund_id = str(refund.get("id", ""))
    status = refund.get("status")
    ours = _our_refund(refund_id, refund.get("metadata"))
    if ours is not None:
        ours = order_refunds.locked_refund(ours.id)
        if ours.status == RefundStatus.PENDING:
            if ours.provider_refund_id is None:
                ours.provider_refund_id = refund_id
            return _refund_status(ours, status or "succeeded")
        if ours.status == RefundStatus.SUCCEEDED and status in ("failed", "canceled"):
            _issue(
                IssueKind.REFUND_FAILED,
                f"Stripe says refund {refund_id} {status} after it was recorded as paid back: "
                "pay the buyer back another way",
                orders.payment_of(ours.order),
                refund_id,
                ours.amount_satang,
            )
            return f"refund {refund_id} {status} after it succeeded: flagged"
        return f"refund {refund_id} already recorded"
    if status not in ("succeeded", None):
        return f"refund {refund_id} {status}: waiting"
    payment = _payment_for_intent(str(intent_id or ""))
    if payment is None:
        _issue(
            IssueKind.UNKNOWN_PAYMENT,
            "a refund for an unknown PaymentIntent",
            external_id=refund_id,
        )
        return f"refund {refund_id}: unknown payment, flagged"
    order = db.session.get(Order, payment.order_id)
    if order.paid_at is None:
        # The refund came first: the payment it refunds must have succeeded; Stripe said
        # how it stands before this transaction (intents_to_read).
        intent = intents.get(payment.external_id)
        if intent is None:  # its id was stored after intents_to_read: Stripe sends it again
            raise stripe_gateway.StripeUnavailable()
        if intent["status"] != "succeeded":
            _issue(
                IssueKind.UNMATCHED_REFUND,
                "a refund for an intent that did not succeed",
                payment,
                refund_id,
            )
            return f"refund {refund_id}: payment not succeeded, flagged"
        outcome = _paid(payment, intent["id"], intent["amount_received"], intent["currency"])
        if outcome != "paid":
            return f"refund {refund_id}: {outcome}"
    amount = refund.get("amount")
    left = order.total_satang - order.refunded_satang
    if amount == left:
        order_refunds.refund(
            None, order, None, reason="refunded in Stripe", provider_refund_id=refund_id
        )
        return f"refund {refund_id}: the whole order, recorded"
    _issue(
        IssueKind.UNMATCHED_REFUND,
        "A part refund made in Stripe: record which items it was for in the back office",
        payment,
        refund_id,
        amount if isinstance(amount, int) else None,
    )
    return f"refund {refund_id}: part refund, flagged for the back office"


def open_issues():
    return db.session.scalars(
        select(PaymentIssue).where(PaymentIssue.resolved_at.is_(None)).order_by(PaymentIssue.id)
    ).all()


def resolve_issue(actor, issue_id):
    if not actor.is_admin:
        raise Forbidden(_l("Only an admin can do this."))
    issue = db.session.get(PaymentIssue, issue_id)
    if issue is None or issue.resolved_at is not None:
        raise Conflict(_l("This issue is already resolved."))
    issue.resolved_at, issue.resolved_by_id = utcnow(), actor.id
    db.session.flush()
    return issue


# Reconciliation with Stripe


def stripe_differences(since):
    """Every way Stripe's payments and refunds since ``since`` (a date) differ from the
    marketplace's, one line each for a person to read.

    Stripe is read once for its payments and once for its refunds; ours are read in two
    queries (the payments with their orders, the refunds), however many there are.
    """
    intents = {intent["id"]: intent for intent in stripe_gateway.payment_intents_since(since)}
    stripe_refunds = {
        refund["id"]: refund
        for refund in stripe_gateway.refunds_since(since)
        if refund["status"] == "succeeded"
    }
    payments = {
        payment.external_id: payment
        for payment in db.session.scalars(
            select(Payment)
            .where(Payment.provider == "stripe", Payment.external_id.is_not(None))
            .options(joinedload(Payment.order))
        )
    }
    refunds = {
        refund.provider_refund_id: refund
        for refund in db.session.scalars(
            select(Refund).where(
                Refund.provider_refund_id.is_not(None), Refund.status != RefundStatus.FAILED
            )
        )
    }
    return _payment_differences(intents, payments, since) + _refund_differences(
        stripe_refunds, refunds, since
    )


def _payment_differences(intents, payments, since):
    found = []
    for intent_id, intent in intents.items():
        if intent["status"] != "succeeded":
            continue
        payment = payments.get(intent_id)
        if payment is None:
            found.append(
                f"Stripe payment {intent_id} ({intent['amount_received']} satang) is not ours"
            )
            continue
        order = payment.order
        if order.paid_at is None:
            found.append(
                f"Stripe payment {intent_id} succeeded but order {order.number} is not paid"
            )
        if intent["amount_received"] != payment.amount_satang:
            found.append(
                f"Stripe payment {intent_id} received {intent['amount_received']} satang; "
                f"order {order.number} is {payment.amount_satang}"
            )
    for intent_id, payment in payments.items():
        order = payment.order
        if order.paid_at is None or order.paid_at.date() < since:
            continue
        intent = intents.get(intent_id)
        if intent is None or intent["status"] != "succeeded":
            found.append(
                f"order {order.number} is paid but Stripe has no succeeded payment {intent_id}"
            )
    return found


def _refund_differences(stripe_refunds, ours, since):
    found = []
    for refund_id, refund in stripe_refunds.items():
        if refund_id not in ours:
            found.append(f"Stripe refund {refund_id} ({refund['amount']} satang) is not recorded")
        elif ours[refund_id].amount_satang != refund["amount"]:
            found.append(
                f"refund {refund_id}: Stripe {refund['amount']} satang, "
                f"ours {ours[refund_id].amount_satang}"
            )
    for refund_id, refund in ours.items():
        if refund.created_at.date() >= since and refund_id not in stripe_refunds:
            found.append(f"refund {refund_id} of {refund.amount_satang} satang is not in Stripe")
    return found
