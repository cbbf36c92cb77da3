"""Placing orders, reserving stock, payment confirmation, shipping and cancelling (refunds
are in :mod:`marketplace.orders.refunds`).

Services flush and never commit. Every status change goes through
:mod:`marketplace.orders.states`. Stock is taken with a conditional UPDATE when the order
is placed and given back when an unpaid order expires or any order is cancelled.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload, selectinload

from marketplace.accounts.roles import can_manage_seller
from marketplace.audit import services as audit
from marketplace.catalog.models import Product, ProductStatus
from marketplace.dbtypes import utcnow
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.geo import services as geo
from marketplace.geo.models import District, Subdistrict
from marketplace.levies import services as levies
from marketplace.limits import MAX_LINE_QUANTITY
from marketplace.orders.models import (
    DeliveryMethod,
    Order,
    OrderItem,
    OrderStatus,
    Refund,
    RefundStatus,
    Shipment,
    ShipmentStatus,
)
from marketplace.orders.states import move_order, move_shipment
from marketplace.outbox import services as outbox
from marketplace.payments import providers
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.payouts import fees
from marketplace.shipping import services as shipping

log = logging.getLogger(__name__)


class OutOfStock(Conflict):
    """Another buyer took the last units first."""

    code = "out_of_stock"


# Placing an order


def _quantities(items):
    """Sum the quantities per product (two lines for one product count together)."""
    totals = defaultdict(int)
    for product_id, quantity in items:
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise DomainError(_l("Order at least one unit."), field="quantity")
        if quantity > MAX_LINE_QUANTITY:
            raise DomainError(
                _l("At most %(count)d units of one product.", count=MAX_LINE_QUANTITY),
                field="quantity",
            )
        totals[product_id] += quantity
    if not totals:
        raise DomainError(_l("The order has no products."), field="items")
    for quantity in totals.values():
        if quantity > MAX_LINE_QUANTITY:
            raise DomainError(
                _l("At most %(count)d units of one product.", count=MAX_LINE_QUANTITY),
                field="quantity",
            )
    return dict(totals)


def _products_on_sale(product_ids):
    """The products with their sellers and quantity price tiers, in one statement."""
    products = {
        p.id: p
        for p in db.session.scalars(
            select(Product)
            .where(Product.id.in_(product_ids))
            .options(joinedload(Product.seller), joinedload(Product.price_tiers))
        ).unique()
    }
    for product_id in product_ids:
        product = products.get(product_id)
        if product is None or product.status != ProductStatus.ACTIVE or not product.seller.verified:
            raise DomainError(_l("Product %(id)s is not on sale.", id=product_id), field="items")
    return products


def reserve_stock(quantities, products):
    """Take the units from stock, all or nothing: ``UPDATE … WHERE stock >= :quantity``.

    Rows are updated in id order so that two orders for the same products cannot
    deadlock. A product without enough stock raises OutOfStock; the caller rolls back.
    """
    for product_id in sorted(quantities):
        quantity = quantities[product_id]
        result = db.session.execute(
            update(Product)
            .where(
                Product.id == product_id,
                Product.stock >= quantity,
                Product.status == ProductStatus.ACTIVE,
            )
            .values(stock=Product.stock - quantity)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            product = products[product_id]
            db.session.refresh(product)
            if product.stock == 0:
                raise OutOfStock(_l("%(name)s is out of stock.", name=product.name), field="items")
            raise OutOfStock(
                _l("Only %(count)d of %(name)s left.", count=product.stock, name=product.name),
                field="items",
            )
    for product_id in quantities:
        db.session.expire(products[product_id], ["stock"])


def release_stock(order):
    """Give back the units of an order that will not be fulfilled."""
    quantities = defaultdict(int)
    for item in order.items:
        quantities[item.product_id] += item.quantity
    for product_id in sorted(quantities):
        db.session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(stock=Product.stock + quantities[product_id])
            .execution_options(synchronize_session=False)
        )


def place_order(
    buyer, items, *, address, methods=None, payment_method="transfer", now=None, levy_fund=None
):
    """Place an order for ``items`` (``[(product_id, quantity)]``) and take the stock.

    ``methods`` maps a seller id to a DeliveryMethod (delivery by default). The order is split
    into one shipment per seller, each with its own shipping fee. Each product's unit price
    is its quantity price tier for all its units in the order (lines of one product summed).
    ``levy_fund`` is the fund that levies for "the buyer's own fund" feed (a group order's
    fund); by default the buyer's own.
    """
    now = now or utcnow()
    provider = providers.get(payment_method)
    if provider is None:
        raise DomainError(_l("Choose a way to pay."), field="payment_method")
    destination = geo.clean_address(**address)
    quantities = _quantities(items)
    products = _products_on_sale(quantities)

    by_seller = defaultdict(list)
    prices = {}  # product id -> unit price for its quantity
    for product_id in sorted(quantities):
        product = products[product_id]
        prices[product_id] = product.unit_price(quantities[product_id])
        by_seller[product.seller_id].append((product, quantities[product_id]))
    parcels = []
    for seller_id in sorted(by_seller):
        lines = by_seller[seller_id]
        method = (methods or {}).get(seller_id, DeliveryMethod.DELIVERY)
        weight = sum(product.weight_grams * quantity for product, quantity in lines)
        fee = shipping.quote(lines[0][0].seller, weight, destination["ship_postal_code"], method)
        parcels.append((seller_id, method, weight, fee, lines))

    subtotal = sum(prices[p.id] * q for lines in by_seller.values() for p, q in lines)
    shipping_total = sum(fee for _seller, _method, _weight, fee, _lines in parcels)
    order = Order(
        buyer_id=buyer.id,
        status=OrderStatus.PENDING_PAYMENT,
        placed_at=now,
        expires_at=now + timedelta(hours=current_app.config["ORDER_PAYMENT_TIMEOUT_HOURS"]),
        payment_method=provider.name,
        subtotal_satang=subtotal,
        shipping_satang=shipping_total,
        total_satang=subtotal + shipping_total,
        payments=[],  # known empty: the provider's payment is appended without a query
        **destination,
    )
    db.session.add(order)
    for seller_id, method, weight, fee, lines in parcels:
        shipment = Shipment(
            seller_id=seller_id,
            method=method,
            shipping_satang=fee,
            weight_grams=weight,
            subtotal_satang=sum(prices[p.id] * q for p, q in lines),
        )
        order.shipments.append(shipment)
        for product, quantity in lines:
            shipment.items.append(
                OrderItem(
                    order=order,
                    product_id=product.id,
                    name_th=product.name_th,
                    name_en=product.name_en,
                    unit_label=product.unit_label,
                    unit_label_en=product.unit_label_en,
                    unit_price_satang=prices[product.id],
                    quantity=quantity,
                    line_total_satang=prices[product.id] * quantity,
                    weight_grams=product.weight_grams,
                    levies=[],  # known empty: the levy snapshot appends without a query
                )
            )
    db.session.flush()
    order.number = f"TC-{order.id:06d}"
    levies.snapshot_order(order, buyer, now=now, buyer_fund=levy_fund)
    fees.snapshot_order(order)
    provider.start(order)
    db.session.flush()  # the number, the levies and the payment together
    # Last, so that the product rows stay locked only from here to the commit: buyers of
    # one popular product queue on its row for a moment, not for the whole placing.
    reserve_stock(quantities, products)
    return order


@dataclass
class ParcelQuote:
    group: object  # the cart's SellerGroup
    method: DeliveryMethod
    fee_satang: int


def quote_parcels(cart_view, postal_code, chosen):
    """Shipping for each seller's parcel of the cart, with the method the buyer chose
    (``chosen``: seller id → DeliveryMethod); delivery unless the seller offers pickup.
    Returns ``(quotes, shipping total in satang)``."""
    quotes = []
    for group in cart_view.groups:
        pickup = chosen.get(group.seller.id) == DeliveryMethod.PICKUP and group.seller.offers_pickup
        method = DeliveryMethod.PICKUP if pickup else DeliveryMethod.DELIVERY
        fee = shipping.quote(group.seller, group.weight_grams, postal_code or "", method)
        quotes.append(ParcelQuote(group=group, method=method, fee_satang=fee))
    return quotes, sum(quote.fee_satang for quote in quotes)


def place_order_from_cart(buyer, cart, **options):
    """Place an order for everything in the buyer's cart, and empty those lines."""
    lines = cart.lines()
    if not lines:
        raise DomainError(_l("Your cart is empty."), field="items")
    order = place_order(buyer, list(lines.items()), **options)
    cart.remove(*lines)
    return order


