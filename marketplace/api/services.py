"""Bearer tokens and idempotent order creation for the JSON API. Services flush only."""

import hashlib
import json
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from marketplace.accounts import services as accounts
from marketplace.api.models import ApiToken, IdempotencyKey
from marketplace.catalog.models import ProductStatus
from marketplace.catalog.services import Card, card_of
from marketplace.dbtypes import insert_for, utcnow
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.ledger.models import AccountKind
from marketplace.levies.models import Beneficiary, LevyKind
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as orders


class BadCredentials(DomainError):
    status = 401
    code = "unauthorized"


def _digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


def issue_token(email, password):
    """``(token, expires_at)`` for a right email and password; the token is shown once."""
    user = accounts.authenticate(email, password)
    if user is None:
        raise BadCredentials(_l("The email or the password is not right."))
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(hours=current_app.config["API_TOKEN_TTL_HOURS"])
    db.session.add(ApiToken(user_id=user.id, token_hash=_digest(token), expires_at=expires_at))
    db.session.flush()
    return token, expires_at


def user_for_token(token):
    """The active user a live token belongs to, else None."""
    if not token or len(token) > 200:
        return None
    row = db.session.scalar(
        select(ApiToken)
        .where(ApiToken.token_hash == _digest(token))
        .options(joinedload(ApiToken.user))
    )
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row.user if row.user.active else None


def revoke(token):
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.flush()


def request_hash(body):
    return _digest(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True))


def place_order_once(buyer, key, body, place):
    """Place the order ``place()`` makes, once per (buyer, key); return ``(order, created)``.

    The same key with the same body returns the first order; with another body, a conflict.
    The key is claimed before the order is placed: a second request with it at the same
    time waits on the key's row and then replays the first order, so it never reserves
    stock (or finds the stock already gone). If placing fails, the request's rollback
    frees the key for a retry.
    """
    digest = request_hash(body)
    table = IdempotencyKey.__table__
    claimed = db.session.scalar(
        insert_for(db.session, table)
        .values(user_id=buyer.id, key=key, request_hash=digest, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(table.c.id)
    )
    if claimed is None:  # the key was claimed before (waited for, if not committed yet)
        return _replay(_existing(buyer, key), digest), False
    order = place()
    db.session.execute(update(table).where(table.c.id == claimed).values(order_id=order.id))
    return order, True


def _existing(buyer, key):
    return db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == buyer.id, IdempotencyKey.key == key)
    )


def _replay(record, digest):
    if record is None:  # its claim was rolled back after we waited on it: try again
        raise Conflict(_l("An order with this Idempotency-Key is still being placed."))
    if record.request_hash != digest:
        raise Conflict(_l("This Idempotency-Key was used with another request."))
    if record.order_id is None:  # not committed yet: cannot be seen, but never a 404
        raise Conflict(_l("An order with this Idempotency-Key is still being placed."))
    return orders.get_order(record.order_id)


def order_for_viewer(viewer, order_id):
    """The order as ``viewer`` may see it (an :class:`OrderSeen`): all of it for its buyer
    and admins, their own shipments for a member of one of its sellers, else not found."""
    order = orders.get_order(order_id)
    if viewer.is_admin or order.buyer_id == viewer.id:
        return OrderSeen(order, orders.payment_of(order))
    mine = {s.id for s in order.shipments if viewer.is_member_of(s.seller_id)}
    if mine:
        return OrderSeen(order, None, mine, order_refunds.refunded_by_shipment(order))
    raise NotFound(_l("No such order."))


# What the API shows: the schemas in api/schemas.py read these objects' attributes.


class OrderSeen:
    """An order as one caller sees it: all of it (its buyer, admins), or some of its
    shipments (a seller's member), with figures that add up over those shipments only —
    never the other sellers' sales."""

    def __init__(self, order, payment=None, shipment_ids=None, refunded_by_shipment=None):
        self.order = order
        self._payment = payment
        self.shipment_ids = shipment_ids
        self.refunded_by_shipment = refunded_by_shipment or {}
        self.shipments = [
            s for s in order.shipments if shipment_ids is None or s.id in shipment_ids
        ]

    def __getattr__(self, name):  # id, number, status, buyer_id...
        return getattr(self.order, name)

    @property
    def partial(self):
        return self.shipment_ids is not None

    @property
    def subtotal_satang(self):
        if not self.partial:
            return self.order.subtotal_satang
        return sum(line.line_total_satang for s in self.shipments for line in s.items)

    @property
    def shipping_satang(self):
        if not self.partial:
            return self.order.shipping_satang
        return sum(s.shipping_satang for s in self.shipments)

    @property
    def total_satang(self):
        if not self.partial:
            return self.order.total_satang
        return self.subtotal_satang + self.shipping_satang

    @property
    def refunded_satang(self):
        if not self.partial:
            return self.order.refunded_satang
        return sum(self.refunded_by_shipment.get(s.id, 0) for s in self.shipments)

    @property
    def levy_total_satang(self):
        return sum(levy.amount_satang for s in self.shipments for i in s.items for levy in i.levies)

    @property
    def platform_fee_total_satang(self):
        return sum(item.platform_fee_satang for s in self.shipments for item in s.items)

    @property
    def payment(self):
        if self._payment is None:
            return None
        shown = {"provider": self._payment.provider, "status": self._payment.status.value}
        if self._payment.provider == "stripe":
            shown["stripe_payment_intent_id"] = self._payment.external_id
        return shown


class ProductSeen:
    """A product (a catalog card, or a loaded Product) with the levies it carries."""

    def __init__(self, item, rules=(), buyer_fund=None):
        self.card = item if isinstance(item, Card) else card_of(item)
        self.levies = [levy_badge(rule, buyer_fund) for rule in rules]

    def __getattr__(self, name):  # id, name_en, description, price_satang, stock...
        return getattr(self.card, name)

    name = property(lambda self: self.card.name_th)
    category = property(lambda self: self.card.category_slug)
    unit = property(lambda self: self.card.unit_label)
    unit_en = property(lambda self: self.card.unit_label_en)
    status = property(lambda self: ProductStatus(self.card.status))

    @property
    def seller(self):
        card = self.card
        return {"id": card.seller_id, "name": card.seller_th, "province_code": card.province_code}


def levy_badge(rule, buyer_fund=None):
    """A levy as a product shows it: the fund it feeds (the buyer's own, for buyer-fund
    levies), and its rate as ``amount_satang`` or ``basis_points``."""
    fund = rule.fund if rule.beneficiary == Beneficiary.FUND else buyer_fund
    badge = {
        "fund_id": fund.id if fund else None,
        "fund_name": fund.name_th if fund else None,
        "beneficiary": rule.beneficiary,
        "kind": rule.kind,
    }
    badge["basis_points" if rule.kind == LevyKind.PERCENT else "amount_satang"] = rule.rate
    return badge


class FundSeen:
    """A fund with its ledger balances."""

    def __init__(self, fund, balances):
        self.fund = fund
        self.payable_satang = balances.get(AccountKind.FUND_PAYABLE, 0)
        self.receivable_satang = balances.get(AccountKind.FUND_RECEIVABLE, 0)
        self.balance_satang = self.payable_satang - self.receivable_satang

    def __getattr__(self, name):  # id, name_en, province_code
        return getattr(self.fund, name)

    name = property(lambda self: self.fund.name_th)
