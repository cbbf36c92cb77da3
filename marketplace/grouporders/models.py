"""Group orders (สั่งซื้อรวม): an organiser gathers members' pledges for one seller's
products into one order, one parcel and one levy trail.

While the group order is open, a pledge holds only quantities. Closing places one order
(marketplace/orders/services.place_order) and fixes each pledge's share of it — goods at the
order's unit prices, shipping and every levy line split so that the pledges add up to the
order to the satang (marketplace/grouporders/shares.py) — in the pledge's columns and its
:class:`PledgeLevy` rows. Those stored figures are never recomputed.
"""

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import User
from marketplace.catalog.models import Product
from marketplace.dbtypes import UTCDateTime, str_enum, utcnow
from marketplace.extensions import db
from marketplace.funds.models import Fund
from marketplace.geo.models import Subdistrict
from marketplace.levies.models import OrderItemLevy
from marketplace.orders.models import DeliveryMethod, Order
from marketplace.sellers.models import Seller


class GroupOrderStatus(enum.StrEnum):
    #: Members pledge (until the closing time); the organiser may close it early.
    OPEN = "open"
    #: The one order is placed (``order_id``); pledges hold their shares of it.
    CLOSED = "closed"
    #: Called off by the organiser, or nothing was pledged by the closing time.
    CANCELLED = "cancelled"


class GroupOrder(db.Model):
    __tablename__ = "group_orders"
    __table_args__ = (
        # A closed group order has its order; a cancelled one may keep the order that was
        # cancelled under it.
        CheckConstraint("status != 'closed' OR order_id IS NOT NULL", name="closed_has_order"),
        Index("ix_group_orders_status_closes_at", "status", "closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    #: Levies whose beneficiary is "the buyer's own fund" go to this fund (the organiser is
    #: one of its treasurers); without it, to the organiser's own fund as for any order.
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("funds.id"), nullable=True)
    title: Mapped[str] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(Text, default="")
    #: Members may pledge until this moment; the beat closes the group order then.
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The secret in the join link: who has it may pledge.
    join_code: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[GroupOrderStatus] = mapped_column(
        str_enum(GroupOrderStatus), default=GroupOrderStatus.OPEN
    )
    method: Mapped[DeliveryMethod] = mapped_column(
        str_enum(DeliveryMethod), default=DeliveryMethod.DELIVERY
    )
    #: Where the one parcel goes (for a pickup: who collects it, and their address).
    ship_name: Mapped[str] = mapped_column(String(120))
    ship_phone: Mapped[str] = mapped_column(String(20))
    ship_address_line: Mapped[str] = mapped_column(String(255))
    ship_subdistrict_code: Mapped[str] = mapped_column(ForeignKey("subdistricts.code"))
    ship_postal_code: Mapped[str] = mapped_column(String(5))
    #: How the organiser pays the whole order ("transfer" or "stripe").
    payment_method: Mapped[str] = mapped_column(String(20), default="transfer")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: When the beat last found the stock short at the closing time (the organiser was told).
    short_noticed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id"), nullable=True, unique=True
    )

    organiser: Mapped[User] = relationship()
    seller: Mapped[Seller] = relationship()
    fund: Mapped[Fund | None] = relationship()
    order: Mapped[Order | None] = relationship()
    ship_subdistrict: Mapped[Subdistrict] = relationship()
    offers: Mapped[list["GroupOrderProduct"]] = relationship(
        back_populates="group_order", order_by="GroupOrderProduct.id", cascade="all, delete-orphan"
    )
    pledges: Mapped[list["Pledge"]] = relationship(
        back_populates="group_order", order_by="Pledge.id", cascade="all, delete-orphan"
    )

    @property
    def products(self):
        return [offer.product for offer in self.offers]

    def __repr__(self):
        return f"<GroupOrder {self.id} {self.status}>"


class GroupOrderProduct(db.Model):
    """A product the organiser offers in the group order."""

    __tablename__ = "group_order_products"
    __table_args__ = (UniqueConstraint("group_order_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_order_id: Mapped[int] = mapped_column(
        ForeignKey("group_orders.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))

    group_order: Mapped[GroupOrder] = relationship(back_populates="offers")
    product: Mapped[Product] = relationship()


class Pledge(db.Model):
    """One member's part of a group order. The share columns are set when it closes."""

    __tablename__ = "pledges"
    __table_args__ = (
        UniqueConstraint("group_order_id", "user_id"),
        CheckConstraint(
            "total_satang = goods_satang + shipping_share_satang", name="pledge_total_adds_up"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_order_id: Mapped[int] = mapped_column(
        ForeignKey("group_orders.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The last time the member changed their quantities.
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    goods_satang: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    shipping_share_satang: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    levy_satang: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    total_satang: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: The member has paid the organiser their total.
    settled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    group_order: Mapped[GroupOrder] = relationship(back_populates="pledges")
    user: Mapped[User] = relationship()
    items: Mapped[list["PledgeItem"]] = relationship(
        back_populates="pledge", order_by="PledgeItem.product_id", cascade="all, delete-orphan"
    )
    levies: Mapped[list["PledgeLevy"]] = relationship(
        back_populates="pledge", order_by="PledgeLevy.id", cascade="all, delete-orphan"
    )

    @property
    def quantities(self):
        """Product id → units pledged."""
        return {item.product_id: item.quantity for item in self.items}


class PledgeItem(db.Model):
    __tablename__ = "pledge_items"
    __table_args__ = (
        UniqueConstraint("pledge_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column()
    #: When the member last asked for more of it: trimming takes the latest units first.
    pledged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The order's unit price for this product, set when the group order closes.
    unit_price_satang: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    pledge: Mapped[Pledge] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()


class PledgeLevy(db.Model):
    """A pledge's share of one levy line of the order (its fund, to the satang)."""

    __tablename__ = "pledge_levies"
    __table_args__ = (
        UniqueConstraint("pledge_id", "order_item_levy_id"),
        CheckConstraint("amount_satang >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id", ondelete="CASCADE"))
    order_item_levy_id: Mapped[int] = mapped_column(ForeignKey("order_item_levies.id"))
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"))
    amount_satang: Mapped[int] = mapped_column(BigInteger)

    pledge: Mapped[Pledge] = relationship(back_populates="levies")
    levy_line: Mapped[OrderItemLevy] = relationship()
    fund: Mapped[Fund] = relationship()
