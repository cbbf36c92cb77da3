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
from marketplace.dbtypes import insert_for, utcnow
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
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
    """Buyer, admin, or a member of one of its sellers (who sees only their shipments)."""
    order = orders.get_order(order_id)
    if viewer.is_admin or order.buyer_id == viewer.id:
        return order, None
    mine = [s for s in order.shipments if viewer.is_member_of(s.seller_id)]
    if mine:
        return order, {s.id for s in mine}
    raise NotFound(_l("No such order."))
