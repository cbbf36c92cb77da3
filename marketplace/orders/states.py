"""Which status may follow which: the one place order and shipment transitions are decided."""

from flask_babel import lazy_gettext as _l

from marketplace.errors import Conflict
from marketplace.orders.models import DeliveryMethod, OrderStatus, ShipmentStatus

ORDER_STATUS_LABELS = {
    OrderStatus.PENDING_PAYMENT: _l("Waiting for payment"),
    OrderStatus.PAID: _l("Paid"),
    OrderStatus.COMPLETED: _l("Completed"),
    OrderStatus.CANCELLED: _l("Cancelled"),
}

SHIPMENT_STATUS_LABELS = {
    ShipmentStatus.PREPARING: _l("Preparing"),
    ShipmentStatus.SHIPPED: _l("Shipped"),
    ShipmentStatus.DELIVERED: _l("Delivered"),
    ShipmentStatus.CANCELLED: _l("Cancelled"),
}

ORDER_TRANSITIONS = {
    OrderStatus.PENDING_PAYMENT: {OrderStatus.PAID, OrderStatus.CANCELLED},
    OrderStatus.PAID: {OrderStatus.COMPLETED, OrderStatus.CANCELLED},
    OrderStatus.COMPLETED: set(),
    OrderStatus.CANCELLED: set(),
}

SHIPMENT_TRANSITIONS = {
    ShipmentStatus.PREPARING: {ShipmentStatus.SHIPPED, ShipmentStatus.CANCELLED},
    ShipmentStatus.SHIPPED: {ShipmentStatus.DELIVERED},
    ShipmentStatus.DELIVERED: set(),
    ShipmentStatus.CANCELLED: set(),
}


class IllegalTransition(Conflict):
    code = "illegal_transition"


def move_order(order, to):
    if to not in ORDER_TRANSITIONS[order.status]:
        raise IllegalTransition(
            _l(
                "An order that is “%(now)s” cannot become “%(to)s”.",
                now=ORDER_STATUS_LABELS[order.status],
                to=ORDER_STATUS_LABELS[to],
            )
        )
    order.status = to


#: A parcel only travels or reaches the buyer once its order is paid.
PAID_ONLY = {ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED}


def move_shipment(shipment, to):
    """Move a shipment on; shipping or delivering one of an unpaid order is refused."""
    if to in PAID_ONLY and shipment.order.status != OrderStatus.PAID:
        raise IllegalTransition(
            _l(
                "The parcel of an order that is “%(order)s” cannot become “%(to)s”.",
                order=ORDER_STATUS_LABELS[shipment.order.status],
                to=SHIPMENT_STATUS_LABELS[to],
            )
        )
    allowed = set(SHIPMENT_TRANSITIONS[shipment.status])
    if shipment.method == DeliveryMethod.PICKUP and shipment.status == ShipmentStatus.PREPARING:
        # A pickup is handed over at the seller: it never travels.
        allowed = (allowed - {ShipmentStatus.SHIPPED}) | {ShipmentStatus.DELIVERED}
    if to not in allowed:
        raise IllegalTransition(
            _l(
                "A shipment that is “%(now)s” cannot become “%(to)s”.",
                now=SHIPMENT_STATUS_LABELS[shipment.status],
                to=SHIPMENT_STATUS_LABELS[to],
            )
        )
    shipment.status = to
