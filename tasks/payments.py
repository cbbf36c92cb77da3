"""Stripe calls made after a commit: a placed order's PaymentIntent, a refund's money.

Each task reads what the call needs and ends that read-only transaction, calls Stripe with
no transaction open, then records the answer and marks its outbox row done in one
transaction (``marketplace.payments.services`` says why a refund is exact this way). The
idempotency key comes from our own ids, so a retried task or a second delivery of its
message gets the same PaymentIntent or refund back from Stripe, never a second one.

Stripe down or slow: the task fails, holding nothing; the failure is counted on the outbox
row, Celery retries with backoff, and the beat sweep sends the row again after that.
"""

from celery import shared_task

from marketplace import transaction
from marketplace.payments import services as payments
from marketplace.payments.stripe_gateway import StripeRefused
from tasks import record_outbox_failure, run_outbox_work


def _outside_transaction(outbox_id, call):
    """``call()`` (Stripe) with no transaction open; a failure is counted, then raised."""
    try:
        return call()
    except StripeRefused:
        raise
    except Exception as exc:
        record_outbox_failure(outbox_id, exc)
        raise


@shared_task(name="tasks.payments.create_intent")
def create_intent(outbox_id, payment_id):
    """Make the PaymentIntent of a just-placed order's Stripe payment."""
    wanted = payments.intent_to_create(payment_id)
    transaction.end_reads()
    if wanted is None:  # made already (by the buyer's page), or the order no longer waits
        return run_outbox_work(outbox_id, lambda: None)
    intent_id = _outside_transaction(outbox_id, lambda: payments.create_intent(wanted))
    return run_outbox_work(outbox_id, lambda: payments.record_intent(payment_id, intent_id))


@shared_task(name="tasks.payments.send_refund")
def send_refund(outbox_id, refund_id):
    """Pay a pending refund back through Stripe, then record what Stripe said."""
    to_send = payments.refund_to_send(refund_id)
    transaction.end_reads()
    if to_send is None:  # recorded already (Stripe's event came first)
        return run_outbox_work(outbox_id, lambda: None)
    try:
        sent = _outside_transaction(outbox_id, lambda: payments.send_refund(to_send))
    except StripeRefused as refusal:
        detail = refusal.detail
        return run_outbox_work(outbox_id, lambda: payments.record_refund_refused(refund_id, detail))
    return run_outbox_work(outbox_id, lambda: payments.record_refund_sent(refund_id, *sent))
