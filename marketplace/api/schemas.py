"""One schema per body of /api/v1: it checks the request (or serialises the answer), and
flask-smorest writes the OpenAPI document from it, so the two cannot drift.

Lengths come from the model columns and numeric limits from ``marketplace.limits``, the
same values the pages' forms and the services use.
"""

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from marketplace.accounts.models import User
from marketplace.api.fields import (
    Body,
    Choice,
    Cursor,
    Day,
    EnumText,
    HeaderText,
    Id,
    ListOf,
    Moment,
    Object,
    Out,
    Pattern,
    QueryNumber,
    Satang,
    Text,
    WholeNumber,
)
from marketplace.catalog.models import Category, Product, ProductStatus
from marketplace.geo.models import Province, Region
from marketplace.grouporders.models import GroupOrder, GroupOrderStatus
from marketplace.grouporders.services import MAX_PRODUCTS as MAX_GROUP_PRODUCTS
from marketplace.i18n import LANGUAGES
from marketplace.levies.models import Beneficiary, LevyKind
from marketplace.limits import (
    DESCRIPTION_LENGTH,
    MAX_LINE_QUANTITY,
    MAX_ORDER_LINES,
    MAX_PRICE_SATANG,
    MAX_PRICE_TIERS,
    MAX_REFUND_LINES,
    MAX_STOCK,
    MAX_WEIGHT_GRAMS,
    PASSWORD_LENGTH,
    SEARCH_LENGTH,
    length,
)
from marketplace.orders.models import (
    DeliveryMethod,
    Order,
    OrderStatus,
    RefundStatus,
    Shipment,
    ShipmentStatus,
)
from marketplace.payments.models import Payment
from marketplace.payouts.models import Payout, PayoutStatus
from marketplace.payouts.services import REASON_LENGTH

#: How an order is paid through the API.
PAYMENT_METHODS = ("transfer", "stripe")
#: The Idempotency-Key header: printable ASCII, as in the IETF draft's examples.
IDEMPOTENCY_KEY_LENGTH = 200


# Errors


class ErrorDetail(Out):
    code = fields.String()
    message = fields.String()
    fields = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class Error(Out):
    """``{"error": {"code", "message", "fields"}}``: ``fields`` names each field that is not
    right (``items[0].quantity``, ``shipping.name``) with its messages."""

    error = fields.Nested(ErrorDetail)


# Accounts and tokens


class NewUser(Body):
    email = Text(length(User.email), required=True)
    password = Text(PASSWORD_LENGTH, required=True)
    name = Text(length(User.name), required=True)
    language = Choice(LANGUAGES, metadata={"default": "th"})


class RegistrationStarted(Out):
    email = fields.String()
    status = fields.String(validate=validate.OneOf(["confirmation_sent"]))


class Credentials(Body):
    email = Text(length(User.email), required=True)
    password = Text(PASSWORD_LENGTH, required=True)


class Token(Out):
    token = fields.String()
    expires_at = fields.DateTime()


# Products


class ProductQuery(Body):
    q = Text(SEARCH_LENGTH, metadata={"description": "Words to search for"})
    category = Text(length(Category.slug), metadata={"description": "A category's slug"})
    province = Text(
        length(Province.code),
        validate=[Pattern(r"^[0-9]{2}$", _l("Use a two-digit DOPA province code."))],
        metadata={"description": "A two-digit DOPA province code"},
    )
    region = Text(length(Region.code))
    seller = QueryNumber(minimum=1)
    cursor = Cursor()


class LevyBadge(Out):
    """A levy a product carries: ``amount_satang`` for per-unit and per-kg levies,
    ``basis_points`` (1% = 100) for a percentage."""

    fund_id = fields.Integer(allow_none=True)
    fund_name = fields.String(allow_none=True)
    beneficiary = EnumText(Beneficiary)
    kind = EnumText(LevyKind)
    amount_satang = Satang(metadata={"sometimes": True})
    basis_points = fields.Integer(validate=validate.Range(0, 10_000), metadata={"sometimes": True})


class SellerBrief(Out):
    id = fields.Integer()
    name = fields.String()
    province_code = fields.String()