# Reading orders


def _order_query():
    return select(Order).options(
        selectinload(Order.shipments).joinedload(Shipment.seller),
        selectinload(Order.items),
        joinedload(Order.ship_subdistrict),
    )


def get_order(order_id):
    order = db.session.scalar(_order_query().where(Order.id == order_id))
    if order is None:
        raise NotFound(_l("No such order."))
    return order


def order_for_buyer(buyer, order_id):
    """The buyer's own order; another buyer's is "not found", not "forbidden"."""
    order = get_order(order_id)
    if order.buyer_id != buyer.id:
        raise NotFound(_l("No such order."))
    return order


def buyer_orders(buyer, *, before_id=None, limit=None):
    """The buyer's orders, newest first; ``before_id`` and ``limit`` page through them."""
    query = _order_query().where(Order.buyer_id == buyer.id).order_by(Order.id.desc())
    if before_id is not None:
        query = query.where(Order.id < before_id)
    if limit is not None:
        query = query.limit(limit)
    return db.session.scalars(query).all()


#: What an admin may be asked to look at in the list of orders (``waiting=``).
WAITING_PAYMENT_CHECK = "payment"
WAITING_REFUND = "refund"


def _reported(query):
    """Orders whose buyer reported a transfer that no admin has confirmed yet."""
    return query.where(
        Order.status == OrderStatus.PENDING_PAYMENT,
        select(Payment.id)
        .where(Payment.order_id == Order.id, Payment.status == PaymentStatus.SUBMITTED)
        .exists(),
    )


