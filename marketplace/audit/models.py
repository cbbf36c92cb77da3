"""Audit records: who did what, to which object, when and from where. Append-only."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import User
from marketplace.dbtypes import UTCDateTime, utcnow
from marketplace.extensions import db


class AuditRecord(db.Model):
    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_records_action_id", "action", "id"),
        Index("ix_audit_records_actor_id", "actor_id", "id"),
        Index("ix_audit_records_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: The user who acted; None when the system did (``actor_label`` says which part).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: For system actions: "stripe" (a webhook), "task", "cli", "system".
    actor_label: Mapped[str] = mapped_column(String(40), default="")
    #: The client's address for web requests; "task" or "cli" outside them, or empty.
    address: Mapped[str] = mapped_column(String(45), default="")
    #: What was done, e.g. "payment.confirmed" (see ``audit.services.ACTIONS``).
    action: Mapped[str] = mapped_column(String(40))
    #: What it was done to: "order", "levy_rule", "remittance", "seller", "fund", "user".
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(BigInteger)
    #: The money moved by the action, when it moved money.
    amount_satang: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: A few facts a reader needs later (order number, reference, the person added...).
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    parties: Mapped[list["AuditParty"]] = relationship(
        back_populates="record", order_by="AuditParty.id", cascade="save-update, merge"
    )

    @property
    def seller_ids(self):
        return {p.seller_id for p in self.parties if p.seller_id is not None}

    @property
    def fund_ids(self):
        return {p.fund_id for p in self.parties if p.fund_id is not None}

    def __repr__(self):
        return f"<AuditRecord {self.id} {self.action} {self.object_type}:{self.object_id}>"


class AuditParty(db.Model):
    """A seller or a fund an audit record touches: its members or treasurers see it."""

    __tablename__ = "audit_parties"
    __table_args__ = (
        CheckConstraint("(seller_id IS NULL) <> (fund_id IS NULL)", name="one_party"),
        Index("ix_audit_parties_seller_record", "seller_id", "record_id"),
        Index("ix_audit_parties_fund_record", "fund_id", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("audit_records.id"), index=True)
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("sellers.id"), nullable=True)
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("funds.id"), nullable=True)

    record: Mapped[AuditRecord] = relationship(back_populates="parties")
