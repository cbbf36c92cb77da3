from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db


class ShippingRate(db.Model):
    """One weight tier of a rate table: same price nationwide.

    ``seller_id`` NULL is the platform's default table, used by sellers without their own.
    """

    __tablename__ = "shipping_rates"
    __table_args__ = (
        CheckConstraint("max_weight_grams > 0", name="max_weight_positive"),
        CheckConstraint("fee_satang >= 0", name="fee_not_negative"),
        Index("ix_shipping_rates_seller_weight", "seller_id", "max_weight_grams", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int | None] = mapped_column(
        ForeignKey("sellers.id", ondelete="CASCADE"), nullable=True
    )
    #: The tier covers parcels up to this weight.
    max_weight_grams: Mapped[int] = mapped_column()
    fee_satang: Mapped[int] = mapped_column(BigInteger)
