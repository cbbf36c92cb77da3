"""JSON API v1: the same services as the web pages, with bearer tokens and no cookies.

Each body is read and written by its schema (api/schemas.py), which also writes the
OpenAPI document (GET /api/v1/openapi.json). Views authorise, call a service with typed
values and commit once. Errors are ``{"error": {"code", "message", "fields"}}`` with a
4xx status. CSRF does not apply: a cookie session never authenticates an API call.
"""

from functools import wraps

from flask import g, jsonify, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from marketplace.accounts import services as accounts
from marketplace.accounts import throttle
from marketplace.accounts.roles import can_manage_fund, can_manage_seller
from marketplace.api import schemas
from marketplace.api import services as api
from marketplace.api.base import Blueprint, InvalidInput, api_field_names, request_json
from marketplace.api.fields import next_cursor
from marketplace.catalog import services as catalog
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import csrf, db
from marketplace.funds import reports
from marketplace.funds import services as funds
from marketplace.levies import services as levies
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as orders
from marketplace.sellers import services as sellers

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Talat Chumchon API v1")
csrf.exempt(bp)

LEDGER_PAGE = 100
ORDERS_PAGE = 50

#: Service field names → the API's, so that ``fields`` in an error names what was sent.
PRODUCT_FIELDS = {
    "name_th": "name",
    "unit_label": "unit",
    "unit_label_en": "unit_en",
    "price": "price_satang",
    "category_id": "category",
}
ORDER_FIELDS = {
    "ship_name": "shipping.name",
    "ship_phone": "shipping.phone",
    "address_line": "shipping.address_line",
    "subdistrict": "shipping.subdistrict_code",
    "postal_code": "shipping.postal_code",
    "quantity": "items",
}
REFUND_FIELDS = {"quantity": "items"}
#: The fields of a product a PATCH may change, as the catalog service names them.
PRODUCT_SERVICE_NAMES = {
    "name": "name_th",
    "name_en": "name_en",
    "description": "description",
    "unit": "unit_label",
    "unit_en": "unit_label_en",
    "price_satang": "price_satang",
    "stock": "stock",
    "weight_grams": "weight_grams",
    "status": "status",
}


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


# Authentication


def _bearer():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_required(view):
    """The caller must send a valid bearer token (checked before the body is read)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        user = api.user_for_token(_bearer())
        if user is None:
            raise Unauthorized(_l("Send a valid token: Authorization: Bearer <token>."))
        g.api_user = user
        return view(*args, **kwargs)

    return bp.doc(security=[{"bearer": []}])(bp.errors(401)(wrapped))


def public(view):
    return bp.doc(security=[])(view)


def _viewer():
    """The token's user when a valid token is sent, else None (public reads)."""
    return api.user_for_token(_bearer()) if _bearer() else None


def _admin():
    if not g.api_user.is_admin:
        raise Forbidden(_l("Only an admin can do this."))


# Accounts and tokens


@bp.route("/users", methods=["POST"])
@public
@bp.arguments(schemas.NewUser)
@bp.response(202, schemas.RegistrationStarted)
@bp.errors(400)
def create_user(body):
    """Register: mails a link that creates the account"""
    email = accounts.start_registration(
        body["email"],
        body["password"],
        body["name"],
        body.get("language", "th"),
        allow_mail=throttle.allow_mail,
    )
    db.session.commit()
    # The same answer whether the address has an account or not: the mail tells its owner.
    return {"email": email, "status": "confirmation_sent"}


@bp.route("/tokens", methods=["POST"])
@public
@bp.arguments(schemas.Credentials)
@bp.response(201, schemas.Token)
@bp.errors(400, 401)
def create_token(body):
    """Get a bearer token"""
    token, expires_at = api.issue_token(body["email"], body["password"])
    db.session.commit()
    return {"token": token, "expires_at": expires_at}


@bp.route("/tokens/current", methods=["DELETE"])
@token_required
@bp.response(204)
def revoke_token():
    """Revoke this token"""
    api.revoke(_bearer())
    db.session.commit()


# Products


@bp.route("/products", methods=["GET"])
@public
@bp.arguments(schemas.ProductQuery, location="query")
@bp.response(200, schemas.ProductList)
@bp.errors(400)
def list_products(query):
    """List products on sale"""
    page = query.get("cursor", 1)
    result = catalog.browse(
        catalog.CatalogQuery(
            q=query.get("q", "").strip(),
            category=query.get("category", ""),
            province=query.get("province", ""),
            region=query.get("region", ""),
            seller=query.get("seller"),
            page=page,
            per_page=catalog.PER_PAGE,
        )
    )
    badges = levies.badges_for(result.items)
    buyer_fund = levies.buyer_fund_of(_viewer())
    return {
        "items": [api.ProductSeen(p, badges.get(p.id, ()), buyer_fund) for p in result.items],
        "next_cursor": next_cursor(page + 1) if result.has_next else None,
    }