class PriceTierOut(Out):
    """A quantity price: from ``min_quantity`` units of the product in one order (lines of
    it summed), every unit costs ``price_satang``."""

    min_quantity = fields.Integer(validate=validate.Range(min=2, max=MAX_LINE_QUANTITY))
    price_satang = Satang()


class PriceTierIn(Body):
    """A quantity price: lower than the product's price, and lower again for a larger
    ``min_quantity``."""

    min_quantity = WholeNumber(minimum=2, maximum=MAX_LINE_QUANTITY, required=True)
    price_satang = WholeNumber(minimum=1, maximum=MAX_PRICE_SATANG, required=True)


class ProductOut(Out):
    id = fields.Integer()
    name = fields.String()
    name_en = fields.String()
    description = fields.String()
    category = fields.String()
    unit = fields.String()
    unit_en = fields.String(metadata={"description": "The unit in English; empty: use unit"})
    price_satang = Satang()
    stock = fields.Integer(validate=validate.Range(min=0))
    weight_grams = fields.Integer(validate=validate.Range(min=1))
    status = EnumText(ProductStatus)
    seller = fields.Nested(SellerBrief)
    levies = fields.List(fields.Nested(LevyBadge))
    price_tiers = fields.List(
        fields.Nested(PriceTierOut),
        metadata={"description": "Quantity prices, by min_quantity (none: [])."},
    )


class ProductList(Out):
    items = fields.List(fields.Nested(ProductOut))
    next_cursor = fields.String(allow_none=True)


def _product_fields(required):
    return {
        "name": Text(length(Product.name_th), required=required),
        "name_en": Text(length(Product.name_en)),
        "description": Text(DESCRIPTION_LENGTH),
        "category": Text(length(Category.slug), required=required),
        "unit": Text(length(Product.unit_label), required=required),
        "unit_en": Text(length(Product.unit_label_en)),
        "price_satang": WholeNumber(minimum=1, maximum=MAX_PRICE_SATANG, required=required),
        "stock": WholeNumber(maximum=MAX_STOCK, required=required),
        "weight_grams": WholeNumber(minimum=1, maximum=MAX_WEIGHT_GRAMS, required=required),
        "status": Choice(ProductStatus),
        "price_tiers": ListOf(
            Object(PriceTierIn),
            max_items=MAX_PRICE_TIERS,
            metadata={
                "description": "Quantity prices: all of them (left out of a change: kept as "
                "they are; []: none)."
            },
        ),
    }


#: A new product; ``seller_id`` may be left out by a member of exactly one seller.
NewProduct = Body.from_dict({"seller_id": Id(), **_product_fields(True)}, name="NewProduct")
#: What a PATCH may change: any of a product's fields.
ProductChanges = Body.from_dict(_product_fields(False), name="ProductChanges")


# Orders


class IdempotencyHeader(Body):
    key = HeaderText(
        IDEMPOTENCY_KEY_LENGTH,
        min_length=1,
        required=True,
        data_key="Idempotency-Key",
        validate=[Pattern(r"^[!-~]+$", "")],
        metadata={"example": "order-2569-0001"},
        message=_l("Send an Idempotency-Key header of 1 to 200 characters."),
    )


class OrderLine(Body):
    product_id = Id(required=True)
    quantity = WholeNumber(minimum=1, maximum=MAX_LINE_QUANTITY, required=True)


class ShippingAddress(Body):
    name = Text(length(Order.ship_name), required=True)
    phone = Text(length(Order.ship_phone), required=True)
    address_line = Text(length(Order.ship_address_line), required=True)
    subdistrict_code = Text(6, required=True)
    postal_code = Text(length(Order.ship_postal_code), required=True)


class NewOrder(Body):
    items = ListOf(
        Object(OrderLine),
        min_items=1,
        max_items=MAX_ORDER_LINES,
        too_few=_l("Order at least one product."),
        required=True,
    )
    shipping = Object(ShippingAddress, required=True)
    payment_method = Choice(PAYMENT_METHODS, required=True)


