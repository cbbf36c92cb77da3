"""Refunds: whole units of an order's items, or all that is left with its shipping.

The units and the amount come off the order at once (a conditional UPDATE), so two refunds
can never return more than was sold. A refund paid by transfer, or already paid back in
Stripe, is done at once; one paid through Stripe waits (*pending*) for Stripe's answer. A
done refund goes to the ledger in a task after commit (``tasks.levy.post_refund``): the
money leaves, and the levies and fees of the refunded units are reversed
(:mod:`marketplace.levies.routing`). Services flush and never commit.
"""

from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from marketplace.audit import services as audit
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.limits import MAX_LINE_QUANTITY
from marketplace.orders import services as orders
from marketplace.orders.models import OrderItem, Refund, RefundItem, RefundStatus
from marketplace.outbox import services as outbox
from marketplace.payments import providers


def count_pending_refunds():
    """Refunds Stripe has not paid back yet."""
    return db.session.scalar(
        select(func.count()).select_from(Refund).where(Refund.status == RefundStatus.PENDING)
    )


def refunded_by_shipment(order):
    """``{shipment_id: satang refunded}`` (goods and shipping) for the order's shipments:
    refunds done or waiting for Stripe, as the order counts them (a refused one gave its
    units and amount back)."""
    rows = db.session.execute(
        select(RefundItem.shipment_id, func.sum(RefundItem.amount_satang))
        .join(RefundItem.refund)
        .where(Refund.order_id == order.id, Refund.status != RefundStatus.FAILED)
        .group_by(RefundItem.shipment_id)
    )
    return {shipment_id: int(total) for shipment_id, total in rows}


def refund(actor, order, items=None, *, reason="", provider_refund_id=None):
    """Refund whole units of items (``[(order_item_id, quantity)]``), or everything left.

    A full refund (``items=None``) also returns the shipping fees. The units and the amount
    are taken from the order at once, so two refunds can never return more than was sold.

    Paid by transfer (the admin pays the buyer back by hand), or already refunded in
    Stripe (``provider_refund_id``), the refund is done: the money leaves the ledger, and
    the levies of the refunded units are reversed, in a task after commit. Paid through
    Stripe, the refund is *pending*: Stripe is asked after this commit, outside any
    transaction (``tasks.payments.send_refund``), and the ledger sees the refund only once
    Stripe says it paid it; if Stripe refuses, the units and the amount go back to the
    order (:func:`refund_failed`). A Stripe that is down or slow leaves the refund pending,
    holding no lock, until a retry gets its answer.
    """
    if actor is not None and not actor.is_admin:
        raise Forbidden(_l("Only an admin can do this."))
    orders.locked(order)
    if order.paid_at is None:
        raise Conflict(_l("Only a paid order can be refunded."))
    if items is None:
        return refund_rest(actor, order, reason, provider_refund_id=provider_refund_id)
    wanted = defaultdict(int)
    known = {item.id: item for item in order.items}
    for order_item_id, quantity in items:
        if order_item_id not in known:
            raise DomainError(_l("That item is not in this order."), field="items")
        if (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or not 0 <= quantity <= MAX_LINE_QUANTITY
        ):
            raise DomainError(_l("Refund a whole number of units."), field="items")
        wanted[order_item_id] += quantity
    wanted = {k: v for k, v in wanted.items() if v}
    if not wanted:
        raise DomainError(_l("Choose at least one unit to refund."), field="items")
    return _create_refund(
        actor, order, wanted, reason=reason, provider_refund_id=provider_refund_id
    )


def refund_rest(actor, order, reason, provider_refund_id=None):
    left = {item.id: item.quantity - item.refunded_quantity for item in order.items}
    left = {k: v for k, v in left.items() if v}
    shipping_left = sum(s.shipping_satang - s.shipping_refunded_satang for s in order.shipments)
    if not left and not shipping_left:
        return None
    return _create_refund(
        actor, order, left, shipping=True, reason=reason, provider_refund_id=provider_refund_id
    )


def pending_refund_of(order):
    """The order's refund still waiting for Stripe's answer, if any."""
    return db.session.scalar(
        select(Refund).where(Refund.order_id == order.id, Refund.status == RefundStatus.PENDING)
    )