@bp.route("/products/<int:product_id>", methods=["GET"])
@public
@bp.response(200, schemas.ProductOut)
@bp.errors(404)
def get_product(product_id):
    """A product"""
    viewer = _viewer()
    item = catalog.visible_product(product_id, viewer)
    rules = levies.badges_for([item]).get(item.id, [])
    return api.ProductSeen(item, rules, levies.buyer_fund_of(viewer))


def _product_draft(body, current=None):
    """``body`` (API names) over ``current``, as the catalog.ProductDraft the service takes."""
    changes = {PRODUCT_SERVICE_NAMES[k]: v for k, v in body.items() if k in PRODUCT_SERVICE_NAMES}
    if "price_tiers" in body:  # all of them, in the order sent (errors name them so)
        changes["price_tiers"] = tuple(
            catalog.PriceTier(tier["min_quantity"], tier["price_satang"])
            for tier in body["price_tiers"]
        )
    if "category" in body:
        category = catalog.category_by_slug(body["category"])
        if category is None:
            raise InvalidInput({"category": [_l("Choose a category.")]})
        changes["category_id"] = category.id
    if current is not None:
        return catalog.ProductDraft.of(current, **changes)
    return catalog.ProductDraft(**changes)


def _product_body(product):
    """A product as its sellers see it after a change, with the levies it carries."""
    return api.ProductSeen(product, levies.badges_for([product]).get(product.id, []))


@bp.route("/products", methods=["POST"])
@token_required
@bp.arguments(schemas.NewProduct)
@bp.response(201, schemas.ProductOut)
@bp.errors(400, 403, 404)
def create_product(body):
    """Add a product (seller members, admins)"""
    user = g.api_user
    seller = sellers.get(sellers.seller_for_new_product(user, body.get("seller_id")))
    if not can_manage_seller(user, seller.id):
        raise Forbidden(_l("You are not a member of this seller."))
    with api_field_names(PRODUCT_FIELDS):
        product = catalog.create_product(user, seller, _product_draft(body))
    db.session.commit()
    return _product_body(product), 201, {"Location": url_for(".get_product", product_id=product.id)}


@bp.route("/products/<int:product_id>", methods=["PATCH"])
@token_required
@bp.arguments(schemas.ProductChanges)
@bp.response(200, schemas.ProductOut)
@bp.errors(400, 403, 404)
def update_product(body, product_id):
    """Change a product, its status or stock"""
    product = catalog.get_product(product_id)
    if not can_manage_seller(g.api_user, product.seller_id):
        raise NotFound(_l("No such product."))
    with api_field_names(PRODUCT_FIELDS):
        catalog.update_product(g.api_user, product, _product_draft(body, current=product))
    db.session.commit()
    return _product_body(product)


# Orders


@bp.route("/orders", methods=["POST"])
@token_required
@bp.arguments(schemas.IdempotencyHeader, location="headers")
@bp.arguments(schemas.NewOrder, example=schemas.NEW_ORDER_EXAMPLE)
@bp.response(201, schemas.OrderOut)
@bp.alt_response(200, schema=schemas.OrderOut, description="Already placed with this key")
@bp.errors(400, 404, 409, 503)
@bp.doc(operationId="placeOrder")
def create_order(header, body):
    """Place an order"""
    lines = [(line["product_id"], line["quantity"]) for line in body["items"]]
    started = []

    def place():
        with api_field_names(ORDER_FIELDS):
            order = orders.place_order(
                g.api_user, lines, address=body["shipping"], payment_method=body["payment_method"]
            )
        started.append(order.payments[-1])  # the one just started
        return order

    order, created = api.place_order_once(g.api_user, header["key"], request_json(), place)
    seen = api.OrderSeen(order, started[0] if started else orders.payment_of(order))
    if not created:
        return _written(seen)
    return _written(seen, 201, {"Location": url_for(".get_order", order_id=order.id)})


def _written(order_seen, status=200, headers=None):
    """Commit, answering with the order as this transaction wrote it: serialised before the
    commit, so the answer needs no second load of the order."""
    response = jsonify(schemas.OrderOut().dump(order_seen))
    db.session.commit()
    response.status_code = status
    response.headers.update(headers or {})
    return response