NEW_ORDER_EXAMPLE = {
    "items": [{"product_id": 1, "quantity": 1}],
    "shipping": {
        "name": "สมศรี ใจดี",
        "phone": "0812345601",
        "address_line": "45/2 หมู่ 3 ถนนวิเศษ",
        "subdistrict_code": "830107",
        "postal_code": "83130",
    },
    "payment_method": "transfer",
}


class PageQuery(Body):
    cursor = Cursor()


class LevyLine(Out):
    fund_id = fields.Integer()
    amount_satang = Satang()


class OrderItemOut(Out):
    id = fields.Integer()
    product_id = fields.Integer()
    name = fields.String(attribute="name_th")
    quantity = fields.Integer(validate=validate.Range(min=1))
    refunded_quantity = fields.Integer(validate=validate.Range(min=0))
    unit_price_satang = Satang()
    line_total_satang = Satang()
    levies = fields.List(fields.Nested(LevyLine))
    platform_fee_satang = Satang(
        metadata={"description": "The marketplace's fee, deducted from the seller's proceeds."}
    )


class ShipmentOut(Out):
    id = fields.Integer()
    seller_id = fields.Integer()
    status = EnumText(ShipmentStatus)
    method = EnumText(DeliveryMethod)
    shipping_satang = Satang()
    carrier = fields.String()
    tracking_number = fields.String()
    items = fields.List(fields.Nested(OrderItemOut))


class PaymentOut(Out):
    provider = fields.String(validate=validate.OneOf(PAYMENT_METHODS))
    status = fields.String()
    stripe_payment_intent_id = fields.String(allow_none=True, metadata={"sometimes": True})


class OrderOut(Out):
    id = fields.Integer()
    number = fields.String()
    status = EnumText(OrderStatus)
    buyer_id = fields.Integer()
    subtotal_satang = Satang()
    shipping_satang = Satang()
    total_satang = Satang()
    refunded_satang = Satang()
    levy_total_satang = Satang()
    platform_fee_total_satang = Satang()
    shipments = fields.List(fields.Nested(ShipmentOut))
    payment = fields.Nested(PaymentOut, allow_none=True)


class OrderList(Out):
    items = fields.List(fields.Nested(OrderOut))
    next_cursor = fields.String(allow_none=True)


class PaymentConfirmation(Body):
    reference = Text(length(Payment.reference))


class RefundLine(Body):
    order_item_id = Id(required=True)
    quantity = WholeNumber(minimum=1, maximum=MAX_LINE_QUANTITY, required=True)


class RefundRequest(Body):
    """Which items to refund; without ``items``, everything not refunded yet."""

    items = ListOf(Object(RefundLine), max_items=MAX_REFUND_LINES)


class RefundLineOut(Out):
    order_item_id = fields.Integer()
    quantity = fields.Integer()
    amount_satang = Satang()


class RefundOut(Out):
    """A refund: ``pending`` while a card refund waits for Stripe's answer, then
    ``succeeded`` (posted to the ledger) or ``failed`` (the units are refundable again)."""

    id = fields.Integer()
    order_id = fields.Integer()
    status = EnumText(RefundStatus)
    amount_satang = Satang()
    shipping_satang = Satang()
    items = fields.List(fields.Nested(RefundLineOut))


class ShipRequest(Body):
    carrier = Text(length(Shipment.carrier), required=True)
    tracking_number = Text(length(Shipment.tracking_number), required=True)


# Funds


class FundOut(Out):
    id = fields.Integer()
    name = fields.String()
    name_en = fields.String()
    province_code = fields.String()
    payable_satang = Satang()
    receivable_satang = Satang()
    balance_satang = Satang()


class PeriodQuery(Body):
    start = Day(data_key="from", metadata={"description": "First day (Asia/Bangkok)"})
    end = Day(data_key="to", metadata={"description": "Last day, inclusive"})


class _Row(Out):
    name = fields.String(attribute="label")
    accrued_satang = Satang()
    reversed_satang = Satang()
    net_satang = Satang()


class ProductRow(_Row):
    product_id = fields.Integer(attribute="key")


class SellerRow(_Row):
    seller_id = fields.Integer(attribute="key")


class ProvinceRow(_Row):
    province_code = fields.String(attribute="key")


