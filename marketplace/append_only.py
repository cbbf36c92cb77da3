"""An ORM guard for append-only tables: a flush that would change or delete a row of them
is refused (corrections are new rows). On PostgreSQL a trigger guards the tables too."""

from sqlalchemy import event
from sqlalchemy.orm import Session


def guard(models, refusal):
    """A ``before_flush`` listener raising ``refusal()`` when an instance of ``models`` is
    changed or deleted."""

    def refuse_changes(session, flush_context, instances):
        for obj in list(session.dirty) + list(session.deleted):
            if isinstance(obj, models) and (obj in session.deleted or session.is_modified(obj)):
                raise refusal()

    return refuse_changes


def install(listener):
    """Listen on every session; idempotent."""
    if not event.contains(Session, "before_flush", listener):
        event.listen(Session, "before_flush", listener)
