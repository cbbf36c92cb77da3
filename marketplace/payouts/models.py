"""Payout runs and payouts: what the marketplace sends each seller, and whether it arrived.

The money itself is in the ledger (marketplace/payouts/proceeds.py): a payout reserves its
amount (``payout:{id}:reserve``), and is paid out of cash (``payout:{id}:paid``) or, when it
fails, goes back to the seller's available money (``payout:{id}:failed``).
"""

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import User
from marketplace.dbtypes import UTCDateTime, str_enum, utcnow
from marketplace.extensions import db
from marketplace.sellers.models import Seller


class PayoutStatus(enum.StrEnum):
    #: Reserved: the admin is to send the money.
    PENDING = "pending"
    #: The money was sent (bank reference and date recorded).
    PAID = "paid"
    #: It did not reach the seller: the amount is available to them again.
    FAILED = "failed"


class PayoutRun(db.Model):
    """One payout per seller whose available money reached the minimum, started together."""

    __tablename__ = "payout_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: The admin who started it; NULL for the command line or the beat.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: The rules it ran under: the hold after delivery and the smallest payout.
    hold_days: Mapped[int] = mapped_column()
    minimum_satang: Mapped[int] = mapped_column(BigInteger)
    total_satang: Mapped[int] = mapped_column(BigInteger, default=0)

    created_by: Mapped[User | None] = relationship()
    payouts: Mapped[list["Payout"]] = relationship(
        back_populates="run", order_by="Payout.id", cascade="all, delete-orphan"
    )


class Payout(db.Model):
    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint("amount_satang > 0", name="amount_positive"),
        CheckConstraint("amount_satang <= available_satang", name="within_available"),
        CheckConstraint(
            "(status = 'paid') = (paid_on IS NOT NULL AND bank_reference != '')",
            name="paid_with_reference",
        ),
        Index("uq_payouts_run_seller", "run_id", "seller_id", unique=True),
        # A seller has at most one payout waiting to be paid: runs never stack transfers.
        Index(
            "uq_payouts_seller_pending",
            "seller_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("payout_runs.id"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    amount_satang: Mapped[int] = mapped_column(BigInteger)
    #: The seller's available money when the run reserved it (the payout never exceeds it).
    available_satang: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[PayoutStatus] = mapped_column(
        str_enum(PayoutStatus), default=PayoutStatus.PENDING
    )
    # Where to send it, as the seller's profile said when the run started.
    promptpay_id: Mapped[str] = mapped_column(String(13), default="")
    bank_name: Mapped[str] = mapped_column(String(100), default="")
    bank_account_name: Mapped[str] = mapped_column(String(200), default="")
    bank_account_number: Mapped[str] = mapped_column(String(20), default="")
    #: The bank's reference of the transfer and its (Bangkok) date, once paid.
    bank_reference: Mapped[str] = mapped_column(String(100), default="")
    paid_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    failure_reason: Mapped[str] = mapped_column(Text, default="")
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    run: Mapped[PayoutRun] = relationship(back_populates="payouts")
    seller: Mapped[Seller] = relationship()

    def __repr__(self):
        return f"<Payout {self.id} seller {self.seller_id} {self.amount_satang} {self.status}>"
