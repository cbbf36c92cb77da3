"""The cart: lines of product and quantity, checked against stock, grouped by seller.

A signed-in buyer's cart is stored in the database (:class:`UserCart`); a guest's lives
in the session (the view passes a :class:`GuestCart`). Both offer the same methods, so
every rule here applies to both; the guest cart is merged into the user's at sign-in.
"""

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.cart.models import CartItem
from marketplace.catalog.models import Product, ProductStatus
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.geo.models import District, Subdistrict
from marketplace.limits import MAX_LINE_QUANTITY
from marketplace.sellers.models import Seller

#: A line is told how many more units reach a cheaper quantity price when it holds at
#: least half of that tier's minimum already, or is this many units from it.
CLOSE_TO_TIER_UNITS = 5


class UserCart:
    def __init__(self, user):
        self.user = user

    def lines(self):
        rows = db.session.execute(
            select(CartItem.product_id, CartItem.quantity)
            .where(CartItem.user_id == self.user.id)
            .order_by(CartItem.id)
        ).all()
        return {product_id: quantity for product_id, quantity in rows}

    def set(self, product_id, quantity):
        item = db.session.scalar(
            select(CartItem).where(
                CartItem.user_id == self.user.id, CartItem.product_id == product_id
            )
        )
        if item is None:
            db.session.add(CartItem(user_id=self.user.id, product_id=product_id, quantity=quantity))
        else:
            item.quantity = quantity
        db.session.flush()

    def remove(self, *product_ids):
        db.session.execute(
            delete(CartItem).where(
                CartItem.user_id == self.user.id, CartItem.product_id.in_(product_ids)
            )
        )
        db.session.flush()


class GuestCart:
    """A cart kept in a dict-like session under ``key``: ``{"product id": quantity}``."""

    def __init__(self, session, key="cart"):
        self.session, self.key = session, key

    def lines(self):
        stored = self.session.get(self.key) or {}
        lines = {}
        for product_id, quantity in stored.items():
            try:
                lines[int(product_id)] = int(quantity)
            except (TypeError, ValueError):
                continue
        return lines

    def set(self, product_id, quantity):
        stored = dict(self.session.get(self.key) or {})
        stored[str(product_id)] = quantity
        self.session[self.key] = stored

    def remove(self, *product_ids):
        stored = dict(self.session.get(self.key) or {})
        for product_id in product_ids:
            stored.pop(str(product_id), None)
        self.session[self.key] = stored

    def clear(self):
        self.session.pop(self.key, None)


def parse_quantity(value):
    """A quantity typed by a person: a whole number from 1 to MAX_LINE_QUANTITY."""
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        raise DomainError(_l("Enter a whole number of units."), field="quantity") from None
    if quantity < 1:
        raise DomainError(_l("Order at least one unit."), field="quantity")
    if quantity > MAX_LINE_QUANTITY:
        raise DomainError(
            _l("At most %(count)d units of one product.", count=MAX_LINE_QUANTITY),
            field="quantity",
        )
    return quantity


def _buyable(product_id):
    product = db.session.get(Product, product_id)
    if product is None or product.status != ProductStatus.ACTIVE or not product.seller.verified:
        raise DomainError(_l("This product is not on sale."), field="product")
    return product


def _check_stock(product, quantity):
    if product.stock <= 0:
        raise DomainError(_l("%(name)s is out of stock.", name=product.name), field="quantity")
    if quantity > product.stock:
        raise DomainError(
            _l("Only %(count)d of %(name)s left.", count=product.stock, name=product.name),
            field="quantity",
        )


def add(cart, product_id, quantity):
    """Add units of a product; the line may not exceed what is in stock."""
    quantity = parse_quantity(quantity)
    product = _buyable(product_id)
    total = cart.lines().get(product.id, 0) + quantity
    if total > MAX_LINE_QUANTITY:
        parse_quantity(total)
    _check_stock(product, total)
    cart.set(product.id, total)
    return total


