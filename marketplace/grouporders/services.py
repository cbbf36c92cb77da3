"""Group orders: open, pledge, close into one order, trim, cancel, settle.

Services flush and never commit; they take typed values (the forms and the API's schemas
parse). A group order's row is locked (``FOR UPDATE``) by every change, so that a pledge
never slips in while it closes and concurrent closes place one order.
"""

import csv
import io
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from marketplace.catalog import services as catalog
from marketplace.catalog.models import Product, ProductStatus
from marketplace.dbtypes import utcnow
from marketplace.downloads import csv_text
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.funds.models import Fund
from marketplace.geo import services as geo
from marketplace.grouporders import shares
from marketplace.grouporders.models import (
    GroupOrder,
    GroupOrderProduct,
    GroupOrderStatus,
    Pledge,
    PledgeItem,
    PledgeLevy,
)
from marketplace.i18n import BANGKOK, to_bangkok
from marketplace.levies import services as levies
from marketplace.limits import MAX_LINE_QUANTITY
from marketplace.money import baht_text
from marketplace.orders import services as orders
from marketplace.orders.models import DeliveryMethod
from marketplace.outbox import services as outbox
from marketplace.payments import providers
from marketplace.sellers.models import Seller
from marketplace.shipping import services as shipping

#: The latest closing time a group order may have, from when it is opened.
MAX_OPEN_DAYS = 60
#: The most products one group order offers.
MAX_PRODUCTS = 30


class NothingPledged(Conflict):
    code = "nothing_pledged"


class CannotClose(Conflict):
    """The order cannot be placed for another reason than stock (the seller's shipping
    changed since the group order opened, say); ``field`` says where."""

    code = "cannot_close"


class StockShort(Conflict):
    """Closing would need more units than the seller has; ``fields`` names each product
    (by id) with how many are missing."""

    code = "stock_short"

    def __init__(self, message, shortfalls):
        super().__init__(message)
        self.shortfalls = shortfalls
        self.fields = {str(short.product.id): [short.message] for short in shortfalls}


# Opening


@dataclass(frozen=True)
class GroupOrderTerms:
    """What the organiser chose, parsed (dates aware, ids ints, the method an enum)."""

    seller_id: int
    title: str
    closes_at: datetime
    product_ids: tuple[int, ...]
    address: dict
    method: DeliveryMethod = DeliveryMethod.DELIVERY
    fund_id: int | None = None
    note: str = ""
    payment_method: str = "transfer"


def default_closing_time(now=None):
    """What the form suggests: three days on, at 18:00 in Bangkok."""
    day = to_bangkok(now or utcnow()).date() + timedelta(days=3)
    return datetime.combine(day, time(18, 0), tzinfo=BANGKOK)


def new_join_code():
    return secrets.token_urlsafe(12)


def open_group_order(organiser, terms, *, now=None):
    """Open a group order for ``terms`` with ``organiser`` as its buyer."""
    now = now or utcnow()
    if not isinstance(terms.closes_at, datetime) or terms.closes_at.tzinfo is None:
        raise TypeError("closes_at is an aware datetime")
    title = terms.title.strip()
    if not title:
        raise DomainError(_l("Give the group order a name members recognise."), field="title")
    if terms.closes_at <= now + timedelta(minutes=5):
        raise DomainError(_l("Choose a closing time in the future."), field="closes_at")
    if terms.closes_at > now + timedelta(days=MAX_OPEN_DAYS):
        raise DomainError(
            _l("Close it within %(days)d days.", days=MAX_OPEN_DAYS), field="closes_at"
        )
    seller = db.session.get(Seller, terms.seller_id)
    if seller is None or not seller.verified:
        raise DomainError(_l("Choose a verified seller."), field="seller_id")
    products = _offered_products(seller, terms.product_ids)
    if terms.method == DeliveryMethod.PICKUP and not seller.offers_pickup:
        raise DomainError(_l("This seller does not offer pickup."), field="method")
    fund = None
    if terms.fund_id is not None:
        fund = db.session.get(Fund, terms.fund_id)
        if fund is None or not organiser.is_treasurer_of(fund.id):
            raise DomainError(
                _l("You can only order on behalf of a fund you are a treasurer of."),
                field="fund_id",
            )
        if not fund.verified:
            raise DomainError(_l("This fund is not verified yet."), field="fund_id")
    if providers.get(terms.payment_method) is None:
        raise DomainError(_l("Choose a way to pay."), field="payment_method")
    destination = geo.clean_address(**terms.address)
    group = GroupOrder(
        organiser_id=organiser.id,
        seller=seller,
        fund=fund,
        title=title,
        note=terms.note.strip(),
        closes_at=terms.closes_at,
        join_code=new_join_code(),
        status=GroupOrderStatus.OPEN,
        method=terms.method,
        payment_method=terms.payment_method,
        created_at=now,
        offers=[GroupOrderProduct(product=p) for p in products],
        **destination,
    )
    db.session.add(group)
    db.session.flush()
    return group