def all_orders(status=None, limit=200, *, waiting=None):
    """Orders newest first, by status, or those waiting for an admin (``waiting``: a
    reported transfer to check, a refund Stripe has not paid back yet)."""
    query = _order_query().options(joinedload(Order.buyer)).order_by(Order.placed_at.desc())
    if status:
        query = query.where(Order.status == status)
    if waiting == WAITING_PAYMENT_CHECK:
        query = _reported(query)
    elif waiting == WAITING_REFUND:
        query = query.where(
            select(Refund.id)
            .where(Refund.order_id == Order.id, Refund.status == RefundStatus.PENDING)
            .exists()
        )
    return db.session.scalars(query.limit(limit)).all()


def reported_transfers(limit=50):
    """``[(order, payment)]`` whose buyer reported a transfer, the longest waiting first."""
    query = (
        select(Order, Payment)
        .join(Payment, Payment.order_id == Order.id)
        .where(
            Order.status == OrderStatus.PENDING_PAYMENT, Payment.status == PaymentStatus.SUBMITTED
        )
        .options(joinedload(Order.buyer))
        .order_by(Payment.submitted_at, Payment.id)
        .limit(limit)
    )
    return [tuple(row) for row in db.session.execute(query)]


def count_reported_transfers():
    return db.session.scalar(_reported(select(func.count()).select_from(Order)))


def payment_of(order):
    return db.session.scalar(
        select(Payment).where(Payment.order_id == order.id).order_by(Payment.id.desc()).limit(1)
    )


def payments_of(orders):
    """``{order_id: its latest payment}`` for many orders, in one query."""
    latest = {}
    ids = [order.id for order in orders]
    if ids:
        for payment in db.session.scalars(
            select(Payment).where(Payment.order_id.in_(ids)).order_by(Payment.id)
        ):
            latest[payment.order_id] = payment
    return latest


def locked(order):
    """Lock the order's row, then re-read it, so two changes to it take turns."""
    db.session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    db.session.refresh(order)
    return order


# Payment


def submit_transfer_reference(buyer, order, reference):
    """The buyer says they paid and gives the transfer reference for the admin to check."""
    if order.buyer_id != buyer.id:
        raise NotFound(_l("No such order."))
    reference = (reference or "").strip()
    if not 3 <= len(reference) <= 100:
        raise DomainError(
            _l("Enter the reference from your transfer slip (3 to 100 characters)."),
            field="reference",
        )
    locked(order)
    payment = payment_of(order)
    if (
        order.status != OrderStatus.PENDING_PAYMENT
        or payment is None
        or payment.status
        not in (
            PaymentStatus.PENDING,
            PaymentStatus.SUBMITTED,
        )
    ):
        raise Conflict(_l("This order is not waiting for payment."))
    payment.reference = reference
    payment.status = PaymentStatus.SUBMITTED
    payment.submitted_at = utcnow()
    db.session.flush()
    return payment


def mark_paid(order, *, now=None):
    """The money has arrived: the order is paid and each seller is told to prepare its parcel.

    Providers call this (an admin's transfer confirmation, a Stripe webhook); it writes the
    outbox rows in the same transaction.
    """
    now = now or utcnow()
    locked(order)
    move_order(order, OrderStatus.PAID)
    order.paid_at = now
    # The money and the levies reach the ledger in a task, after this commit.
    outbox.enqueue("tasks.levy.route_order", order_id=order.id)
    for shipment in order.shipments:
        outbox.enqueue("tasks.notifications.shipment_paid", shipment_id=shipment.id)
    db.session.flush()
    return order


