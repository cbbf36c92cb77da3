"""/api/v1 for sellers' money: balances, statements, payout runs, payouts paid or failed,
and the buyer's "received" that starts the hold. The routes join the API's blueprint
(marketplace/api/views.py) and follow it: a schema per body and per answer, a token, the
caller authorised, one service call with typed values, one commit."""

from flask import g, url_for
from flask_babel import lazy_gettext as _l

from marketplace.accounts.roles import can_manage_seller
from marketplace.api import schemas
from marketplace.api.views import bp, token_required
from marketplace.errors import Forbidden, NotFound
from marketplace.extensions import db
from marketplace.funds import reports
from marketplace.orders import services as orders
from marketplace.orders.models import Shipment
from marketplace.payouts import proceeds, services
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


def _admin():
    if not g.api_user.is_admin:
        raise Forbidden(_l("Only an admin can do this."))


@bp.route("/payout-runs", methods=["POST"])
@token_required
@bp.response(201, schemas.PayoutRunOut)
@bp.errors(403, 409)
def create_payout_run():
    """Start a payout run: one payout per seller with enough available and payout details
    (admins)"""
    _admin()
    run = services.start_run(g.api_user)
    db.session.commit()
    return run, 201, {"Location": url_for(".get_payout_run", run_id=run.id)}


@bp.route("/payout-runs/<int:run_id>", methods=["GET"])
@token_required
@bp.response(200, schemas.PayoutRunOut)
@bp.errors(403, 404)
def get_payout_run(run_id):
    """A payout run and its payouts (admins)"""
    _admin()
    return services.get_run(run_id)


@bp.route("/payouts/<int:payout_id>/paid", methods=["POST"])
@token_required
@bp.arguments(schemas.PayoutPaid)
@bp.response(200, schemas.PayoutOut)
@bp.errors(400, 403, 404, 409)
def payout_paid(body, payout_id):
    """Record that a payout was sent: the bank's reference and the day (admins). The same
    call again changes nothing; another reference is a 409"""
    _admin()
    payout = services.get_payout(payout_id)
    services.mark_paid(
        g.api_user, payout, bank_reference=body["bank_reference"], paid_on=body["paid_on"]
    )
    db.session.commit()
    return payout


@bp.route("/payouts/<int:payout_id>/failed", methods=["POST"])
@token_required
@bp.arguments(schemas.PayoutFailed)
@bp.response(200, schemas.PayoutOut)
@bp.errors(400, 403, 404, 409)
def payout_failed(body, payout_id):
    """Record that a payout did not reach the seller: its amount is available again
    (admins)"""
    _admin()
    payout = services.get_payout(payout_id)
    services.mark_failed(g.api_user, payout, reason=body["reason"])
    db.session.commit()
    return payout


@bp.route("/sellers/<int:seller_id>/statement", methods=["GET"])
@token_required
@bp.arguments(schemas.PeriodQuery, location="query")
@bp.response(200, schemas.SellerStatement)
@bp.errors(400, 403, 404)
def seller_statement(query, seller_id):
    """A seller's statement for a period (the current month by default): every movement
    with a running balance, and the totals (its members, admins)"""
    seller = _seller_for(seller_id)
    start, end = reports.period(query.get("start"), query.get("end"))
    return services.statement(seller.id, start, end)