def _offered_products(seller, product_ids):
    wanted = list(dict.fromkeys(product_ids))
    if not wanted:
        raise DomainError(_l("Choose at least one product."), field="product_ids")
    if len(wanted) > MAX_PRODUCTS:
        raise DomainError(
            _l("At most %(count)d products.", count=MAX_PRODUCTS), field="product_ids"
        )
    found = {
        p.id: p
        for p in db.session.scalars(
            select(Product).where(Product.id.in_(wanted)).options(selectinload(Product.images))
        )
    }
    for product_id in wanted:
        product = found.get(product_id)
        if product is None or product.seller_id != seller.id:
            raise DomainError(
                _l("Product %(id)s is not one of this seller's.", id=product_id),
                field="product_ids",
            )
        if product.status != ProductStatus.ACTIVE:
            raise DomainError(
                _l("%(name)s is not on sale.", name=product.name), field="product_ids"
            )
    return [found[product_id] for product_id in wanted]


# Reading


def _group_query():
    return select(GroupOrder).options(
        selectinload(GroupOrder.offers)
        .joinedload(GroupOrderProduct.product)
        .selectinload(Product.price_tiers),
        selectinload(GroupOrder.pledges).selectinload(Pledge.items),
        selectinload(GroupOrder.pledges).joinedload(Pledge.user),
        selectinload(GroupOrder.pledges).selectinload(Pledge.levies),
    )


def get(group_id):
    group = db.session.scalars(_group_query().where(GroupOrder.id == group_id)).first()
    if group is None:
        raise NotFound(_l("No such group order."))
    return group


def by_code(join_code):
    """The group order of a join link; NotFound for a wrong code (it does not say whether
    the id exists)."""
    if not join_code or not isinstance(join_code, str) or len(join_code) > 32:
        raise NotFound(_l("This group order link is not valid."))
    group = db.session.scalars(_group_query().where(GroupOrder.join_code == join_code)).first()
    if group is None:
        raise NotFound(_l("This group order link is not valid."))
    return group


def for_member(group_id, join_code):
    """The group order ``group_id`` when ``join_code`` is its code (the API's pledge)."""
    group = by_code(join_code)
    if group.id != group_id:
        raise NotFound(_l("This group order link is not valid."))
    return group


def for_order(order_id):
    """The group order that placed order ``order_id``, or None."""
    return db.session.scalar(select(GroupOrder).where(GroupOrder.order_id == order_id))


def pledge_of(group, user):
    return next((p for p in group.pledges if p.user_id == user.id), None)


def is_organiser(user, group):
    return bool(user and user.is_authenticated and user.id == group.organiser_id)


def can_see(user, group):
    """The organiser and admins see every pledge; a member sees their own."""
    return bool(user and user.is_authenticated and (user.is_admin or is_organiser(user, group)))


def organised_by(user):
    return db.session.scalars(
        _group_query().where(GroupOrder.organiser_id == user.id).order_by(GroupOrder.id.desc())
    ).all()


def joined_by(user):
    return db.session.scalars(
        _group_query()
        .join(Pledge, Pledge.group_order_id == GroupOrder.id)
        .where(Pledge.user_id == user.id, GroupOrder.organiser_id != user.id)
        .order_by(GroupOrder.id.desc())
    ).all()


def accepts_pledges(group, now=None):
    return group.status == GroupOrderStatus.OPEN and (now or utcnow()) < group.closes_at


