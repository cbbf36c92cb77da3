"""Order notifications, handed over through the outbox."""

from celery import shared_task

from marketplace.extensions import db
from marketplace.orders import notifications
from marketplace.orders.models import Shipment
from tasks import run_outbox_work


def _with_shipment(shipment_id, notify):
    def work():
        shipment = db.session.get(Shipment, shipment_id)
        if shipment is not None:
            notify(shipment)

    return work


@shared_task(name="tasks.notifications.shipment_paid")
def shipment_paid(outbox_id, shipment_id):
    return run_outbox_work(outbox_id, _with_shipment(shipment_id, notifications.shipment_paid))


@shared_task(name="tasks.notifications.shipment_shipped")
def shipment_shipped(outbox_id, shipment_id):
    return run_outbox_work(outbox_id, _with_shipment(shipment_id, notifications.shipment_shipped))
