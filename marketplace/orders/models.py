"""Orders: one per checkout, split into one shipment per seller; items snapshot the product."""

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import User
from marketplace.catalog.models import Product
from marketplace.dbtypes import UTCDateTime, str_enum, utcnow
from marketplace.extensions import db
from marketplace.geo.models import Subdistrict
from marketplace.i18n import localized
from marketplace.sellers.models import Seller


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class RefundStatus(enum.StrEnum):
    #: Recorded, its units and amount taken from the order; the payment provider (Stripe)
    #: has not yet said it paid the money back. The ledger has not seen it.
    PENDING = "pending"
    #: Paid back (through the provider, or by the admin by hand); posted to the ledger.
    SUCCEEDED = "succeeded"
    #: The provider refused it: its units and amount went back to the order, and the
    #: ledger never saw it.
    FAILED = "failed"


class ShipmentStatus(enum.StrEnum):
    PREPARING = "preparing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class DeliveryMethod(enum.StrEnum):
    DELIVERY = "delivery"
    PICKUP = "pickup"


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total_satang = subtotal_satang + shipping_satang", name="total_adds_up"),
        Index("ix_orders_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What buyers and sellers quote, e.g. "TC-000123"; set once the id is known.
    number: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[OrderStatus] = mapped_column(
        str_enum(OrderStatus), default=OrderStatus.PENDING_PAYMENT
    )
    subtotal_satang: Mapped[int] = mapped_column(BigInteger)
    shipping_satang: Mapped[int] = mapped_column(BigInteger)
    total_satang: Mapped[int] = mapped_column(BigInteger)
    ship_name: Mapped[str] = mapped_column(String(120))
    ship_phone: Mapped[str] = mapped_column(String(20))
    ship_address_line: Mapped[str] = mapped_column(String(255))
    ship_subdistrict_code: Mapped[str] = mapped_column(ForeignKey("subdistricts.code"))
    ship_postal_code: Mapped[str] = mapped_column(String(5))
    #: "transfer" (PromptPay / bank transfer, confirmed by an admin) or "stripe".
    payment_method: Mapped[str] = mapped_column(String(20))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: An unpaid order is cancelled, and its stock returned, after this moment.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    #: Paid back to the buyer so far (goods and shipping).
    refunded_satang: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    buyer: Mapped[User] = relationship()
    ship_subdistrict: Mapped[Subdistrict] = relationship()
    shipments: Mapped[list["Shipment"]] = relationship(
        back_populates="order", order_by="Shipment.id", cascade="all, delete-orphan"
    )
    items: Mapped[list["OrderItem"]] = relationship(
        back_populates="order", order_by="OrderItem.id", cascade="all, delete-orphan"
    )

    def __repr__(self):
        return f"<Order {self.id} {self.number} {self.status}>"


class Shipment(db.Model):
    """The part of an order one seller fulfils: one parcel, or a pickup."""

    __tablename__ = "shipments"
    __table_args__ = (
        CheckConstraint(
            "shipping_refunded_satang <= shipping_satang", name="shipping_refund_within"
        ),
        # Releases look for delivered shipments whose hold is over (payouts/proceeds.py).
        Index("ix_shipments_status_delivered_at", "status", "delivered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    method: Mapped[DeliveryMethod] = mapped_column(str_enum(DeliveryMethod))
    status: Mapped[ShipmentStatus] = mapped_column(
        str_enum(ShipmentStatus), default=ShipmentStatus.PREPARING
    )
    shipping_satang: Mapped[int] = mapped_column(BigInteger)
    weight_grams: Mapped[int] = mapped_column()
    subtotal_satang: Mapped[int] = mapped_column(BigInteger)
    #: Shipping fee paid back so far (a full refund returns it).
    shipping_refunded_satang: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    carrier: Mapped[str] = mapped_column(String(60), default="")
    tracking_number: Mapped[str] = mapped_column(String(60), default="")
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    order: Mapped[Order] = relationship(back_populates="shipments")
    seller: Mapped[Seller] = relationship()
    items: Mapped[list["OrderItem"]] = relationship(
        back_populates="shipment", order_by="OrderItem.id"
    )


class OrderItem(db.Model):
    """A product as it was sold: name, unit and price are copied when the order is placed."""

    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "line_total_satang = unit_price_satang * quantity", name="line_total_adds_up"
        ),
        CheckConstraint(
            "refunded_quantity >= 0 AND refunded_quantity <= quantity",
            name="refunded_within_quantity",
        ),
        CheckConstraint(
            "platform_fee_satang >= 0 AND platform_fee_satang <= line_total_satang",
            name="platform_fee_within_line",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    name_th: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    unit_label: Mapped[str] = mapped_column(String(50))
    unit_label_en: Mapped[str] = mapped_column(String(50), default="", server_default="")
    unit_price_satang: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column()
    line_total_satang: Mapped[int] = mapped_column(BigInteger)
    #: Weight of one unit when sold.
    weight_grams: Mapped[int] = mapped_column()
    #: Units refunded so far.
    refunded_quantity: Mapped[int] = mapped_column(default=0, server_default="0")
    #: The platform fee's rate (basis points) and amount, fixed when the order is placed and
    #: deducted from the seller's proceeds (marketplace/payouts/fees.py).
    platform_fee_bps: Mapped[int] = mapped_column(default=0, server_default="0")
    platform_fee_satang: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    order: Mapped[Order] = relationship(back_populates="items")
    shipment: Mapped[Shipment] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()
    levies: Mapped[list["OrderItemLevy"]] = relationship(  # noqa: F821
        back_populates="order_item", order_by="OrderItemLevy.id", cascade="all, delete-orphan"
    )

    @property
    def name(self):
        return localized(self.name_th, self.name_en)

    @property
    def unit(self):
        return localized(self.unit_label, self.unit_label_en)

    @property
    def levy_satang(self):
        return sum(levy.amount_satang for levy in self.levies)


class Refund(db.Model):
    """Money paid back to a buyer, for whole units of items and, on a full refund, shipping."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_satang > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount_satang: Mapped[int] = mapped_column(BigInteger)
    #: The shipping part of the amount, per shipment in RefundItem rows with no item.
    shipping_satang: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    #: The payment provider's refund id (Stripe), when there is one.
    provider_refund_id: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    #: A refund paid back through Stripe is pending until Stripe says it succeeded; only
    #: then is it posted to the ledger (see ``payments.services.record_refund_sent``).
    status: Mapped[RefundStatus] = mapped_column(
        str_enum(RefundStatus), default=RefundStatus.SUCCEEDED, server_default="succeeded"
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order: Mapped[Order] = relationship()
    items: Mapped[list["RefundItem"]] = relationship(
        back_populates="refund", order_by="RefundItem.id", cascade="all, delete-orphan"
    )


class RefundItem(db.Model):
    __tablename__ = "refund_items"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id", ondelete="CASCADE"), index=True)
    #: The item refunded, or NULL for a shipment's shipping fee.
    order_item_id: Mapped[int | None] = mapped_column(ForeignKey("order_items.id"), nullable=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    quantity: Mapped[int] = mapped_column(default=0)
    #: Units of the item refunded before this refund: fixes how much levy it reverses.
    refunded_before: Mapped[int] = mapped_column(default=0)
    amount_satang: Mapped[int] = mapped_column(BigInteger)

    refund: Mapped[Refund] = relationship(back_populates="items")
    order_item: Mapped[OrderItem | None] = relationship()