def _locked(group):
    """Lock the group order's row and reload it and its pledges as committed.

    PostgreSQL locks the row (``FOR UPDATE``). SQLite has no row locks and its driver reads
    outside any transaction until the first write: a no-op write to the row takes the
    database's write lock first, so what is read next is the latest and nobody else changes
    the group order until this transaction ends.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        table = GroupOrder.__table__
        db.session.execute(
            update(table).where(table.c.id == group.id).values(status=table.c.status)
        )
    db.session.execute(
        select(GroupOrder.id).where(GroupOrder.id == group.id).with_for_update()
    ).scalar_one()
    db.session.refresh(group)
    for pledge in list(group.pledges):
        db.session.refresh(pledge)
    return group


def _require_organiser(actor, group):
    """Closing, trimming, cancelling and ticking are the organiser's own (an admin sees the
    group order but does not act for the organiser)."""
    if actor is None or actor.id != group.organiser_id:
        raise Forbidden(_l("Only the organiser can do this."))


# Pledging


def _pledged_quantities(group, items, user):
    offered = {offer.product_id: offer.product for offer in group.offers}
    totals = defaultdict(int)
    for product_id, quantity in items:
        if product_id not in offered:
            raise DomainError(
                _l("Product %(id)s is not part of this group order.", id=product_id),
                field="items",
            )
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            raise DomainError(_l("A quantity is a whole number, 0 or more."), field="items")
        totals[product_id] += quantity
    for quantity in totals.values():
        if quantity > MAX_LINE_QUANTITY:
            raise DomainError(
                _l("At most %(count)d units of one product.", count=MAX_LINE_QUANTITY),
                field="items",
            )
    others = _units(group, besides=user.id)
    mine = pledge_of(group, user)
    before = mine.quantities if mine is not None else {}
    for product_id, quantity in totals.items():
        product = offered[product_id]
        more = quantity > before.get(product_id, 0)
        if more and (product.status != ProductStatus.ACTIVE or not group.seller.verified):
            raise Conflict(_l("%(name)s is no longer on sale.", name=product.name), field="items")
        if others.get(product_id, 0) + quantity > MAX_LINE_QUANTITY:
            raise Conflict(
                _l(
                    "One order holds at most %(count)d of %(name)s; the group has pledged "
                    "%(pledged)d already.",
                    count=MAX_LINE_QUANTITY,
                    name=product.name,
                    pledged=others.get(product_id, 0),
                ),
                field="items",
            )
    return {product_id: q for product_id, q in totals.items() if q > 0}


def pledge(user, group, items, *, now=None):
    """Create or replace ``user``'s pledge (``items``: ``[(product_id, quantity)]``; a
    quantity of 0 drops that product, no items withdraws the pledge). Returns the pledge,
    or None when withdrawn."""
    now = now or utcnow()
    _locked(group)
    if not accepts_pledges(group, now):
        raise Conflict(_l("This group order is closed; pledges can no longer change."))
    wanted = _pledged_quantities(group, items, user)
    current = pledge_of(group, user)
    if not wanted:
        if current is not None:
            group.pledges.remove(current)
            db.session.delete(current)
            db.session.flush()
        return None
    if current is None:
        current = Pledge(user_id=user.id, created_at=now, changed_at=now, items=[])
        group.pledges.append(current)
    before = current.quantities
    if before != wanted:
        current.changed_at = now
        for item in list(current.items):
            if item.product_id not in wanted:
                current.items.remove(item)
                db.session.delete(item)
            else:
                if wanted[item.product_id] > item.quantity:
                    item.pledged_at = now  # more units: they queue behind those before
                item.quantity = wanted[item.product_id]
        for product_id in sorted(set(wanted) - set(before)):
            current.items.append(
                PledgeItem(product_id=product_id, quantity=wanted[product_id], pledged_at=now)
            )
    db.session.flush()
    return current


# What the group adds up to, before and after closing


@dataclass
class ProductProgress:
    product: Product
    units: int
    unit_price_satang: int
    #: The next quantity price the group would reach: None, or the tier with units_short.
    next_tier: object = None

    @property
    def goods_satang(self):
        return self.unit_price_satang * self.units


@dataclass
class Share:
    """One pledge's part: goods, shipping, and the levy per fund (fund → satang)."""

    pledge: Pledge
    goods_satang: int = 0
    shipping_satang: int = 0
    levies: dict = field(default_factory=dict)

    @property
    def levy_satang(self):
        return sum(self.levies.values())

    @property
    def total_satang(self):
        return self.goods_satang + self.shipping_satang


