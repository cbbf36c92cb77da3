"""/api/v1 for sellers' money: balances, statements, payout runs, payouts paid or failed,
and the buyer's "received" that starts the hold. The routes join the API's blueprint
(marketplace/api/views.py) and follow it: a schema per body and per answer, a token, the
caller authorised, one service call with typed values, one commit."""

from functools import wraps

from flask import g, request, url_for
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from marketplace.accounts.roles import can_manage_seller
from marketplace.api import schemas
from marketplace.api.views import bp, token_required
from marketplace.errors import Conflict, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.funds import reports
from marketplace.orders import services as orders
from marketplace.orders.models import Shipment
from marketplace.payouts import proceeds, services
from marketplace.payouts.models import PayoutStatus
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


def _settled_first(action):
    """Answer 409 for a paid or failed payout before its body is read: the contract is
    "anything else on a paid or failed payout is a 409", so a body that would be refused
    (400) for a pending payout is a 409 for a settled one. Only a body the schema accepts
    goes on to the service, which answers the same call again with 200 (nothing changed)
    and anything else with 409. Placed above ``bp.arguments``; authorises first (403, 404)."""
    schema = {"paid": schemas.PayoutPaid, "failed": schemas.PayoutFailed}[action]
    repeatable = {"paid": PayoutStatus.PAID, "failed": PayoutStatus.FAILED}[action]

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            _admin()
            payout = services.get_payout(kwargs["payout_id"])
            if payout.status == PayoutStatus.PENDING:
                return view(*args, **kwargs)
            body = request.get_json(silent=True)
            if payout.status != repeatable or not isinstance(body, dict):
                raise _settled(payout)
            try:
                schema().load(body)
            except ValidationError:
                raise _settled(payout) from None
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _settled(payout):
    if payout.status == PayoutStatus.PAID:
        return Conflict(
            _l(
                "This payout is already paid, with reference %(reference)s.",
                reference=payout.bank_reference,
            )
        )
    return Conflict(_l("This payout has already failed."))


@bp.route("/payouts/<int:payout_id>/paid", methods=["POST"])
@token_required
@_settled_first("paid")
@bp.arguments(schemas.PayoutPaid)
@bp.response(200, schemas.PayoutOut)
@bp.errors(400, 403, 404, 409)
def payout_paid(body, payout_id):
    """Record that a payout was sent: the bank's reference and the day (admins).

    The same reference and day again answer 200 and change nothing (a retry is safe).
    Anything else on a paid or failed payout is a 409 — another reference or day, and also
    a body that would be a 400 for a payout still to pay (the payout's state is checked
    first). For a payout still to pay: a day in the future or before its run started is a
    400."""
    payout = services.get_payout(payout_id)
    services.mark_paid(
        g.api_user, payout, bank_reference=body["bank_reference"], paid_on=body["paid_on"]
    )
    db.session.commit()
    return payout


@bp.route("/payouts/<int:payout_id>/failed", methods=["POST"])
@token_required
@_settled_first("failed")
@bp.arguments(schemas.PayoutFailed)
@bp.response(200, schemas.PayoutOut)
@bp.errors(400, 403, 404, 409)
def payout_failed(body, payout_id):
    """Record that a payout did not reach the seller: its amount is available again
    (admins); the seller's members are told by mail.

    Idempotent: the same reason again answers 200 and changes nothing (no second entry,
    audit record or mail), so a retry is safe. Anything else on a paid or failed payout is
    a 409 — another reason, and also a body that would be a 400 for a payout still to pay
    (an empty reason: the payout's state is checked first)."""
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
