"""What payment providers tell the marketplace: Stripe's webhook events, and the issues
they raise for admins. Services flush; the webhook view commits once.

Events can come in any order and more than once. Each event id is stored once (a repeat
changes nothing); a refund that arrives before its payment first checks the payment with
Stripe and records it, so the order ends the same either way.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from marketplace.audit import services as audit
from marketplace.dbtypes import utcnow
from marketplace.errors import Conflict, Forbidden
from marketplace.extensions import db
from marketplace.guards import MAX_ID
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus, Refund
from marketplace.payments import stripe_gateway
from marketplace.payments.models import (
    IssueKind,
    Payment,
    PaymentIssue,
    PaymentStatus,
    StripeEvent,
)

ISSUE_LABELS = {
    IssueKind.AMOUNT_MISMATCH: _l("Stripe's amount does not match the order"),
    IssueKind.PAID_AFTER_CANCEL: _l("Paid after the order was cancelled"),
    IssueKind.UNMATCHED_REFUND: _l("A refund made in Stripe needs recording"),
    IssueKind.UNKNOWN_PAYMENT: _l("A Stripe payment we do not know"),
}

PAYMENT_EVENTS = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
}
REFUND_EVENTS = {"charge.refunded", "refund.created", "refund.updated", "charge.refund.updated"}


def handle_stripe_event(event):
    """Apply one verified event, once; return a short outcome for the log and the event row."""
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
        outcome = _on_refund_event(record.type, data)
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


def _on_refund_event(event_type, data):
    """Record refunds Stripe reports; the ones the back office made are already known."""
    if data.get("object") == "charge":
        refunds = (data.get("refunds") or {}).get("data") or []
        intent_id = data.get("payment_intent")
    else:
        refunds = [data]
        intent_id = data.get("payment_intent")
    outcomes = [
        _one_refund(intent_id or refund.get("payment_intent"), refund) for refund in refunds
    ]
    return "; ".join(outcomes) or "no refund in the event"


def _one_refund(intent_id, refund):
    refund_id = str(refund.get("id", ""))
    if refund.get("status") not in ("succeeded", None):
        return f"refund {refund_id} {refund.get('status')}: waiting"
    if db.session.scalar(select(Refund.id).where(Refund.provider_refund_id == refund_id)):
        return f"refund {refund_id} already recorded"
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
        # The refund came first: the payment it refunds must have succeeded; check with Stripe.
        intent = stripe_gateway.payment_intent(payment.external_id)
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
        orders.refund(None, order, None, reason="refunded in Stripe", provider_refund_id=refund_id)
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
            select(Refund).where(Refund.provider_refund_id.is_not(None))
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