def change(cart, product_id, quantity):
    """Set a line's quantity (0 removes it)."""
    if str(quantity).strip() == "0":
        cart.remove(product_id)
        return 0
    quantity = parse_quantity(quantity)
    if product_id not in cart.lines():
        raise DomainError(_l("This product is not in your cart."), field="product")
    product = _buyable(product_id)
    _check_stock(product, quantity)
    cart.set(product.id, quantity)
    return quantity


def remove(cart, product_id):
    cart.remove(product_id)


def merge(guest, user_cart):
    """At sign-in: move the guest's lines into the user's cart, capped to stock."""
    mine = user_cart.lines()
    for product_id, quantity in guest.lines().items():
        product = db.session.get(Product, product_id)
        if product is None or product.status != ProductStatus.ACTIVE or not product.seller.verified:
            continue
        wanted = min(mine.get(product_id, 0) + quantity, product.stock, MAX_LINE_QUANTITY)
        if wanted > 0:
            user_cart.set(product_id, wanted)
    guest.clear()


@dataclass
class CartLine:
    product: Product
    quantity: int
    #: Why the line cannot be bought as it is, or "" when it can.
    problem: str = ""

    @property
    def unit_price_satang(self):
        """What each unit costs at this quantity: the order charges the same."""
        return self.product.unit_price(self.quantity)

    @property
    def tier_applied(self):
        return self.unit_price_satang < self.product.price_satang

    @property
    def total_satang(self):
        return self.unit_price_satang * self.quantity

    @property
    def next_tier(self):
        """The cheaper quantity price a few more units would reach (a NextTier), when the
        line is close to it and the stock has the units; else None."""
        if self.problem:
            return None
        tier = self.product.next_tier(self.quantity)
        if tier is None or tier.units_short > max(self.quantity, CLOSE_TO_TIER_UNITS):
            return None
        if tier.min_quantity > min(self.product.stock, MAX_LINE_QUANTITY):
            return None
        return tier

    @property
    def weight_grams(self):
        return self.product.weight_grams * self.quantity


@dataclass
class SellerGroup:
    seller: Seller
    lines: list = field(default_factory=list)

    @property
    def subtotal_satang(self):
        return sum(line.total_satang for line in self.lines)

    @property
    def weight_grams(self):
        return sum(line.weight_grams for line in self.lines)


@dataclass
class CartView:
    groups: list

    @property
    def subtotal_satang(self):
        return sum(group.subtotal_satang for group in self.groups)

    @property
    def count(self):
        return sum(line.quantity for group in self.groups for line in group.lines)

    @property
    def has_problems(self):
        return any(line.problem for group in self.groups for line in group.lines)

    @property
    def is_empty(self):
        return not self.groups


def view(cart):
    """The cart's lines with their products, grouped by seller, each line checked."""
    lines = cart.lines()
    if not lines:
        return CartView(groups=[])
    products = db.session.scalars(
        select(Product)
        .where(Product.id.in_(lines))
        .options(
            joinedload(Product.seller)
            .joinedload(Seller.subdistrict)
            .joinedload(Subdistrict.district)
            .joinedload(District.province),
            selectinload(Product.price_tiers),
        )
    ).all()
    groups = {}
    for product in sorted(products, key=lambda p: (p.seller.name_th, p.name_th)):
        quantity = lines[product.id]
        problem = ""
        if product.status != ProductStatus.ACTIVE or not product.seller.verified:
            problem = _l("No longer on sale.")
        elif product.stock == 0:
            problem = _l("Out of stock.")
        elif quantity > product.stock:
            problem = _l("Only %(count)d left.", count=product.stock)
        group = groups.setdefault(product.seller_id, SellerGroup(seller=product.seller))
        group.lines.append(CartLine(product=product, quantity=quantity, problem=problem))
    return CartView(groups=list(groups.values()))