def confirm_transfer(actor, order, reference=""):
    """An admin saw the transfer in the marketplace's account."""
    if not actor.is_admin:
        raise Forbidden(_l("Only an admin can do this."))
    payment = payment_of(order)
    if payment is None or payment.provider != providers.TransferProvider.name:
        raise Conflict(_l("This order is not paid by transfer."))
    mark_paid(order)
    payment.status = PaymentStatus.CONFIRMED
    payment.confirmed_at = order.paid_at
    payment.confirmed_by_id = actor.id
    if reference and reference.strip():
        payment.reference = reference.strip()[:100]
    db.session.flush()
    audit.payment_confirmed(actor, order, payment)
    return order


# Cancelling


def cancel_order(actor, order, reason=""):
    """Cancel and return the stock.

    A buyer may cancel their own unpaid order; an admin may cancel any order whose parcels
    have not left (``actor=None`` is the system, for expiry).
    """
    locked(order)
    if actor is not None and not actor.is_admin:
        if order.buyer_id != actor.id:
            raise NotFound(_l("No such order."))
        if order.status != OrderStatus.PENDING_PAYMENT:
            raise Conflict(_l("A paid order can only be cancelled by the marketplace."))
        reported = payment_of(order)
        if reported is not None and reported.status == PaymentStatus.SUBMITTED:
            # The money may be in the marketplace's account: an admin checks it first.
            raise Conflict(
                _l(
                    "You told us you have paid, so only the marketplace can cancel this "
                    "order now: it checks the account first."
                )
            )
    if any(s.status in (ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED) for s in order.shipments):
        raise Conflict(_l("A parcel of this order has already left; it cannot be cancelled."))
    was_paid = order.status == OrderStatus.PAID
    move_order(order, OrderStatus.CANCELLED)
    order.cancelled_at = utcnow()
    order.cancel_reason = (reason or "").strip()[:1000]
    for shipment in order.shipments:
        move_shipment(shipment, ShipmentStatus.CANCELLED)
    payment = payment_of(order)
    if payment is not None and payment.status != PaymentStatus.CONFIRMED:
        payment.status = PaymentStatus.CANCELLED
    if was_paid:
        # The buyer gets back what is left of the payment; levies are reversed with it.
        from marketplace.orders import refunds  # refunds lock orders here: it imports us

        refunds.refund_rest(actor, order, reason or "cancelled")
    release_stock(order)
    db.session.flush()
    from marketplace.grouporders import services as grouporders  # it places orders: imports us

    grouporders.order_cancelled(order)
    return order


def expire_unpaid(now=None):
    """Cancel orders still unpaid past their deadline; return how many.

    An order whose buyer reported a transfer (a reference sent) does not expire: the money
    may be in the marketplace's account, and an admin confirms or cancels it (the back
    office's overview lists it).

    Each order is cancelled in a savepoint of its own: one that cannot be cancelled is
    logged with its id and left as it is, and the others still expire.
    """
    now = now or utcnow()
    reported = select(Payment.id).where(
        Payment.order_id == Order.id, Payment.status == PaymentStatus.SUBMITTED
    )
    ids = db.session.scalars(
        select(Order.id)
        .where(
            Order.status == OrderStatus.PENDING_PAYMENT,
            Order.expires_at <= now,
            ~reported.exists(),
        )
        .order_by(Order.id)
    ).all()
    expired = 0
    for order_id in ids:
        try:
            with db.session.begin_nested():
                order = locked(db.session.get(Order, order_id))
                if order.status != OrderStatus.PENDING_PAYMENT:
                    continue  # paid in the meantime
                reported = payment_of(order)
                if reported is not None and reported.status == PaymentStatus.SUBMITTED:
                    continue  # the buyer reported a transfer in the meantime
                cancel_order(None, order, reason="expired: not paid in time")
        except Exception:  # any failure of one order: logged, and the others go on
            log.exception("order %s could not be expired", order_id)
            continue
        expired += 1
    return expired


# Shipping and delivery


def seller_shipments(seller_id, status=None):
    query = (
        select(Shipment)
        .join(Shipment.order)
        .where(Shipment.seller_id == seller_id, Order.status != OrderStatus.PENDING_PAYMENT)
        .options(
            joinedload(Shipment.order).joinedload(Order.ship_subdistrict),
            selectinload(Shipment.items).selectinload(OrderItem.levies),
        )
        .order_by(Order.paid_at.desc().nulls_last(), Shipment.id.desc())
    )
    if status:
        query = query.where(Shipment.status == status)
    return db.session.scalars(query).all()


