"""Hand work to Celery through the outbox.

``enqueue`` writes the row in the caller's transaction; the row is published only after
that transaction commits (see :mod:`marketplace.outbox.dispatch`). A task claims the row,
does the work and marks it done in one transaction, so a duplicate delivery does nothing.
"""

from datetime import timedelta

from sqlalchemy import func, select

from marketplace import transaction
from marketplace.dbtypes import utcnow
from marketplace.extensions import db
from marketplace.outbox import dispatch
from marketplace.outbox.models import OutboxMessage


def _publish_after_commit(message):
    snapshot = {"id": message.id, "task": message.task, "payload": dict(message.payload)}
    transaction.on_commit(lambda: dispatch.publish(snapshot))


def enqueue(task, **payload):
    """Write an outbox row naming ``task`` with keyword arguments ``payload`` (ids only)."""
    message = OutboxMessage(task=task, payload=payload)
    db.session.add(message)
    db.session.flush()
    _publish_after_commit(message)
    return message


def claim(message_id, skip_locked=False):
    """Lock the message for this transaction; ``None`` when it is missing or already done
    (or, with ``skip_locked``, held by another transaction: a batch that is doing it)."""
    message = db.session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .with_for_update(skip_locked=skip_locked)
    ).scalar_one_or_none()
    if message is None or message.done_at is not None:
        return None
    return message


def claim_more(task, limit, besides=0):
    """Lock up to ``limit`` more undone messages of ``task`` for this transaction, oldest
    first, skipping those other transactions hold (``FOR UPDATE SKIP LOCKED``)."""
    if limit <= 0:
        return []
    return db.session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.task == task,
            OutboxMessage.done_at.is_(None),
            OutboxMessage.id != besides,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def mark_done(*messages):
    """The messages' work is done (one flush for them all)."""
    now = utcnow()
    for message in messages:
        message.done_at = now
        message.last_error = ""
    db.session.flush()


def record_failure(message_id, error):
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.done_at is not None:
        return
    message.failure_count += 1
    message.last_error = error[:2000]
    db.session.flush()


def redispatch_due(older_than_seconds, limit=500, now=None):
    """Publish again, after commit, undone messages last sent ``older_than_seconds`` ago or more."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=older_than_seconds)
    last_sent = func.coalesce(OutboxMessage.dispatched_at, OutboxMessage.created_at)
    messages = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.done_at.is_(None), last_sent <= cutoff)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for message in messages:
        message.dispatched_at = now
        message.redispatch_count += 1
        _publish_after_commit(message)
    db.session.flush()
    return len(messages)


def pending_count():
    return db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.done_at.is_(None))
    )
