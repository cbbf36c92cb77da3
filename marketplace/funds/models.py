"""Community welfare funds (กองทุนสวัสดิการชุมชน) and their treasurers."""

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.dbtypes import UTCDateTime, utcnow
from marketplace.extensions import db
from marketplace.organisations.models import OrganisationMixin


class Fund(OrganisationMixin, db.Model):
    __tablename__ = "funds"

    id: Mapped[int] = mapped_column(primary_key=True)

    treasurers: Mapped[list["FundTreasurer"]] = relationship(
        back_populates="fund", cascade="all, delete-orphan"
    )


class FundTreasurer(db.Model):
    __tablename__ = "fund_treasurers"
    #: The column naming the organisation (see organisations.link_person).
    owner_key = "fund_id"
    __table_args__ = (UniqueConstraint("fund_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    fund: Mapped[Fund] = relationship(back_populates="treasurers")
    user: Mapped["User"] = relationship(back_populates="fund_treasurerships")  # noqa: F821
