"""Every model, imported in one place so the metadata (and Alembic) sees them all."""

from marketplace.accounts.models import User
from marketplace.api.models import ApiToken, IdempotencyKey
from marketplace.audit.models import AuditParty, AuditRecord
from marketplace.cart.models import CartItem
from marketplace.catalog.models import Category, Product, ProductImage
from marketplace.funds.models import Fund, FundTreasurer
from marketplace.geo.models import District, PostalCode, Province, Region, Subdistrict
from marketplace.grouporders.models import (
    GroupOrder,
    GroupOrderProduct,
    Pledge,
    PledgeItem,
    PledgeLevy,
)
from marketplace.ledger.models import (
    Account,
    FundLevyDay,
    FundLevyMonth,
    JournalEntry,
    JournalLine,
    Remittance,
)
from marketplace.levies.models import LevyRule, OrderItemLevy
from marketplace.orders.models import Order, OrderItem, Refund, RefundItem, Shipment
from marketplace.outbox.models import OutboxMessage
from marketplace.payments.models import Payment, PaymentIssue, StripeEvent
from marketplace.payouts.models import Payout, PayoutRun
from marketplace.sellers.models import Seller, SellerMember
from marketplace.shipping.models import ShippingRate

__all__ = [
    "AuditParty",
    "AuditRecord",
    "ApiToken",
    "IdempotencyKey",
    "Account",
    "FundLevyDay",
    "FundLevyMonth",
    "JournalEntry",
    "JournalLine",
    "LevyRule",
    "OrderItemLevy",
    "Refund",
    "RefundItem",
    "Remittance",
    "CartItem",
    "Order",
    "OrderItem",
    "Payment",
    "PaymentIssue",
    "Payout",
    "PayoutRun",
    "StripeEvent",
    "Shipment",
    "ShippingRate",
    "Category",
    "Product",
    "ProductImage",
    "District",
    "Fund",
    "FundTreasurer",
    "GroupOrder",
    "GroupOrderProduct",
    "Pledge",
    "PledgeItem",
    "PledgeLevy",
    "OutboxMessage",
    "PostalCode",
    "Province",
    "Region",
    "Seller",
    "SellerMember",
    "Subdistrict",
    "User",
]
