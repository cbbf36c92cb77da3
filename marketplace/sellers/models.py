"""Sellers: community groups (community enterprises, OTOP groups, cooperatives)."""

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.dbtypes import UTCDateTime, str_enum, utcnow
from marketplace.extensions import db
from marketplace.organisations.models import OrganisationMixin


class SellerKind(enum.StrEnum):
    COMMUNITY_ENTERPRISE = "community_enterprise"
    OTOP_GROUP = "otop_group"
    COOPERATIVE = "cooperative"
    OTHER = "other"


class Seller(OrganisationMixin, db.Model):
    __tablename__ = "sellers"
    __table_args__ = (
        CheckConstraint(
            "platform_fee_bps IS NULL OR (platform_fee_bps >= 0 AND platform_fee_bps <= 10000)",
            name="platform_fee_bps_within",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SellerKind] = mapped_column(str_enum(SellerKind, length=32))
    #: PromptPay ID for payouts: a 10-digit mobile number or a 13-digit tax/citizen ID.
    promptpay_id: Mapped[str] = mapped_column(String(13), default="")
    #: Buyers may collect their order at the seller, free of shipping.
    offers_pickup: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Where and when to collect, shown to buyers who choose pickup.
    pickup_note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    #: The platform fee on this seller's sales in basis points, set by an admin; NULL: the
    #: marketplace's PLATFORM_FEE_BPS.
    platform_fee_bps: Mapped[int | None] = mapped_column(nullable=True)

    members: Mapped[list["SellerMember"]] = relationship(
        back_populates="seller", cascade="all, delete-orphan"
    )


class SellerMember(db.Model):
    __tablename__ = "seller_members"
    #: The column naming the organisation (see organisations.link_person).
    owner_key = "seller_id"
    __table_args__ = (UniqueConstraint("seller_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    seller: Mapped[Seller] = relationship(back_populates="members")
    user: Mapped["User"] = relationship(back_populates="seller_memberships")  # noqa: F821
