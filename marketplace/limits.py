"""Limits that forms, API schemas, services and models share: change one here, all follow.

Text lengths are the model columns' own (``length(Product.name_th)``), so a form or a schema
can never accept more than the database keeps; limits no column carries are named below.
"""

from marketplace.guards import MAX_ID

__all__ = [
    "DESCRIPTION_LENGTH",
    "MAX_ID",
    "MAX_LINE_QUANTITY",
    "MAX_ORDER_LINES",
    "MAX_PRICE_SATANG",
    "MAX_PRICE_TIERS",
    "MAX_REFUND_LINES",
    "MAX_STOCK",
    "MAX_WEIGHT_GRAMS",
    "PASSWORD_LENGTH",
    "SEARCH_LENGTH",
    "length",
]

MAX_PRICE_SATANG = 10_000_000  # ฿100,000 a unit
MAX_STOCK = 1_000_000
MAX_WEIGHT_GRAMS = 1_000_000  # 1 tonne a unit
#: Units of one product in one order (and in one cart line).
MAX_LINE_QUANTITY = 999
MAX_ORDER_LINES = 100
#: Quantity price tiers of one product (the product form shows as many rows).
MAX_PRICE_TIERS = 4
MAX_REFUND_LINES = 200
#: A product description (a TEXT column: the length is ours, not the database's).
DESCRIPTION_LENGTH = 10_000
#: What a password may be at most (only its hash is stored).
PASSWORD_LENGTH = 128
#: Search words in the catalog.
SEARCH_LENGTH = 100


def length(column):
    """The length of a String column, given as the mapped attribute (``User.email``)."""
    return column.property.columns[0].type.length
