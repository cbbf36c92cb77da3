"""The beat sweep: publish again outbox rows left undone (broker was down, worker died)."""

from celery import shared_task
from flask import current_app

from marketplace.extensions import db
from marketplace.outbox import services as outbox


@shared_task(name="tasks.outbox.sweep", autoretry_for=())
def sweep():
    count = outbox.redispatch_due(current_app.config["OUTBOX_REDISPATCH_AFTER"])
    db.session.commit()
    return count