@dataclass
class Summary:
    """The group order's totals and every pledge's share: estimated while it is open
    (prices by the quantity reached so far, shipping by the weight), as fixed by the order
    once closed."""

    group: GroupOrder
    products: list
    shares: list
    shipping_satang: int
    final: bool
    #: Why shipping could not be estimated (the seller's shipping changed), if so.
    shipping_problem: object = None

    @property
    def goods_satang(self):
        return sum(share.goods_satang for share in self.shares)

    @property
    def levy_satang(self):
        return sum(share.levy_satang for share in self.shares)

    @property
    def total_satang(self):
        return self.goods_satang + self.shipping_satang

    @property
    def units(self):
        return {p.product.id: p.units for p in self.products}

    @property
    def members(self):
        return len(self.shares)

    def levies_by_fund(self):
        totals = defaultdict(int)
        for share in self.shares:
            for fund, amount in share.levies.items():
                totals[fund] += amount
        return dict(totals)

    def share_of(self, pledge):
        return next((s for s in self.shares if s.pledge is pledge), None)


def _units(group, besides=None):
    """Units pledged per product id (``besides``: leaving out that user's pledge)."""
    units = defaultdict(int)
    for pledge_ in group.pledges:
        if pledge_.user_id == besides:
            continue
        for item in pledge_.items:
            units[item.product_id] += item.quantity
    return units


def levy_fund(group):
    """The fund that levies for "the buyer's own fund" feed: the group's, else the
    organiser's own."""
    return group.fund or levies.buyer_fund_of(group.organiser)


def summary(group, now=None):
    if group.status == GroupOrderStatus.CLOSED:
        return _fixed_summary(group)
    return _estimate(group, now or utcnow())


def _estimate(group, now):
    units = _units(group)
    progress = [
        ProductProgress(
            product=offer.product,
            units=units.get(offer.product_id, 0),
            unit_price_satang=catalog.unit_price(offer.product, units.get(offer.product_id, 0)),
            next_tier=catalog.next_tier(offer.product, units.get(offer.product_id, 0)),
        )
        for offer in group.offers
    ]
    by_product = {p.product.id: p for p in progress}
    pledges = sorted(group.pledges, key=lambda p: p.id or 0)
    weight = sum(p.units * p.product.weight_grams for p in progress)
    shipping_satang, shipping_problem = 0, None
    if pledges:
        try:
            shipping_satang = shipping.quote(
                group.seller, weight, group.ship_postal_code, group.method
            )
        except DomainError as error:  # the seller changed its shipping since
            shipping_problem = error.message
    rules = levies.badges_for([p.product for p in progress], now=now)
    fund = levy_fund(group) if any(rules.values()) else None
    levy_lines = {}
    for p in progress:
        if p.units:
            levy_lines[p.product.id] = [
                (line.fund, line.amount_satang)
                for line in levies.levies_for(
                    p.product,
                    p.units,
                    unit_price_satang=p.unit_price_satang,
                    unit_weight_grams=p.product.weight_grams,
                    buyer_fund=fund,
                    on_day=levies.today(now),
                    rules=rules.get(p.product.id, []),
                )
            ]
    result = _apportion(
        pledges,
        prices={pid: p.unit_price_satang for pid, p in by_product.items()},
        weights={pid: p.product.weight_grams for pid, p in by_product.items()},
        shipping_satang=shipping_satang,
        levy_lines=levy_lines,
    )
    return Summary(
        group, progress, result, shipping_satang, final=False, shipping_problem=shipping_problem
    )


def _apportion(pledges, *, prices, weights, shipping_satang, levy_lines):
    """Each pledge's share: goods at ``prices``; ``shipping_satang`` in proportion to the
    pledge's weight; every levy line (product → ``[(key, amount)]``) in proportion to the
    pledge's units of that product. Every split adds up exactly (shares.split)."""
    result = [Share(pledge=p) for p in pledges]
    quantities = [{item.product_id: item.quantity for item in p.items} for p in pledges]
    for share, held in zip(result, quantities, strict=True):
        share.goods_satang = sum(prices[pid] * q for pid, q in held.items())
    pledge_weights = [sum(weights[pid] * q for pid, q in held.items()) for held in quantities]
    for share, part in zip(result, shares.split(shipping_satang, pledge_weights), strict=True):
        share.shipping_satang = part
    for product_id, lines in levy_lines.items():
        units = [held.get(product_id, 0) for held in quantities]
        for key, amount in lines:
            for share, part in zip(result, shares.split(amount, units), strict=True):
                if part:
                    share.levies[key] = share.levies.get(key, 0) + part
    return result


