"""Beat tasks for orders: expire unpaid ones, count long-shipped parcels as delivered."""

from celery import shared_task

from marketplace.extensions import db
from marketplace.orders import services


@shared_task(name="tasks.orders.expire_unpaid")
def expire_unpaid():
    count = services.expire_unpaid()
    db.session.commit()
    return count


@shared_task(name="tasks.orders.auto_deliver")
def auto_deliver():
    count = services.auto_deliver()
    db.session.commit()
    return count
