"""Route levies into the ledger: the money and levies of paid orders, refunds and reversals."""

from celery import shared_task

from marketplace.levies import routing
from tasks import run_outbox_batch, run_outbox_work


@shared_task(name="tasks.levy.route_order")
def route_order(outbox_id, order_id):
    """Route this paid order, and up to BATCH_SIZE - 1 others waiting, in one transaction."""
    return run_outbox_batch(
        outbox_id,
        "tasks.levy.route_order",
        lambda messages: routing.route_orders([m.payload["order_id"] for m in messages]),
    )


@shared_task(name="tasks.levy.post_refund")
def post_refund(outbox_id, refund_id):
    return run_outbox_work(outbox_id, lambda: routing.post_refund(refund_id))