def _fixed_summary(group):
    order = group.order
    items = {item.product_id: item for item in order.items}
    units = _units(group)
    progress = [
        ProductProgress(
            product=offer.product,
            units=units.get(offer.product_id, 0),
            unit_price_satang=(
                items[offer.product_id].unit_price_satang
                if offer.product_id in items
                else catalog.unit_price(offer.product, 0)
            ),
        )
        for offer in group.offers
    ]
    result = []
    for pledge_ in sorted(group.pledges, key=lambda p: p.id):
        share = Share(
            pledge=pledge_,
            goods_satang=pledge_.goods_satang,
            shipping_satang=pledge_.shipping_share_satang,
        )
        for line in pledge_.levies:
            share.levies[line.fund] = share.levies.get(line.fund, 0) + line.amount_satang
        result.append(share)
    return Summary(group, progress, result, order.shipping_satang, final=True)


# Closing


@dataclass
class Shortfall:
    product: Product
    pledged: int
    available: int
    #: False when the product (or its seller) is no longer on sale: nothing is available.
    on_sale: bool = True

    @property
    def short(self):
        return self.pledged - self.available

    @property
    def message(self):
        if not self.on_sale:
            return _l(
                "%(name)s is no longer on sale: %(pledged)d pledged.",
                name=self.product.name,
                pledged=self.pledged,
            )
        return _l(
            "%(name)s: %(pledged)d pledged, %(stock)d in stock — %(short)d short.",
            name=self.product.name,
            pledged=self.pledged,
            stock=self.available,
            short=self.short,
        )


def shortfalls(group, *, fresh=False):
    """The products pledged beyond their stock (or no longer on sale), as stock stands now
    (``fresh``: read again from the database, for a decision)."""
    units = _units(group)
    if fresh:
        db.session.refresh(group.seller, ["verified"])
        for offer in group.offers:
            db.session.refresh(offer.product, ["stock", "status"])
    result = []
    for offer in group.offers:
        pledged = units.get(offer.product_id, 0)
        product = offer.product
        on_sale = product.status == ProductStatus.ACTIVE and group.seller.verified
        available = product.stock if on_sale else 0
        if pledged > available:
            result.append(
                Shortfall(product=product, pledged=pledged, available=available, on_sale=on_sale)
            )
    return result


def close(actor, group, *, now=None, system=False):
    """Place the group's one order, once. Returns ``(order, placed)``: ``placed`` is False
    when it was already closed (a repeated or concurrent close gets the same order).

    ``actor`` is the organiser; ``system`` for the beat at the closing time.
    """
    now = now or utcnow()
    if not system:
        _require_organiser(actor, group)
    _locked(group)
    if group.status == GroupOrderStatus.CLOSED:
        return group.order, False
    if group.status == GroupOrderStatus.CANCELLED:
        raise Conflict(_l("This group order was cancelled."))
    if not group.pledges:
        raise NothingPledged(_l("Nobody has pledged anything yet; there is nothing to order."))
    short = shortfalls(group, fresh=True)
    if short:
        raise StockShort(
            _l("The seller does not have enough stock for every pledge; trim the pledges first."),
            short,
        )
    units = _units(group)
    try:
        with db.session.begin_nested():
            order = _place(group, units, now)
    except orders.OutOfStock:  # taken by another buyer since the stock was read
        raise StockShort(
            _l("The seller does not have enough stock for every pledge; trim the pledges first."),
            shortfalls(group, fresh=True),
        ) from None
    except DomainError as error:
        if isinstance(error, Conflict):
            raise
        raise CannotClose(error.message, field=error.field) from None
    group.order = order
    group.status = GroupOrderStatus.CLOSED
    group.closed_at = now
    _fix_shares(group, order)
    db.session.flush()
    for pledge_ in group.pledges:
        outbox.enqueue("tasks.grouporders.closed", group_order_id=group.id, pledge_id=pledge_.id)
    return order, True


