"""Rate tables (a seller's own, or the platform default) and shipping quotes."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select

from marketplace.accounts.roles import can_manage_seller
from marketplace.errors import DomainError, Forbidden
from marketplace.extensions import db
from marketplace.orders.models import DeliveryMethod
from marketplace.organisations.services import require_admin
from marketplace.shipping.fees import Tier, fee_for_weight, remote_surcharge
from marketplace.shipping.models import ShippingRate

DELIVERY = DeliveryMethod.DELIVERY
PICKUP = DeliveryMethod.PICKUP
MAX_TIERS = 10
#: The heaviest tier (100 tonnes) and the dearest fee (฿100,000) a table may have.
MAX_TIER_GRAMS = 100_000_000
MAX_TIER_FEE_SATANG = 10_000_000
#: The platform default table a fresh marketplace starts with: (kg, baht).
DEFAULT_TABLE = ((1, 45), (3, 65), (5, 90), (10, 140), (20, 220))


def tiers_for(seller_id):
    """The seller's own tiers, or the platform default when it has none (one query)."""
    query = select(ShippingRate).order_by(ShippingRate.max_weight_grams)
    if seller_id is None:
        rows = db.session.scalars(query.where(ShippingRate.seller_id.is_(None))).all()
    else:
        both = db.session.scalars(
            query.where(or_(ShippingRate.seller_id == seller_id, ShippingRate.seller_id.is_(None)))
        ).all()
        own = [row for row in both if row.seller_id == seller_id]
        rows = own or [row for row in both if row.seller_id is None]
    return [Tier(row.max_weight_grams, row.fee_satang) for row in rows]


def has_own_table(seller_id):
    return (
        db.session.scalar(
            select(ShippingRate.id).where(ShippingRate.seller_id == seller_id).limit(1)
        )
        is not None
    )


def ensure_default_table():
    if not tiers_for(None):
        for kg, baht in DEFAULT_TABLE:
            db.session.add(
                ShippingRate(seller_id=None, max_weight_grams=kg * 1000, fee_satang=baht * 100)
            )
        db.session.flush()


def quote(seller, weight_grams, postal_code, method=DELIVERY):
    """Shipping for one seller's parcel: weight tier plus remote-area surcharge, or free pickup."""
    if method == PICKUP:
        if not seller.offers_pickup:
            raise DomainError(
                _l("%(name)s does not offer pickup.", name=seller.name), field="method"
            )
        return 0
    if method != DELIVERY:
        raise DomainError(_l("Choose delivery or pickup."), field="method")
    tiers = tiers_for(seller.id)
    if not tiers:
        raise DomainError(_l("Shipping rates are not set up yet."), field="method")
    config = current_app.config
    return fee_for_weight(weight_grams, tiers) + remote_surcharge(
        postal_code, config["REMOTE_AREA_POSTAL_CODES"], config["REMOTE_AREA_SURCHARGE_SATANG"]
    )


def kg_text(grams):
    """``1500`` → ``"1.5"``, ``5000`` → ``"5"``."""
    kg, rest = divmod(grams, 1000)
    return str(kg) if not rest else f"{kg}.{rest:03d}".rstrip("0")


def check_tiers(tiers):
    """A rate table's rules for ``tiers`` (Tiers of grams and satang): one to MAX_TIERS,
    each weight once, a weight above zero and a fee not below; returned by weight."""
    if not tiers:
        raise DomainError(_l("Give at least one tier."), field="tiers")
    if len(tiers) > MAX_TIERS:
        raise DomainError(_l("At most %(count)d tiers.", count=MAX_TIERS), field="tiers")
    if not all(
        0 < tier.max_weight_grams <= MAX_TIER_GRAMS and 0 <= tier.fee_satang <= MAX_TIER_FEE_SATANG
        for tier in tiers
    ):
        raise DomainError(
            _l("Each tier needs a weight in kg and a fee in baht, such as 5 and 90."),
            field="tiers",
        )
    if len({tier.max_weight_grams for tier in tiers}) < len(tiers):
        raise DomainError(_l("Two tiers have the same weight."), field="tiers")
    return sorted(tiers, key=lambda tier: tier.max_weight_grams)


def _same_table(seller_id):
    column = ShippingRate.seller_id
    return column.is_(None) if seller_id is None else column == seller_id


def _replace_table(seller_id, tiers):
    db.session.execute(delete(ShippingRate).where(_same_table(seller_id)))
    for tier in tiers:
        db.session.add(
            ShippingRate(
                seller_id=seller_id,
                max_weight_grams=tier.max_weight_grams,
                fee_satang=tier.fee_satang,
            )
        )
    db.session.flush()


def save_seller_shipping(actor, seller, *, tiers, offers_pickup, pickup_note):
    """A seller's shipping: its own ``tiers`` (None: the platform default table) and
    whether it offers pickup."""
    if not can_manage_seller(actor, seller.id):
        raise Forbidden(_l("You are not a member of this seller."))
    if tiers is not None:
        _replace_table(seller.id, check_tiers(tiers))
    else:
        db.session.execute(delete(ShippingRate).where(ShippingRate.seller_id == seller.id))
    seller.offers_pickup = bool(offers_pickup)
    seller.pickup_note = (pickup_note or "").strip()[:500]
    db.session.flush()


def save_default_table(actor, tiers):
    """The platform's own rate table (Tiers), used by sellers without one; admins only."""
    require_admin(actor)
    _replace_table(None, check_tiers(tiers))
