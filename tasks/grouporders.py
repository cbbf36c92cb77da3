"""Group orders: closing at the closing time (beat), and mail to members (outbox)."""

import logging

from celery import shared_task

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.grouporders import notifications, services
from marketplace.grouporders.models import GroupOrder, GroupOrderStatus, Pledge
from tasks import run_outbox_work

log = logging.getLogger(__name__)


@shared_task(name="tasks.grouporders.close_due")
def close_due():
    """Close every group order whose closing time has passed, each in its own transaction
    (one short of stock never holds up the others)."""
    outcomes = {}
    for group_id in services.due():
        db.session.rollback()
        group = db.session.get(GroupOrder, group_id)
        outcome = services.close_at_time(group)
        db.session.commit()
        outcomes[group_id] = outcome
        log.info("group order %s at its closing time: %s", group_id, outcome)
    db.session.rollback()
    return outcomes


@shared_task(name="tasks.grouporders.closed")
def closed(outbox_id, group_order_id, pledge_id):
    def work():
        group = db.session.get(GroupOrder, group_order_id)
        pledge = db.session.get(Pledge, pledge_id)
        if group is not None and pledge is not None and group.status == GroupOrderStatus.CLOSED:
            notifications.closed(group, pledge)

    return run_outbox_work(outbox_id, work)


@shared_task(name="tasks.grouporders.cancelled")
def cancelled(outbox_id, group_order_id, user_id):
    def work():
        group = db.session.get(GroupOrder, group_order_id)
        user = db.session.get(User, user_id)
        if group is not None and user is not None:
            notifications.cancelled(group, user)

    return run_outbox_work(outbox_id, work)


@shared_task(name="tasks.grouporders.trimmed")
def trimmed(outbox_id, group_order_id, user_id, changes):
    def work():
        group = db.session.get(GroupOrder, group_order_id)
        user = db.session.get(User, user_id)
        if group is not None and user is not None:
            notifications.trimmed(group, user, changes)

    return run_outbox_work(outbox_id, work)


@shared_task(name="tasks.grouporders.short")
def short(outbox_id, group_order_id):
    def work():
        group = db.session.get(GroupOrder, group_order_id)
        if group is not None and group.status == GroupOrderStatus.OPEN:
            notifications.short(group)

    return run_outbox_work(outbox_id, work)
