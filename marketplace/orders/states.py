"""Which status may follow which: the one place order and shipment transitions are decided."""

from flask_babel import lazy_gettext as _l

from marketplace.errors import Conflict
from marketplace.orders.models import DeliveryMethod, OrderStatus, ShipmentStatus
from marketplace.payments.models import PaymentStatus

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

#: What an order reads while an admin checks the transfer the buyer reported.
CHECKING_PAYMENT_LABEL = _l("Checking the payment")
#: What a parcel of an unpaid order reads: nobody prepares it before the money is there.
WAITING_FOR_PAYMENT_LABEL = _l("Waiting for payment")


def order_label(order, payment=None):
    """The order's state as people read it: "Checking the payment" once the buyer has
    reported a transfer, otherwise its status."""
    if (
        order.status == OrderStatus.PENDING_PAYMENT
        and payment is not None
        and payment.status == PaymentStatus.SUBMITTED
    ):
        return CHECKING_PAYMENT_LABEL
    return ORDER_STATUS_LABELS[order.status]


def shipment_state(shipment):
    """``(key, label)`` of a parcel as it follows its order: an unpaid order's parcels wait
    for the payment, a cancelled order's are cancelled; otherwise the parcel's own status.
    The key names a CSS class (``state-<key>``)."""
    order_status = shipment.order.status
    if order_status == OrderStatus.CANCELLED or shipment.status == ShipmentStatus.CANCELLED:
        return "cancelled", SHIPMENT_STATUS_LABELS[ShipmentStatus.CANCELLED]
    if order_status == OrderStatus.PENDING_PAYMENT:
        return "waiting", WAITING_FOR_PAYMENT_LABEL
    return shipment.status.value, SHIPMENT_STATUS_LABELS[shipment.status]


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
