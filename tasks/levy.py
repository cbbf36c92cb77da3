"""Route levies into the ledger: the money and levies of paid orders, refunds and reversals."""

from celery import shared_task

from marketplace.levies import routing
from tasks import run_outbox_work


@shared_task(name="tasks.levy.route_order")
def route_order(outbox_id, order_id):
    return run_outbox_work(outbox_id, lambda: routing.route_order(order_id))


@shared_task(name="tasks.levy.post_refund")
def post_refund(outbox_id, refund_id):
    return run_outbox_work(outbox_id, lambda: routing.post_refund(refund_id))
