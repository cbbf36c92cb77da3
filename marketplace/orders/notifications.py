"""Mail about orders, each in the recipient's own language. Called by tasks, after commit."""

from flask import render_template
from flask_babel import force_locale, gettext

from marketplace import mail


def shipment_paid(shipment):
    """Tell each member of the seller that a paid parcel is waiting to be sent."""
    for membership in shipment.seller.members:
        user = membership.user
        with force_locale(user.language):
            subject = gettext(
                "Order %(number)s is paid: please send it", number=shipment.order.number
            )
            body = render_template("mail/shipment_paid.txt", shipment=shipment, user=user)
        mail.send(user.email, subject, body)


def shipment_shipped(shipment):
    """Tell the buyer their parcel is on its way."""
    buyer = shipment.order.buyer
    with force_locale(buyer.language):
        subject = gettext("Your parcel from %(seller)s is on its way", seller=shipment.seller.name)
        body = render_template("mail/shipment_shipped.txt", shipment=shipment, user=buyer)
    mail.send(buyer.email, subject, body)