class LevyReport(Out):
    fund_id = fields.Integer()
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    accrued_satang = Satang()
    reversed_satang = Satang()
    net_satang = Satang()
    remitted_satang = Satang()
    balance_satang = Satang()
    by_product = fields.List(fields.Nested(ProductRow))
    by_seller = fields.List(fields.Nested(SellerRow))
    by_buyer_province = fields.List(fields.Nested(ProvinceRow))


class LedgerLine(Out):
    account = fields.String(attribute="account.code")
    amount_satang = Satang()


class LedgerEntry(Out):
    id = fields.Integer()
    key = fields.String()
    kind = fields.String()
    chain = fields.String()
    seq = fields.Integer()
    prev_hash = fields.String()
    hash = fields.String()
    occurred_at = fields.DateTime()
    local_date = fields.Date()
    order_id = fields.Integer(allow_none=True)
    levy_satang = Satang()
    lines = fields.List(fields.Nested(LedgerLine))


class LedgerPage(Out):
    items = fields.List(fields.Nested(LedgerEntry))
    next_cursor = fields.String(allow_none=True)


# Sellers' money (issue 13)


class SellerBalance(Out):
    """What the marketplace holds for a seller: ``pending`` (paid, not yet delivered, or in
    the hold after delivery), ``available`` (free to be paid), ``in_payout`` (reserved by a
    payout not yet paid), ``paid_out`` (paid, in all) and ``owed`` (what the seller owes
    back: a refund after the money was paid out, settled by later proceeds)."""

    seller_id = fields.Integer()
    pending_satang = Satang()
    available_satang = Satang()
    in_payout_satang = Satang()
    paid_out_satang = Satang()
    owed_satang = Satang()


class PayoutOut(Out):
    """A payout: ``pending`` (reserved, to be sent), ``paid`` or ``failed``."""

    id = fields.Integer()
    run_id = fields.Integer()
    seller_id = fields.Integer()
    amount_satang = Satang()
    status = EnumText(PayoutStatus)
    bank_reference = fields.String()
    paid_on = fields.Date(allow_none=True)
    failure_reason = fields.String()


class PayoutRunOut(Out):
    id = fields.Integer()
    created_at = fields.DateTime()
    total_satang = Satang()
    payouts = fields.List(fields.Nested(PayoutOut))


class PayoutPaid(Body):
    bank_reference = Text(length(Payout.bank_reference), min_length=1, required=True)
    paid_on = Day(required=True, metadata={"description": "The day of the transfer (Bangkok)"})


class PayoutFailed(Body):
    reason = Text(REASON_LENGTH, min_length=1, required=True)


class StatementLine(Out):
    """One movement of a seller's money: ``proceeds`` (a shipment's goods and shipping),
    ``levy``, ``platform_fee``, ``refund``, ``levy_reversal`` and ``platform_fee_reversal``
    (the shares a refund gives back), ``payout`` (paid). ``amount_satang`` is how it moves
    what the marketplace owes the seller; ``balance_satang`` what it owes after the line.
    ``payout_reserved`` (a run set the money aside for a transfer) and ``payout_failed``
    (the transfer did not arrive; the money is available again, ``description`` says why)
    change nothing in all: their ``amount_satang`` is 0 and ``payout_satang`` is the
    payout's amount. Payout lines name their ``payout_id``."""

    kind = fields.String(
        validate=validate.OneOf(
            [
                "proceeds",
                "levy",
                "levy_reversal",
                "platform_fee",
                "platform_fee_reversal",
                "refund",
                "payout_reserved",
                "payout",
                "payout_failed",
            ]
        )
    )
    occurred_at = fields.DateTime()
    order_id = fields.Integer(allow_none=True)
    order_number = fields.String(allow_none=True)
    description = fields.String()
    amount_satang = Satang()
    balance_satang = Satang()
    payout_id = fields.Integer(allow_none=True)
    payout_satang = Satang(allow_none=True)


