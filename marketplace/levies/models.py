"""Levy rules (agreements between a seller and a fund) and the levies snapshotted on orders."""

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.catalog.models import Category, Product
from marketplace.dbtypes import UTCDateTime, str_enum, utcnow
from marketplace.extensions import db
from marketplace.funds.models import Fund
from marketplace.sellers.models import Seller


class LevyKind(enum.StrEnum):
    PER_UNIT = "per_unit"
    PER_KG = "per_kg"
    PERCENT = "percent"


class LevyScope(enum.StrEnum):
    SELLER = "seller"
    CATEGORY = "category"
    PRODUCT = "product"


class Beneficiary(enum.StrEnum):
    #: The fund named on the rule.
    FUND = "fund"
    #: Whichever fund the buyer is affiliated with; nothing when the buyer has none.
    BUYER_FUND = "buyer_fund"


class RuleStatus(enum.StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    ENDED = "ended"
    DECLINED = "declined"


class Side(enum.StrEnum):
    SELLER = "seller"
    FUND = "fund"


class LevyRule(db.Model):
    __tablename__ = "levy_rules"
    __table_args__ = (
        CheckConstraint("rate >= 0", name="rate_not_negative"),
        CheckConstraint("kind != 'percent' OR rate <= 10000", name="percent_at_most_100"),
        CheckConstraint(
            "effective_to IS NULL OR effective_to >= effective_from", name="dates_in_order"
        ),
        CheckConstraint(
            "(beneficiary = 'fund') = (fund_id IS NOT NULL)", name="fund_named_when_needed"
        ),
        CheckConstraint(
            "(scope = 'category') = (category_id IS NOT NULL)"
            " AND (scope = 'product') = (product_id IS NOT NULL)",
            name="scope_target",
        ),
        Index("ix_levy_rules_seller_status", "seller_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("funds.id"), nullable=True, index=True)
    beneficiary: Mapped[Beneficiary] = mapped_column(
        str_enum(Beneficiary), default=Beneficiary.FUND
    )
    scope: Mapped[LevyScope] = mapped_column(str_enum(LevyScope))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), nullable=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), nullable=True)
    kind: Mapped[LevyKind] = mapped_column(str_enum(LevyKind))
    #: Satang per unit (per_unit), satang per kg of unit weight (per_kg), or basis points.
    rate: Mapped[int] = mapped_column(BigInteger)
    #: First and last day (Asia/Bangkok) the rule applies to orders placed; no end: open.
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[RuleStatus] = mapped_column(str_enum(RuleStatus), default=RuleStatus.PROPOSED)
    #: Which side proposed; the other side (an admin for a buyer's-fund rule) accepts.
    proposed_by_side: Mapped[Side] = mapped_column(str_enum(Side))
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    seller: Mapped[Seller] = relationship()
    fund: Mapped[Fund | None] = relationship()
    category: Mapped[Category | None] = relationship()
    product: Mapped[Product | None] = relationship()

    def __repr__(self):
        return f"<LevyRule {self.id} {self.kind} {self.rate} {self.status}>"


class OrderItemLevy(db.Model):
    """A levy line fixed on an order item when the order is placed; rules never change it."""

    __tablename__ = "order_item_levies"
    __table_args__ = (CheckConstraint("amount_satang > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_item_id: Mapped[int] = mapped_column(
        ForeignKey("order_items.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[int] = mapped_column(ForeignKey("levy_rules.id"))
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    kind: Mapped[LevyKind] = mapped_column(str_enum(LevyKind))
    rate: Mapped[int] = mapped_column(BigInteger)
    amount_satang: Mapped[int] = mapped_column(BigInteger)
    #: Kept with the snapshot so reports never depend on the fund's current name.
    fund_name_th: Mapped[str] = mapped_column(String(200))

    order_item: Mapped["OrderItem"] = relationship(back_populates="levies")  # noqa: F821
    fund: Mapped[Fund] = relationship()
