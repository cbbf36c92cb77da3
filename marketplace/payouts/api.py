"""/api/v1 for sellers' money: balances, statements, payout runs, payouts paid or failed,
and the buyer's "received" that starts the hold. The routes join the API's blueprint
(marketplace/api/views.py) and follow it: a schema per body and per answer, a token, the
caller authorised, one service call with typed values, one commit."""

from flask import g
from flask_babel import lazy_gettext as _l

from marketplace.accounts.roles import can_manage_seller
from marketplace.api import schemas
from marketplace.api.views import bp, token_required
from marketplace.errors import Forbidden, NotFound
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Shipment
from marketplace.payouts import proceeds
from marketplace.sellers import services as sellers


def _seller_for(seller_id):
    """The seller, for its members and admins."""
    seller = sellers.get(seller_id)
    if not can_manage_seller(g.api_user, seller.id):
        raise Forbidden(_l("You are not a member of this seller."))
    return seller


@bp.route("/sellers/<int:seller_id>/balance", methods=["GET"])
@token_required
@bp.response(200, schemas.SellerBalance)
@bp.errors(403, 404)
def seller_balance(seller_id):
    """A seller's balances: pending, available, in payout, paid out, owed (its members,
    admins)"""
    seller = _seller_for(seller_id)
    balance = proceeds.balance(seller.id)
    return {"seller_id": seller.id, **vars(balance)}


@bp.route("/shipments/<int:shipment_id>/received", methods=["POST"])
@token_required
@bp.response(200, schemas.ShipmentOut)
@bp.errors(403, 404, 409)
def shipment_received(shipment_id):
    """The buyer has the parcel (or picked it up): the shipment is delivered"""
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None or shipment.order.buyer_id != g.api_user.id:
        raise NotFound(_l("No such shipment."))
    orders.confirm_delivery(g.api_user, shipment)
    db.session.commit()
    return shipment
