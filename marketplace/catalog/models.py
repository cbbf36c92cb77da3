"""Products that sellers list, their categories and images."""

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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.catalog import tiers
from marketplace.dbtypes import UTCDateTime, str_enum, utcnow
from marketplace.extensions import db
from marketplace.i18n import localized
from marketplace.sellers.models import Seller

MAX_IMAGES = 5


class Category(db.Model):
    """Kinds of goods; admins edit the table."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable key used in URLs, e.g. "rice-grains".
    slug: Mapped[str] = mapped_column(String(50), unique=True)
    name_th: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    position: Mapped[int] = mapped_column(default=0)
    #: A retired category keeps its products but is offered for no new ones.
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def name(self):
        return localized(self.name_th, self.name_en)


class ProductStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_satang > 0", name="price_positive"),
        CheckConstraint("weight_grams > 0", name="weight_positive"),
        Index("ix_products_status_created", "status", "created_at"),
        # Substring search on Thai text (no spaces between words): trigrams on PostgreSQL.
        Index(
            "ix_products_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    name_th: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    #: What one unit is, as buyers read it: "ถุง 5 กก.", "ต้น", "ชิ้น".
    unit_label: Mapped[str] = mapped_column(String(50))
    #: The unit in English ("5 kg bag"), shown on English pages; empty: the Thai one.
    unit_label_en: Mapped[str] = mapped_column(String(50), default="", server_default="")
    price_satang: Mapped[int] = mapped_column(BigInteger)
    #: Units available; reserved atomically when an order is placed, never below 0.
    stock: Mapped[int] = mapped_column(default=0)
    #: Weight of one unit, for shipping fees and per-kg levies.
    weight_grams: Mapped[int] = mapped_column()
    status: Mapped[ProductStatus] = mapped_column(
        str_enum(ProductStatus, length=16),
        default=ProductStatus.DRAFT,
    )
    #: Lower-cased names, unit and description, for substring search (pg_trgm on PostgreSQL).
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    seller: Mapped[Seller] = relationship()
    category: Mapped[Category] = relationship()
    images: Mapped[list["ProductImage"]] = relationship(
        back_populates="product",
        order_by="ProductImage.position, ProductImage.id",
        cascade="all, delete-orphan",
    )
    #: Lower unit prices by the quantity in one order (catalog/tiers.py), by minimum.
    price_tiers: Mapped[list["ProductPriceTier"]] = relationship(
        back_populates="product",
        order_by="ProductPriceTier.min_quantity",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __repr__(self):
        return f"<Product {self.id} {self.name_th}>"

    def unit_price(self, quantity):
        """The unit price of ``quantity`` units in one order (its tiers, loaded)."""
        return tiers.unit_price(self.price_satang, self.price_tiers, quantity)

    def next_tier(self, quantity):
        """The next cheaper tier from ``quantity`` units (a tiers.NextTier), or None."""
        return tiers.next_tier(self.price_satang, self.price_tiers, quantity)

    @property
    def name(self):
        return localized(self.name_th, self.name_en)

    @property
    def unit(self):
        """The unit in the reader's language."""
        return localized(self.unit_label, self.unit_label_en)

    @property
    def cover(self):
        return self.images[0] if self.images else None

    @property
    def is_buyable(self):
        return self.status == ProductStatus.ACTIVE and self.seller.verified and self.stock > 0


class ProductPriceTier(db.Model):
    """From ``min_quantity`` units of the product in one order, each unit costs
    ``price_satang``: less than the product's price, and less again for a larger minimum
    (the catalog service checks both; rows are replaced together)."""

    __tablename__ = "product_price_tiers"
    __table_args__ = (
        CheckConstraint("min_quantity > 1", name="min_quantity_above_one"),
        CheckConstraint("price_satang > 0", name="price_positive"),
        UniqueConstraint("product_id", "min_quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    min_quantity: Mapped[int] = mapped_column()
    price_satang: Mapped[int] = mapped_column(BigInteger)

    product: Mapped[Product] = relationship(back_populates="price_tiers")


class ProductImage(db.Model):
    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    #: Random file names under instance/uploads/products/.
    display_name: Mapped[str] = mapped_column(String(64))
    thumb_name: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[Product] = relationship(back_populates="images")