@bp.route("/orders", methods=["GET"])
@token_required
@bp.arguments(schemas.PageQuery, location="query")
@bp.response(200, schemas.OrderList)
@bp.errors(400)
def list_orders(query):
    """My orders, newest first, a page at a time"""
    page = orders.buyer_orders(g.api_user, before_id=query.get("cursor"), limit=ORDERS_PAGE + 1)
    more, page = len(page) > ORDERS_PAGE, page[:ORDERS_PAGE]
    payments = orders.payments_of(page)
    return {
        "items": [api.OrderSeen(order, payments.get(order.id)) for order in page],
        "next_cursor": next_cursor(page[-1].id) if more else None,
    }


@bp.route("/orders/<int:order_id>", methods=["GET"])
@token_required
@bp.response(200, schemas.OrderOut)
@bp.errors(403, 404)
@bp.doc(operationId="getOrder")
def get_order(order_id):
    """An order (its buyer, admins; a seller's members see their shipments)"""
    return api.order_for_viewer(g.api_user, order_id)


@bp.route("/orders/<int:order_id>/payment-confirmations", methods=["POST"])
@token_required
@bp.arguments(schemas.PaymentConfirmation)
@bp.response(200, schemas.OrderOut)
@bp.errors(400, 403, 404, 409)
@bp.doc(operationId="confirmPayment")
def confirm_payment(body, order_id):
    """Confirm a transfer (admins)"""
    _admin()
    order = orders.get_order(order_id)
    orders.confirm_transfer(g.api_user, order, body.get("reference", ""))
    return _written(api.OrderSeen(order, orders.payment_of(order)))


@bp.route("/orders/<int:order_id>/refunds", methods=["POST"])
@token_required
@bp.arguments(schemas.RefundRequest)
@bp.response(201, schemas.RefundOut)
@bp.errors(400, 403, 404, 409, 503)
@bp.doc(operationId="refundOrder")
def refund_order(body, order_id):
    """Refund items, or everything left (admins)"""
    _admin()
    items = body.get("items")
    if items is not None:
        items = [(line["order_item_id"], line["quantity"]) for line in items]
    order = orders.get_order(order_id)
    with api_field_names(REFUND_FIELDS):
        refund = order_refunds.refund(g.api_user, order, items, reason="API")
    if refund is None:
        raise Conflict(_l("Nothing is left to refund."), field="items")
    db.session.commit()
    return refund


@bp.route("/shipments/<int:shipment_id>/ship", methods=["POST"])
@token_required
@bp.arguments(schemas.ShipRequest)
@bp.response(200, schemas.ShipmentOut)
@bp.errors(400, 403, 404, 409)
def ship(body, shipment_id):
    """Mark a shipment shipped (its seller's members)"""
    shipment = orders.shipment_for_member(g.api_user, shipment_id)
    orders.ship(
        g.api_user, shipment, carrier=body["carrier"], tracking_number=body["tracking_number"]
    )
    db.session.commit()
    return shipment


# Funds


def _fund_for(fund_id):
    fund = funds.get(fund_id)
    if not can_manage_fund(g.api_user, fund.id):
        raise Forbidden(_l("You are not a treasurer of this fund."))
    return fund


@bp.route("/funds/<int:fund_id>", methods=["GET"])
@token_required
@bp.response(200, schemas.FundOut)
@bp.errors(403, 404)
def get_fund(fund_id):
    """A fund's balances (treasurers, admins)"""
    fund = _fund_for(fund_id)
    return api.FundSeen(fund, reports.account_balances(fund.id))


@bp.route("/funds/<int:fund_id>/levy-report", methods=["GET"])
@token_required
@bp.arguments(schemas.PeriodQuery, location="query")
@bp.response(200, schemas.LevyReport)
@bp.errors(400, 403, 404)
def fund_levy_report(query, fund_id):
    """A fund's levy report for a period (the current month by default)"""
    fund = _fund_for(fund_id)
    start, end = reports.period(query.get("start"), query.get("end"))
    return reports.levy_report(fund.id, start, end, str(get_locale() or "th"))


@bp.route("/funds/<int:fund_id>/ledger", methods=["GET"])
@token_required
@bp.arguments(schemas.PageQuery, location="query")
@bp.response(200, schemas.LedgerPage)
@bp.errors(400, 403, 404)
def fund_ledger(query, fund_id):
    """A fund's journal entries with lines and hashes, oldest first"""
    fund = _fund_for(fund_id)
    entries, more = reports.ledger_page(fund.id, query.get("cursor", 0), LEDGER_PAGE)
    return {
        "items": entries,
        "next_cursor": next_cursor(entries[-1].id) if more else None,
    }
