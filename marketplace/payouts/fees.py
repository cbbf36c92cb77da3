"""The platform fee: the rate a seller pays, fixed on each order item when it is sold."""

from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.audit import services as audit
from marketplace.errors import DomainError, Forbidden
from marketplace.extensions import db
from marketplace.levies.arithmetic import BASIS_POINTS
from marketplace.payouts.arithmetic import fee_for_line
from marketplace.sellers.models import Seller


def rate_for(seller):
    """The seller's fee in basis points: an admin's rate for it, else PLATFORM_FEE_BPS."""
    if seller.platform_fee_bps is not None:
        return seller.platform_fee_bps
    return current_app.config["PLATFORM_FEE_BPS"]


def snapshot_order(order):
    """Fix each item's fee as its seller's rate stands now (rounded once, half up, per line),
    capped at what the item's levies (snapshotted before) leave of the line.

    The order's sellers are in the session already (placing the order loaded them with
    the products), so this reads nothing.
    """
    for shipment in order.shipments:
        rate = rate_for(db.session.get(Seller, shipment.seller_id))
        for item in shipment.items:
            item.platform_fee_bps = rate
            item.platform_fee_satang = fee_for_line(
                item.line_total_satang, rate, levies_satang=item.levy_satang
            )


def set_rate(actor, seller, rate_bps):
    """An admin sets the seller's fee (basis points), or ``None`` for the marketplace's.

    Orders already placed keep the fee they were placed with.
    """
    if not actor.is_admin:
        raise Forbidden(_l("Only an admin can do this."))
    if rate_bps is not None and (
        not isinstance(rate_bps, int)
        or isinstance(rate_bps, bool)
        or not 0 <= rate_bps <= BASIS_POINTS
    ):
        raise DomainError(_l("A platform fee is from 0% to 100%."), field="platform_fee")
    before = seller.platform_fee_bps
    seller.platform_fee_bps = rate_bps
    db.session.flush()
    audit.platform_fee_set(actor, seller, before=before, after=rate_bps)
    return seller
