"""JSON API v1: the same services as the web pages, with bearer tokens and no cookies.

Every response is JSON; errors are ``{"error": {"code", "message", "fields"}}`` with a
4xx status. CSRF does not apply: a cookie session never authenticates an API call.
"""

import base64
from functools import wraps

from flask import Blueprint, g, jsonify, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from marketplace.accounts import services as accounts
from marketplace.accounts import throttle
from marketplace.accounts.roles import can_manage_fund, can_manage_seller
from marketplace.api import serializers
from marketplace.api import services as api
from marketplace.api.openapi import document
from marketplace.api.validation import (
    InvalidInput,
    Reader,
    api_field_names,
    json_body,
    query_id,
)
from marketplace.catalog import services as catalog
from marketplace.catalog.models import ProductStatus
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import csrf, db
from marketplace.funds import reports
from marketplace.funds import services as funds
from marketplace.i18n import LANGUAGES
from marketplace.levies import services as levies
from marketplace.money import baht_text
from marketplace.orders import services as orders
from marketplace.sellers import services as sellers

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

LEDGER_PAGE = 100
ORDERS_PAGE = 50
#: The Idempotency-Key header: printable ASCII, as in the IETF draft's examples.
IDEMPOTENCY_KEY_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F))

#: Service field names → the API's, so that ``fields`` in an error names what was sent.
PRODUCT_FIELDS = {
    "name_th": "name",
    "unit_label": "unit",
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


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


# Authentication


def _bearer():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        user = api.user_for_token(_bearer())
        if user is None:
            raise Unauthorized(_l("Send a valid token: Authorization: Bearer <token>."))
        g.api_user = user
        return view(*args, **kwargs)

    return wrapped


def _viewer():
    """The token's user when a valid token is sent, else None (public reads)."""
    return api.user_for_token(_bearer()) if _bearer() else None


def _created(body, location=None):
    response = jsonify(body)
    response.status_code = 201
    if location:
        response.headers["Location"] = location
    return response


# Accounts and tokens


@bp.post("/users")
def create_user():
    read = Reader(json_body())
    email = read.text("email", max_length=254)
    password = read.text("password", max_length=200)
    name = read.text("name", max_length=120)
    language = read.choice("language", LANGUAGES, required=False, default="th")
    read.done()
    email = accounts.start_registration(
        email, password, name, language, allow_mail=throttle.allow_mail
    )
    db.session.commit()
    # The same answer whether the address has an account or not: the mail tells its owner.
    response = jsonify({"email": email, "status": "confirmation_sent"})
    response.status_code = 202
    return response


@bp.post("/tokens")
def create_token():
    read = Reader(json_body())
    email = read.text("email", max_length=254)
    password = read.text("password", max_length=200)
    read.done()
    token, expires_at = api.issue_token(email, password)
    db.session.commit()
    return _created({"token": token, "expires_at": expires_at.isoformat()})


@bp.delete("/tokens/current")
@token_required
def revoke_token():
    api.revoke(_bearer())
    db.session.commit()
    return "", 204


# Products


def _cursor_page(cursor):
    if not cursor:
        return 1
    try:
        text = base64.urlsafe_b64decode(cursor.encode() + b"==").decode()
        page = int(text.removeprefix("p"))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput({"cursor": [_l("Use the next_cursor of an earlier page.")]}) from None
    if not 1 <= page <= 100_000:
        raise InvalidInput({"cursor": [_l("Use the next_cursor of an earlier page.")]})
    return page


def _next_cursor(page):
    return base64.urlsafe_b64encode(f"p{page}".encode()).decode().rstrip("=")


@bp.get("/products")
def list_products():
    args = request.args
    province = args.get("province", "")
    if province and not (province.isascii() and province.isdigit() and len(province) == 2):
        raise InvalidInput({"province": [_l("Use a two-digit DOPA province code.")]})
    page = _cursor_page(args.get("cursor"))
    params = catalog.CatalogQuery(
        q=args.get("q", "").strip()[:100],
        category=args.get("category", "")[:50],
        province=province,
        region=args.get("region", "")[:16],
        seller=query_id("seller"),
        page=page,
        per_page=catalog.PER_PAGE,
    )
    result = catalog.browse(params)
    badges = levies.badges_for(result.items)
    buyer_fund = levies.buyer_fund_of(_viewer())
    return jsonify(
        {
            "items": [
                serializers.product(p, badges.get(p.id, ()), buyer_fund) for p in result.items
            ],
            "next_cursor": _next_cursor(page + 1) if result.has_next else None,
        }
    )


@bp.get("/products/<int:product_id>")
def get_product(product_id):
    viewer = _viewer()
    item = catalog.visible_product(product_id, viewer)
    rules = levies.badges_for([item]).get(item.id, [])
    return jsonify(serializers.product(item, rules, levies.buyer_fund_of(viewer)))


def _product_fields(read, partial):
    """Body fields as the catalog service reads them (``partial``: only those given)."""
    required = not partial
    values = {
        "name_th": read.text("name", required=required, max_length=200, default=None),
        "name_en": read.text("name_en", required=False, max_length=200, default=None),
        "description": read.text("description", required=False, max_length=10000, default=None),
        "unit_label": read.text("unit", required=required, max_length=50, default=None),
        "price_satang": read.integer(
            "price_satang", required=required, minimum=1, maximum=catalog.MAX_PRICE_SATANG
        ),
        "stock": read.integer("stock", required=required, maximum=catalog.MAX_STOCK),
        "weight_grams": read.integer(
            "weight_grams", required=required, minimum=1, maximum=catalog.MAX_WEIGHT_GRAMS
        ),
        "status": read.choice(
            "status", [s.value for s in ProductStatus], required=False, default=None
        ),
        "category": read.text("category", required=required, max_length=50, default=None),
    }
    return {key: value for key, value in values.items() if value is not None}


def _as_service_data(fields, current=None):
    """Merge ``fields`` over ``current`` and shape them for catalog.clean_product."""
    data = {}
    if current is not None:
        data = {
            "name_th": current.name_th,
            "name_en": current.name_en,
            "description": current.description,
            "unit_label": current.unit_label,
            "price_satang": current.price_satang,
            "stock": current.stock,
            "weight_grams": current.weight_grams,
            "status": current.status.value,
            "category_id": current.category_id,
        }
    data.update({k: v for k, v in fields.items() if k != "category"})
    if "category" in fields:
        category = catalog.category_by_slug(fields["category"])
        if category is None:
            raise InvalidInput({"category": [_l("Choose a category.")]})
        data["category_id"] = category.id
    data["price"] = baht_text(data.pop("price_satang", 0))
    return data


@bp.post("/products")
@token_required
def create_product():
    read = Reader(json_body())
    fields = _product_fields(read, partial=False)
    seller_id = read.integer("seller_id", required=False, minimum=1)
    read.done()
    user = g.api_user
    if seller_id is None:
        sellers_of_user = user.sellers
        if len(sellers_of_user) != 1:
            raise InvalidInput({"seller_id": [_l("Name the seller this product is for.")]})
        seller_id = sellers_of_user[0].id
    if not can_manage_seller(user, seller_id):
        raise Forbidden(_l("You are not a member of this seller."))
    seller = sellers.get(seller_id)
    with api_field_names(PRODUCT_FIELDS):
        product = catalog.create_product(user, seller, _as_service_data(fields))
    db.session.commit()
    return _created(_product_body(product), url_for(".get_product", product_id=product.id))


def _product_body(product):
    """A product as its sellers see it after a change, with the levies it carries."""
    return serializers.product(product, levies.badges_for([product]).get(product.id, []))


@bp.patch("/products/<int:product_id>")
@token_required
def update_product(product_id):
    product = catalog.get_product(product_id)
    if not can_manage_seller(g.api_user, product.seller_id):
        raise NotFound(_l("No such product."))
    read = Reader(json_body())
    fields = _product_fields(read, partial=True)
    read.done()
    with api_field_names(PRODUCT_FIELDS):
        catalog.update_product(g.api_user, product, _as_service_data(fields, current=product))
    db.session.commit()
    return jsonify(_product_body(product))


# Orders


def _order_body(data):
    read = Reader(data)
    items = read.array("items", max_items=100) or []
    lines = []
    for index, raw in enumerate(items):
        line = Reader(raw if isinstance(raw, dict) else {})
        if not isinstance(raw, dict):
            line.problems["item"] = [_l("Must be an object.")]
        product_id = line.integer("product_id", minimum=1)
        quantity = line.integer("quantity", minimum=1, maximum=999)
        read.nested(f"items[{index}]", line)
        lines.append((product_id, quantity))
    if items == [] and "items" in data:
        read.problems.setdefault("items", []).append(_l("Order at least one product."))
    shipping = read.object("shipping") or {}
    ship = Reader(shipping)
    address = {
        "name": ship.text("name", max_length=120),
        "phone": ship.text("phone", max_length=20),
        "address_line": ship.text("address_line", max_length=255),
        "subdistrict_code": ship.text("subdistrict_code", max_length=6),
        "postal_code": ship.text("postal_code", max_length=5),
    }
    if "shipping" in data and isinstance(shipping, dict):
        read.nested("shipping", ship)
    method = read.choice("payment_method", ["transfer", "stripe"])
    read.done()
    return lines, address, method


@bp.post("/orders")
@token_required
def create_order():
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key or len(key) > 200 or not IDEMPOTENCY_KEY_CHARS.issuperset(key):
        raise InvalidInput(
            {"Idempotency-Key": [_l("Send an Idempotency-Key header of 1 to 200 characters.")]}
        )
    body = json_body()
    lines, address, method = _order_body(body)

    started = []

    def place():
        with api_field_names(ORDER_FIELDS):
            order = orders.place_order(g.api_user, lines, address=address, payment_method=method)
        payment = order.payments[-1]  # the one just started (its Stripe intent: after commit)
        started.append(payment)
        return order

    order, created = api.place_order_once(g.api_user, key, body, place)
    # Read from what this transaction wrote (no second load of the order after the commit).
    payload = serializers.order(order, started[0] if started else orders.payment_of(order))
    db.session.commit()
    if created:
        return _created(payload, url_for(".get_order", order_id=payload["id"]))
    return jsonify(payload)


@bp.get("/orders")
@token_required
def list_orders():
    """The caller's own orders, newest first, a page at a time."""
    page = orders.buyer_orders(g.api_user, before_id=query_id("cursor"), limit=ORDERS_PAGE + 1)
    more, page = len(page) > ORDERS_PAGE, page[:ORDERS_PAGE]
    payments = orders.payments_of(page)
    return jsonify(
        {
            "items": [serializers.order(order, payments.get(order.id)) for order in page],
            "next_cursor": str(page[-1].id) if more else None,
        }
    )


@bp.get("/orders/<int:order_id>")
@token_required
def get_order(order_id):
    order, only = api.order_for_viewer(g.api_user, order_id)
    if only is None:
        return jsonify(serializers.order(order, orders.payment_of(order)))
    return jsonify(serializers.seller_order(order, only, orders.refunded_by_shipment(order)))


def _admin():
    if not g.api_user.is_admin:
        raise Forbidden(_l("Only an admin can do this."))


@bp.post("/orders/<int:order_id>/payment-confirmations")
@token_required
def confirm_payment(order_id):
    _admin()
    read = Reader(json_body())
    reference = read.text("reference", required=False, max_length=100)
    read.done()
    order = orders.get_order(order_id)
    orders.confirm_transfer(g.api_user, order, reference)
    # Read from what this transaction wrote (no second load of the order after the commit).
    payload = serializers.order(order, orders.payment_of(order))
    db.session.commit()
    return jsonify(payload)


@bp.post("/orders/<int:order_id>/refunds")
@token_required
def refund_order(order_id):
    _admin()
    read = Reader(json_body())
    raw = read.array("items", required=False, max_items=200)
    items = None
    if raw is not None:
        items = []
        for index, entry in enumerate(raw):
            line = Reader(entry if isinstance(entry, dict) else {})
            item_id = line.integer("order_item_id", minimum=1)
            quantity = line.integer("quantity", minimum=1, maximum=999)
            read.nested(f"items[{index}]", line)
            items.append((item_id, quantity))
    read.done()
    order = orders.get_order(order_id)
    with api_field_names(REFUND_FIELDS):
        refund = orders.refund(g.api_user, order, items, reason="API")
    if refund is None:
        raise Conflict(_l("Nothing is left to refund."), field="items")
    db.session.commit()
    return _created(serializers.refund(refund))


@bp.post("/shipments/<int:shipment_id>/ship")
@token_required
def ship(shipment_id):
    shipment = orders.shipment_for_member(g.api_user, shipment_id)
    read = Reader(json_body())
    carrier = read.text("carrier", max_length=60)
    tracking = read.text("tracking_number", max_length=60)
    read.done()
    orders.ship(g.api_user, shipment, carrier=carrier, tracking_number=tracking)
    db.session.commit()
    return jsonify(serializers.shipment(shipment))


# Funds


def _fund_for(fund_id):
    fund = funds.get(fund_id)
    if not can_manage_fund(g.api_user, fund.id):
        raise Forbidden(_l("You are not a treasurer of this fund."))
    return fund


@bp.get("/funds/<int:fund_id>")
@token_required
def get_fund(fund_id):
    fund = _fund_for(fund_id)
    return jsonify(serializers.fund(fund, reports.account_balances(fund.id)))


def _api_period():
    args = request.args
    try:
        return reports.parse_period(args.get("from"), args.get("to"))
    except DomainError as error:
        raise InvalidInput({error.field or "from": [error.message]}, error.message) from None


@bp.get("/funds/<int:fund_id>/levy-report")
@token_required
def fund_levy_report(fund_id):
    fund = _fund_for(fund_id)
    start, end = _api_period()
    language = str(get_locale() or "th")
    return jsonify(reports.levy_report(fund.id, start, end, language).as_dict())


@bp.get("/funds/<int:fund_id>/ledger")
@token_required
def fund_ledger(fund_id):
    fund = _fund_for(fund_id)
    entries, more = reports.ledger_page(fund.id, query_id("cursor") or 0, LEDGER_PAGE)
    return jsonify(
        {
            "items": [serializers.ledger_entry(e) for e in entries],
            "next_cursor": str(entries[-1].id) if more else None,
        }
    )


@bp.get("/openapi.json")
def openapi():
    return jsonify(document(request.host_url.rstrip("/")))
