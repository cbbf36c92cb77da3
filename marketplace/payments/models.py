import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.dbtypes import UTCDateTime, str_enum, utcnow
from marketplace.extensions import db


class PaymentStatus(enum.StrEnum):
    #: Waiting for the buyer to pay.
    PENDING = "pending"
    #: The buyer says they paid (a transfer reference); an admin checks the account.
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Payment(db.Model):
    """How an order is paid, through one provider (transfer today, Stripe beside it)."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    status: Mapped[PaymentStatus] = mapped_column(
        str_enum(PaymentStatus),
        default=PaymentStatus.PENDING,
    )
    amount_satang: Mapped[int] = mapped_column(BigInteger)
    #: The buyer's transfer reference, or what the admin noted when confirming.
    reference: Mapped[str] = mapped_column(String(100), default="")
    #: The provider's own id (a Stripe PaymentIntent).
    external_id: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    order: Mapped["Order"] = relationship(backref="payments")  # noqa: F821


class StripeEvent(db.Model):
    """Every Stripe webhook event, stored once: a repeated delivery changes nothing."""

    __tablename__ = "stripe_events"

    #: Stripe's event id, "evt_…".
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    #: The PaymentIntent, charge or refund it is about.
    object_id: Mapped[str] = mapped_column(String(100), default="", index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: What the marketplace did with it, for admins and support.
    outcome: Mapped[str] = mapped_column(String(200), default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)


class IssueKind(enum.StrEnum):
    AMOUNT_MISMATCH = "amount_mismatch"
    PAID_AFTER_CANCEL = "paid_after_cancel"
    UNMATCHED_REFUND = "unmatched_refund"
    UNKNOWN_PAYMENT = "unknown_payment"
    REFUND_FAILED = "refund_failed"


class PaymentIssue(db.Model):
    """Something a payment provider reported that needs an admin's eyes."""

    __tablename__ = "payment_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[IssueKind] = mapped_column(str_enum(IssueKind, length=30))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), nullable=True, index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    #: The provider's object (PaymentIntent, refund) it is about.
    external_id: Mapped[str] = mapped_column(String(100), default="")
    amount_satang: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