def _place(group, units, now):
    return orders.place_order(
        group.organiser,
        sorted(units.items()),
        address={
            "name": group.ship_name,
            "phone": group.ship_phone,
            "address_line": group.ship_address_line,
            "subdistrict_code": group.ship_subdistrict_code,
            "postal_code": group.ship_postal_code,
        },
        methods={group.seller_id: group.method},
        payment_method=group.payment_method,
        now=now,
        levy_fund=group.fund,
    )


def _fix_shares(group, order):
    """Store each pledge's share of the placed order (they add up to it exactly)."""
    items = {item.product_id: item for item in order.items}
    pledges = sorted(group.pledges, key=lambda p: p.id)
    levy_lines = {
        product_id: [(line, line.amount_satang) for line in item.levies]
        for product_id, item in items.items()
    }
    result = _apportion(
        pledges,
        prices={pid: item.unit_price_satang for pid, item in items.items()},
        weights={pid: item.weight_grams for pid, item in items.items()},
        shipping_satang=order.shipping_satang,
        levy_lines=levy_lines,
    )
    for share in result:
        pledge_ = share.pledge
        for item in pledge_.items:
            item.unit_price_satang = items[item.product_id].unit_price_satang
        pledge_.goods_satang = share.goods_satang
        pledge_.shipping_share_satang = share.shipping_satang
        pledge_.total_satang = share.total_satang
        pledge_.levy_satang = share.levy_satang
        for line, amount in share.levies.items():
            pledge_.levies.append(
                PledgeLevy(order_item_levy_id=line.id, fund_id=line.fund_id, amount_satang=amount)
            )


def trim(actor, group, *, now=None):
    """Take back pledged units beyond the stock, from the latest changed pledges first.
    Returns ``[(pledge's user, product, units taken)]``; members are told by mail."""
    now = now or utcnow()
    _require_organiser(actor, group)
    _locked(group)
    if not accepts_changes(group):
        raise Conflict(_l("Only an open group order can be trimmed."))
    trimmed = []
    for short in shortfalls(group, fresh=True):
        left = short.short
        # The units pledged last go first: by when each pledge last asked for more of it.
        holders = sorted(
            (
                item
                for p in group.pledges
                for item in p.items
                if item.product_id == short.product.id
            ),
            key=lambda item: (item.pledged_at, item.pledge_id),
            reverse=True,
        )
        for item in holders:
            if left == 0:
                break
            pledge_ = item.pledge
            taken = min(item.quantity, left)
            left -= taken
            trimmed.append((pledge_, short.product, taken))
            if taken == item.quantity:
                pledge_.items.remove(item)
                db.session.delete(item)
            else:
                item.quantity -= taken
    emptied = [p for p in group.pledges if not p.items]
    db.session.flush()
    told = set()
    for pledge_, _product, _taken in trimmed:
        if pledge_.user_id in told:
            continue
        told.add(pledge_.user_id)
        outbox.enqueue(
            "tasks.grouporders.trimmed",
            group_order_id=group.id,
            user_id=pledge_.user_id,
            changes=[
                [product.id, taken] for p, product, taken in trimmed if p.user_id == pledge_.user_id
            ],
        )
    for pledge_ in emptied:
        group.pledges.remove(pledge_)
        db.session.delete(pledge_)
    db.session.flush()
    return [(p.user, product, taken) for p, product, taken in trimmed]


def accepts_changes(group):
    return group.status == GroupOrderStatus.OPEN


def cancel(actor, group, *, now=None, system=False):
    """Call the group order off (open only); members are told."""
    now = now or utcnow()
    if not system:
        _require_organiser(actor, group)
    _locked(group)
    if group.status == GroupOrderStatus.CANCELLED:
        return group
    if group.status != GroupOrderStatus.OPEN:
        raise Conflict(_l("The order is already placed; cancel the order itself instead."))
    group.status = GroupOrderStatus.CANCELLED
    group.cancelled_at = now
    db.session.flush()
    for pledge_ in group.pledges:
        outbox.enqueue(
            "tasks.grouporders.cancelled", group_order_id=group.id, user_id=pledge_.user_id
        )
    return group


