"""The transactional outbox: work for Celery, written in the same transaction as the change."""

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.dbtypes import UTCDateTime, utcnow
from marketplace.extensions import db


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Registered Celery task name, e.g. "tasks.mail.send_welcome_email".
    task: Mapped[str] = mapped_column(String(200))
    #: Keyword arguments for the task: ids and plain values only (JSON).
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Last time the sweep sent it again; the first dispatch happens right after commit.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: How many times the sweep has sent it again.
    redispatch_count: Mapped[int] = mapped_column(default=0)
    #: How many times a task began the work and failed.
    failure_count: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    #: Set in the task's own transaction, together with the work's effects.
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)

    def __repr__(self):
        state = "done" if self.done_at else "pending"
        return f"<OutboxMessage {self.id} {self.task} {state}>"

    @property
    def is_done(self):
        return self.done_at is not None