class StatementTotals(Out):
    """The period's opening and closing balance and its movements by kind (levies and fees
    net of what refunds gave back), and the seller's balances now."""

    opening_balance_satang = Satang()
    closing_balance_satang = Satang()
    proceeds_satang = Satang()
    levies_satang = Satang()
    platform_fees_satang = Satang()
    refunds_satang = Satang()
    payouts_satang = Satang()
    pending_satang = Satang()
    available_satang = Satang()
    in_payout_satang = Satang()
    paid_out_satang = Satang()
    owed_satang = Satang()


class SellerStatement(Out):
    seller_id = fields.Integer()
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    lines = fields.List(fields.Nested(StatementLine))
    totals = fields.Nested(StatementTotals)


# Group orders


class NewGroupOrder(Body):
    seller_id = Id(required=True)
    title = Text(length(GroupOrder.title), min_length=1, required=True)
    closes_at = Moment(required=True)
    product_ids = ListOf(Id(), min_items=1, max_items=MAX_GROUP_PRODUCTS, required=True)
    shipping = Object(ShippingAddress, required=True)
    method = Choice(DeliveryMethod, metadata={"description": "delivery (default) or pickup"})
    fund_id = Id(metadata={"description": "Order on behalf of this fund (you are its treasurer)"})
    note = Text(1000)
    payment_method = Choice(PAYMENT_METHODS, metadata={"description": "transfer by default"})


class PledgeLine(Body):
    product_id = Id(required=True)
    quantity = WholeNumber(minimum=0, maximum=MAX_LINE_QUANTITY, required=True)


class PledgeIn(Body):
    #: Read as given: any wrong code (missing, too long, not text) is a 404, as an unknown one.
    join_code = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "description": "The code of the join link; wrong or missing: 404",
        },
    )
    items = ListOf(Object(PledgeLine), max_items=MAX_GROUP_PRODUCTS, required=True)


class PledgeItemOut(Out):
    product_id = fields.Integer()
    quantity = fields.Integer()


class PledgeLevyOut(Out):
    fund_id = fields.Integer()
    fund_name = fields.String()
    amount_satang = Satang()


class PledgeOut(Out):
    """A member's pledge and share: goods, their part of the shipping, the levy in it (by
    fund), and the total they owe the organiser. Estimates while the group order is open;
    fixed, and adding up to the order to the satang, once it is closed."""

    id = fields.Integer()
    name = fields.String()
    mine = fields.Boolean()
    items = fields.List(fields.Nested(PledgeItemOut))
    goods_satang = Satang()
    shipping_share_satang = Satang()
    levy_satang = Satang()
    levies = fields.List(fields.Nested(PledgeLevyOut))
    total_satang = Satang()
    settled = fields.Boolean()


class NextTierOut(Out):
    min_quantity = fields.Integer()
    price_satang = Satang()
    units_short = fields.Integer()


class GroupProductOut(Out):
    product_id = fields.Integer()
    name = fields.String()
    unit = fields.String()
    units = fields.Integer()
    unit_price_satang = Satang()
    next_tier = fields.Nested(NextTierOut, allow_none=True)


class GroupTotalsOut(Out):
    units = fields.Dict(keys=fields.String(), values=fields.Integer())
    members = fields.Integer()
    goods_satang = Satang()
    shipping_satang = Satang()
    levy_satang = Satang()
    total_satang = Satang()


class GroupOrderOut(Out):
    """A group order. The organiser (and admins) see every pledge; a member sees their own
    and the totals. ``join_code`` and ``join_url`` are shown to the organiser."""

    id = fields.Integer()
    status = EnumText(GroupOrderStatus)
    title = fields.String()
    seller_id = fields.Integer()
    fund_id = fields.Integer(allow_none=True)
    closes_at = fields.DateTime()
    method = EnumText(DeliveryMethod)
    note = fields.String()
    join_code = fields.String(metadata={"sometimes": True})
    join_url = fields.String(metadata={"sometimes": True})
    order_id = fields.Integer(allow_none=True)
    order_number = fields.String(allow_none=True)
    final = fields.Boolean(metadata={"description": "false while the shares are estimates"})
    products = fields.List(fields.Nested(GroupProductOut))
    pledges = fields.List(fields.Nested(PledgeOut))
    totals = fields.Nested(GroupTotalsOut)