def _create_refund(actor, order, quantities, *, shipping=False, reason, provider_refund_id=None):
    if pending_refund_of(order) is not None:
        # One at a time: a refund that fails gives its units back, and the refunds after
        # it must not have counted them (their levy reversals depend on it).
        raise Conflict(
            _l("A refund of this order is still being paid back; try again in a moment.")
        )
    items = {item.id: item for item in order.items}
    refund = Refund(  # its amount is the sum of its lines, below
        order_id=order.id,
        shipping_satang=0,
        reason=(reason or "").strip()[:1000],
        provider_refund_id=provider_refund_id,
        created_by_id=actor.id if actor is not None else None,
    )
    for order_item_id in sorted(quantities):
        item, quantity = items[order_item_id], quantities[order_item_id]
        # Conditional: two refunds at once can never return more units than were sold.
        taken = db.session.execute(
            update(OrderItem)
            .where(
                OrderItem.id == item.id,
                OrderItem.refunded_quantity + quantity <= OrderItem.quantity,
            )
            .values(refunded_quantity=OrderItem.refunded_quantity + quantity)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            raise Conflict(
                _l(
                    "Only %(count)d of %(name)s can still be refunded.",
                    count=item.quantity - item.refunded_quantity,
                    name=item.name,
                ),
                field="items",
            )
        refund.items.append(
            RefundItem(
                order_item_id=item.id,
                shipment_id=item.shipment_id,
                quantity=quantity,
                refunded_before=item.refunded_quantity,
                amount_satang=item.unit_price_satang * quantity,
            )
        )
        db.session.expire(item, ["refunded_quantity"])
    if shipping:
        # Shipping is only refunded whole, with the rest of the order: none of it is refunded
        # yet here (a refused refund gives it back), so `-` and `+=` cannot be told from `+`
        # and `=` by any test.
        for shipment in order.shipments:
            fee = shipment.shipping_satang - shipment.shipping_refunded_satang  # pragma: no mutate
            if fee > 0:
                refund.items.append(RefundItem(shipment_id=shipment.id, amount_satang=fee))
                shipment.shipping_refunded_satang += fee  # pragma: no mutate
                refund.shipping_satang += fee
    refund.amount_satang = sum(ri.amount_satang for ri in refund.items)
    if refund.amount_satang <= 0:  # pragma: no mutate (never 0: prices are above 0)
        raise DomainError(_l("Choose at least one unit to refund."), field="items")
    order.refunded_satang += refund.amount_satang
    payment = orders.payment_of(order) if provider_refund_id is None else None
    provider = providers.PROVIDERS.get(payment.provider) if payment else None
    # The money goes back the way it came (Stripe), after this commit; for transfers an
    # admin pays it back by hand.
    sent_later = provider is not None and provider.pays_back(payment)
    refund.status = RefundStatus.PENDING if sent_later else RefundStatus.SUCCEEDED
    db.session.add(refund)
    db.session.flush()
    audit.order_refunded(actor, order, refund)
    if sent_later:
        outbox.enqueue("tasks.payments.send_refund", refund_id=refund.id)
    else:
        outbox.enqueue("tasks.levy.post_refund", refund_id=refund.id)
    return refund


def locked_refund(refund_id):
    """The refund, with its order's row locked (refunds of an order take turns)."""
    refund = db.session.get(Refund, refund_id)
    if refund is None:
        raise NotFound(_l("No such refund."))
    orders.locked(refund.order)
    db.session.refresh(refund)
    return refund


def refund_paid_back(refund, provider_refund_id=None):
    """The provider paid a pending refund back: it is done, and goes to the ledger (a task
    after commit). The caller holds the order's lock (:func:`locked_refund`)."""
    if refund.status != RefundStatus.PENDING:
        raise Conflict(_l("This refund is not waiting to be paid back."))
    if provider_refund_id and refund.provider_refund_id is None:
        refund.provider_refund_id = provider_refund_id
    refund.status = RefundStatus.SUCCEEDED
    db.session.flush()
    outbox.enqueue("tasks.levy.post_refund", refund_id=refund.id)
    return refund


def refund_failed(refund):
    """The provider will not pay a pending refund back: its units and amount go back to
    the order (it can be refunded again, another way), and the ledger never sees it.

    Only the order's latest refund can be pending (:func:`_create_refund`), so no refund
    after it has counted the units it gives back. The caller holds the order's lock.
    """
    if refund.status != RefundStatus.PENDING:
        raise Conflict(_l("This refund is not waiting to be paid back."))
    order = refund.order
    shipments = {shipment.id: shipment for shipment in order.shipments}
    for refund_item in refund.items:
        if refund_item.order_item_id is None:
            shipments[refund_item.shipment_id].shipping_refunded_satang -= refund_item.amount_satang
            continue
        db.session.execute(
            update(OrderItem)
            .where(OrderItem.id == refund_item.order_item_id)
            .values(refunded_quantity=OrderItem.refunded_quantity - refund_item.quantity)
            .execution_options(synchronize_session=False)
        )
        db.session.expire(refund_item.order_item, ["refunded_quantity"])
    order.refunded_satang -= refund.amount_satang
    refund.status = RefundStatus.FAILED
    db.session.flush()
    return refund