def settle(actor, group, pledge_id, *, settled=True, now=None):
    """The organiser ticks a member's pledge paid to them (or un-ticks it)."""
    now = now or utcnow()
    _require_organiser(actor, group)
    pledge_ = next((p for p in group.pledges if p.id == pledge_id), None)
    if pledge_ is None:
        raise NotFound(_l("No such pledge in this group order."))
    if group.status != GroupOrderStatus.CLOSED:
        raise Conflict(_l("Members settle once the order is placed."))
    if pledge_.settled != settled:
        pledge_.settled = settled
        pledge_.settled_at = now if settled else None
        db.session.flush()
    return pledge_


# The beat


def due(now=None):
    """Ids of open group orders whose closing time has passed."""
    now = now or utcnow()
    return db.session.scalars(
        select(GroupOrder.id)
        .where(GroupOrder.status == GroupOrderStatus.OPEN, GroupOrder.closes_at <= now)
        .order_by(GroupOrder.closes_at, GroupOrder.id)
    ).all()


def close_at_time(group, *, now=None):
    """The beat's close of one group order at its closing time: placed; cancelled when
    nobody pledged; left open (the organiser told once) when the stock is short.
    Returns "closed", "cancelled", "short" or "open" (not due)."""
    now = now or utcnow()
    if group.status != GroupOrderStatus.OPEN or group.closes_at > now:
        return group.status.value
    try:
        with db.session.begin_nested():
            close(None, group, now=now, system=True)
        return "closed"
    except NothingPledged:
        cancel(None, group, now=now, system=True)
        return "cancelled"
    except (StockShort, CannotClose) as error:
        _locked(group)
        if group.status != GroupOrderStatus.OPEN:  # the organiser acted meanwhile
            return group.status.value
        if group.short_noticed_at is None:
            group.short_noticed_at = now
            outbox.enqueue("tasks.grouporders.short", group_order_id=group.id)
        db.session.flush()
        return "short" if isinstance(error, StockShort) else "blocked"
    except Conflict:  # cancelled or closed by the organiser in the meantime
        db.session.refresh(group)
        return group.status.value


def closing_problems(group):
    """What keeps the group order from being placed now, as sentences for the organiser:
    each short product, or the reason the order cannot be placed."""
    problems = [short.message for short in shortfalls(group, fresh=True)]
    if problems or not group.pledges:
        return problems
    try:
        shipping.quote(group.seller, 1, group.ship_postal_code, group.method)
    except DomainError as error:
        problems.append(error.message)
    return problems


def order_cancelled(order, *, now=None):
    """The order a group order placed was cancelled (by the organiser, an admin, or expiry
    unpaid): the group order is cancelled with it, and its members are told."""
    group = for_order(order.id)
    if group is None or group.status != GroupOrderStatus.CLOSED:
        return None
    _locked(group)
    group.status = GroupOrderStatus.CANCELLED
    group.cancelled_at = now or utcnow()
    db.session.flush()
    for pledge_ in group.pledges:
        outbox.enqueue(
            "tasks.grouporders.cancelled", group_order_id=group.id, user_id=pledge_.user_id
        )
    return group


# The distribution sheet


def distribution_csv(summary, labels):
    """The distribution sheet as CSV text (UTF-8 with a BOM, so Excel shows Thai): a row per
    member with the units of each product, what they owe, settled or not, a signature
    column, and a totals row. ``labels`` are the column titles in the reader's language."""
    products = summary.group.products
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(
        [labels["number"], labels["member"], labels["phone"]]
        + [csv_text(f"{p.name} ({p.unit})") for p in products]
        + [labels[key] for key in ("goods", "shipping", "total", "levy", "settled", "signature")]
    )
    for number, share in enumerate(summary.shares, start=1):
        held = {item.product_id: item.quantity for item in share.pledge.items}
        writer.writerow(
            [number, csv_text(share.pledge.user.name), csv_text(share.pledge.user.phone or "")]
            + [held.get(p.id, 0) for p in products]
            + [
                baht_text(share.goods_satang),
                baht_text(share.shipping_satang),
                baht_text(share.total_satang),
                baht_text(share.levy_satang),
                labels["yes"] if share.pledge.settled else labels["no"],
                "",
            ]
        )
    writer.writerow(
        ["", labels["sum"], ""]
        + [summary.units.get(p.id, 0) for p in products]
        + [
            baht_text(summary.goods_satang),
            baht_text(summary.shipping_satang),
            baht_text(summary.total_satang),
            baht_text(summary.levy_satang),
            "",
            "",
        ]
    )
    return buffer.getvalue()