def shipments_to_ship(seller_id, limit=None):
    """The seller's parcels and pickups of paid orders still being prepared, the longest
    waiting first, with what to pack and where it goes."""
    query = (
        select(Shipment)
        .join(Shipment.order)
        .where(
            Shipment.seller_id == seller_id,
            Shipment.status == ShipmentStatus.PREPARING,
            Order.status == OrderStatus.PAID,
        )
        .options(
            joinedload(Shipment.order)
            .joinedload(Order.ship_subdistrict)
            .joinedload(Subdistrict.district)
            .joinedload(District.province),
            selectinload(Shipment.items),
        )
        .order_by(Order.paid_at.asc(), Shipment.id.asc())
    )
    if limit is not None:
        query = query.limit(limit)
    return db.session.scalars(query).all()


def count_to_ship(seller_id):
    """How many of the seller's shipments of paid orders are still being prepared."""
    return db.session.scalar(
        select(func.count())
        .select_from(Shipment)
        .join(Shipment.order)
        .where(
            Shipment.seller_id == seller_id,
            Shipment.status == ShipmentStatus.PREPARING,
            Order.status == OrderStatus.PAID,
        )
    )


def shipment_for_seller(seller_id, shipment_id):
    """A paid order's shipment of this seller; anything else is "not found"."""
    shipment = db.session.get(Shipment, shipment_id)
    if (
        shipment is None
        or shipment.seller_id != seller_id
        or shipment.order.status == OrderStatus.PENDING_PAYMENT
    ):
        raise NotFound(_l("No such shipment."))
    return shipment


def shipment_for_member(actor, shipment_id):
    """A paid order's shipment of a seller ``actor`` is a member of (or any, for admins)."""
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None or not can_manage_seller(actor, shipment.seller_id):
        raise NotFound(_l("No such shipment."))
    return shipment_for_seller(shipment.seller_id, shipment_id)


def _require_member(actor, shipment):
    if not can_manage_seller(actor, shipment.seller_id):
        raise Forbidden(_l("You are not a member of this seller."))


def ship(actor, shipment, *, carrier, tracking_number):
    """A seller member hands the parcel to a carrier; the buyer is told."""
    _require_member(actor, shipment)
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    if not carrier:
        raise DomainError(_l("Name the carrier, such as Thailand Post."), field="carrier")
    if not tracking_number:
        raise DomainError(_l("Enter the tracking number."), field="tracking_number")
    move_shipment(shipment, ShipmentStatus.SHIPPED)
    shipment.carrier, shipment.tracking_number = carrier[:60], tracking_number[:60]
    shipment.shipped_at = utcnow()
    outbox.enqueue("tasks.notifications.shipment_shipped", shipment_id=shipment.id)
    db.session.flush()
    return shipment


def _delivered(shipment, now):
    move_shipment(shipment, ShipmentStatus.DELIVERED)
    shipment.delivered_at = now
    order = shipment.order
    done = {ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED}
    if order.status == OrderStatus.PAID and all(s.status in done for s in order.shipments):
        move_order(order, OrderStatus.COMPLETED)
        order.completed_at = now


def hand_over(actor, shipment):
    """A seller member hands a pickup order to the buyer at the seller's place."""
    _require_member(actor, shipment)
    if shipment.method != DeliveryMethod.PICKUP:
        raise Conflict(_l("This shipment is delivered by a carrier, not picked up."))
    _delivered(shipment, utcnow())
    db.session.flush()
    return shipment


def confirm_delivery(buyer, shipment):
    """The buyer says the parcel arrived."""
    if shipment.order.buyer_id != buyer.id:
        raise NotFound(_l("No such shipment."))
    _delivered(shipment, utcnow())
    db.session.flush()
    return shipment


def auto_deliver(now=None):
    """Parcels shipped long enough ago count as delivered; return how many.

    Each parcel in a savepoint of its own: one that fails is logged and the rest go on.
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=current_app.config["SHIPMENT_AUTO_DELIVER_DAYS"])
    ids = db.session.scalars(
        select(Shipment.id)
        .where(Shipment.status == ShipmentStatus.SHIPPED, Shipment.shipped_at <= cutoff)
        .order_by(Shipment.id)
    ).all()
    delivered = 0
    for shipment_id in ids:
        try:
            with db.session.begin_nested():
                shipment = db.session.get(Shipment, shipment_id)
                locked(shipment.order)
                db.session.refresh(shipment)
                if shipment.status != ShipmentStatus.SHIPPED:
                    continue
                _delivered(shipment, now)
                db.session.flush()
        except Exception:  # any failure of one parcel: logged, and the others go on
            log.exception("shipment %s could not be marked delivered", shipment_id)
            continue
        delivered += 1
    return delivered
