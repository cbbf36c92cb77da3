"""Levy rules: proposed by one side, accepted by the other; and the levies they put on orders.

A rule applies to an order placed on a Bangkok day within its effective dates, while it
is active. When the order is placed each item stores its levy lines (see
:func:`snapshot_order`); nothing done to a rule later changes them.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from marketplace.accounts.roles import can_manage_fund, can_manage_seller
from marketplace.audit import services as audit
from marketplace.catalog import cache as catalog_cache
from marketplace.catalog.models import Category, Product
from marketplace.dbtypes import utcnow
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.funds.models import Fund
from marketplace.i18n import to_bangkok
from marketplace.levies import arithmetic
from marketplace.levies.models import (
    Beneficiary,
    LevyKind,
    LevyRule,
    LevyScope,
    OrderItemLevy,
    RuleStatus,
    Side,
)
from marketplace.sellers.models import Seller

#: The largest per-unit or per-kg levy a rule may set: ฿10,000.
MAX_AMOUNT_RATE = 1_000_000


def today(now=None):
    """Today in Asia/Bangkok: rules take effect by Bangkok days."""
    return to_bangkok(now or utcnow()).date()


# Lifecycle


def get_rule(rule_id):
    rule = db.session.get(LevyRule, rule_id)
    if rule is None:
        raise NotFound(_l("No such levy rule."))
    return rule


def _overlapping(terms, exclude_id=None, statuses=(RuleStatus.ACTIVE, RuleStatus.PROPOSED)):
    """Rules for the same seller and beneficiary, on products ``terms`` (LevyTerms or a
    rule) also covers, whose dates overlap: a fund takes one levy from a product, not one
    per scope."""
    # Rules of one seller change one at a time, so two overlapping ones cannot both pass.
    db.session.execute(select(Seller.id).where(Seller.id == terms.seller_id).with_for_update())
    query = select(LevyRule).where(
        LevyRule.seller_id == terms.seller_id,
        LevyRule.beneficiary == terms.beneficiary,
        LevyRule.status.in_(statuses),
        or_(LevyRule.effective_to.is_(None), LevyRule.effective_to >= terms.effective_from),
    )
    query = query.where(
        LevyRule.fund_id.is_(None) if terms.fund_id is None else LevyRule.fund_id == terms.fund_id
    )
    if terms.effective_to is not None:
        query = query.where(LevyRule.effective_from <= terms.effective_to)
    if exclude_id is not None:
        query = query.where(LevyRule.id != exclude_id)
    return [rule for rule in db.session.scalars(query) if _covers_same(terms, rule)]


def _category_of(product_id):
    return db.session.scalar(select(Product.category_id).where(Product.id == product_id))


def _covers_same(terms, rule):
    """Whether two scopes of one seller share at least one product."""
    scopes = {terms.scope, rule.scope}
    if LevyScope.SELLER in scopes:
        return True
    if scopes == {LevyScope.CATEGORY}:
        return terms.category_id == rule.category_id
    if scopes == {LevyScope.PRODUCT}:
        return terms.product_id == rule.product_id
    # One category and one product: does the product sit in the category?
    if terms.scope == LevyScope.PRODUCT:
        return _category_of(terms.product_id) == rule.category_id
    return _category_of(rule.product_id) == terms.category_id


@dataclass(frozen=True)
class LevyTerms:
    """What a levy proposal says, already read from a form: ids, enums, Bangkok days, and
    the rate in satang (``per_unit``, ``per_kg``) or basis points (``percent``)."""

    seller_id: int | None
    beneficiary: Beneficiary
    scope: LevyScope
    kind: LevyKind
    rate: int
    effective_from: date
    fund_id: int | None = None
    category_id: int | None = None
    product_id: int | None = None
    effective_to: date | None = None
    note: str = ""

    def __post_init__(self):
        for name, kind in (
            ("beneficiary", Beneficiary),
            ("scope", LevyScope),
            ("kind", LevyKind),
        ):
            if not isinstance(getattr(self, name), kind):
                raise TypeError(f"{name} is a {kind.__name__}, got {getattr(self, name)!r}")
        if not isinstance(self.rate, int) or isinstance(self.rate, bool):
            raise TypeError(f"rate is an int of satang or basis points, got {self.rate!r}")
        for name, day in (
            ("effective_from", self.effective_from),
            ("effective_to", self.effective_to),
        ):
            if name == "effective_to" and day is None:
                continue  # no last day
            if isinstance(day, datetime) or not isinstance(day, date):
                raise TypeError(f"{name} is a date, got {day!r}")


def propose(actor, side, terms):
    """Propose ``terms`` (LevyTerms) from the seller's ``side`` or the fund's (a Side); the
    other side must accept the rule before it applies."""
    if not isinstance(side, Side):
        raise TypeError(f"side is a Side, got {side!r}")
    seller, fund = _parties(actor, side, terms)
    category_id, product = _scope_of(seller, terms)
    _check_rate(terms.kind, terms.rate, product)
    if terms.effective_to is not None and terms.effective_to < terms.effective_from:
        raise DomainError(_l("The last day comes before the first."), field="effective_to")
    terms = replace(
        terms,
        seller_id=seller.id,
        fund_id=fund.id if fund else None,
        category_id=category_id,
        product_id=product.id if product else None,
    )
    if _overlapping(terms):
        raise Conflict(
            _l("A rule for the same products and fund already covers these dates."), field="scope"
        )
    rule = LevyRule(
        **{column: getattr(terms, column) for column in _TERMS_COLUMNS},
        status=RuleStatus.PROPOSED,
        proposed_by_side=side,
        proposed_by_id=actor.id,
        note=(terms.note or "").strip()[:2000],
    )
    db.session.add(rule)
    db.session.flush()
    audit.levy_rule(actor, audit.LEVY_PROPOSED, rule)
    return rule


#: The LevyTerms a rule stores as they are.
_TERMS_COLUMNS = (
    "seller_id",
    "fund_id",
    "beneficiary",
    "scope",
    "category_id",
    "product_id",
    "kind",
    "rate",
    "effective_from",
    "effective_to",
)


def _parties(actor, side, terms):
    """The verified seller and fund the terms name, when ``actor`` may propose for ``side``."""
    seller = db.session.get(Seller, terms.seller_id) if terms.seller_id else None
    if seller is None or not seller.verified:
        raise DomainError(_l("Choose a verified seller."), field="seller_id")
    if side == Side.SELLER and not can_manage_seller(actor, seller.id):
        raise Forbidden(_l("You are not a member of this seller."))
    fund = None
    if terms.beneficiary == Beneficiary.FUND:
        fund = db.session.get(Fund, terms.fund_id) if terms.fund_id else None
        if fund is None or not fund.verified:
            raise DomainError(_l("Choose a verified welfare fund."), field="fund_id")
    elif side == Side.FUND:
        raise DomainError(
            _l("A fund proposes levies for itself, not for the buyer's fund."), field="beneficiary"
        )
    if side == Side.FUND and not can_manage_fund(actor, fund.id):
        raise Forbidden(_l("You are not a treasurer of this fund."))
    return seller, fund


def _scope_of(seller, terms):
    """``(category id, product)`` the scope names: a category, or one of the seller's own
    products (None for what the scope does not name)."""
    if terms.scope == LevyScope.CATEGORY:
        category = db.session.get(Category, terms.category_id) if terms.category_id else None
        if category is None:
            raise DomainError(_l("Choose a category."), field="category_id")
        return category.id, None
    if terms.scope == LevyScope.PRODUCT:
        product = db.session.get(Product, terms.product_id) if terms.product_id else None
        if product is None or product.seller_id != seller.id:
            raise DomainError(_l("Choose one of the seller's products."), field="product_id")
        return None, product
    return None, None


def _check_rate(kind, rate, product):
    if rate <= 0 or (kind == LevyKind.PERCENT and rate > arithmetic.BASIS_POINTS):
        raise DomainError(_l("The levy must be more than zero and at most 100%."), field="rate")
    if kind != LevyKind.PERCENT and rate > MAX_AMOUNT_RATE:
        raise DomainError(_l("The levy is too large."), field="rate")
    if product is not None and kind == LevyKind.PER_UNIT and rate > product.price_satang:
        raise DomainError(
            _l("A levy per unit cannot be more than the product's price."), field="rate"
        )


def can_decide(actor, rule):
    """Whether ``actor`` is on the side that did not propose the rule."""
    if actor is None or not actor.is_authenticated:
        return False
    if actor.is_admin:
        return True
    if rule.beneficiary == Beneficiary.BUYER_FUND:
        return False  # no single fund to agree: the marketplace does
    if rule.proposed_by_side == Side.SELLER:
        return can_manage_fund(actor, rule.fund_id)
    return can_manage_seller(actor, rule.seller_id)


def can_see(actor, rule):
    return bool(
        actor
        and actor.is_authenticated
        and (
            actor.is_admin
            or can_manage_seller(actor, rule.seller_id)
            or (rule.fund_id is not None and can_manage_fund(actor, rule.fund_id))
        )
    )


def accept(actor, rule):
    if not can_decide(actor, rule):
        raise Forbidden(_l("The other side of the agreement accepts it."))
    if rule.status != RuleStatus.PROPOSED:
        raise Conflict(_l("Only a proposed rule can be accepted."))
    if _overlapping(rule, exclude_id=rule.id, statuses=(RuleStatus.ACTIVE,)):
        raise Conflict(_l("A rule for the same products and fund already covers these dates."))
    rule.status = RuleStatus.ACTIVE
    rule.decided_by_id, rule.decided_at = actor.id, utcnow()
    db.session.flush()
    catalog_cache.changed()  # product cards show the levies of active rules
    audit.levy_rule(actor, audit.LEVY_ACCEPTED, rule)
    return rule


def decline(actor, rule):
    if not can_decide(actor, rule):
        raise Forbidden(_l("The other side of the agreement accepts it."))
    if rule.status != RuleStatus.PROPOSED:
        raise Conflict(_l("Only a proposed rule can be declined."))
    rule.status = RuleStatus.DECLINED
    rule.decided_by_id, rule.decided_at = actor.id, utcnow()
    db.session.flush()
    audit.levy_rule(actor, audit.LEVY_DECLINED, rule)
    return rule


def end(actor, rule, now=None):
    """Either side ends an active rule, or withdraws a proposal; placed orders keep their levies."""
    if not can_see(actor, rule):
        raise Forbidden(_l("You are not a party to this rule."))
    if rule.status not in (RuleStatus.ACTIVE, RuleStatus.PROPOSED):
        raise Conflict(_l("This rule has already ended."))
    last_day = today(now)
    if rule.effective_to is None or rule.effective_to > last_day:
        rule.effective_to = max(last_day, rule.effective_from)
    rule.status = RuleStatus.ENDED
    rule.ended_by_id, rule.ended_at = actor.id, utcnow()
    db.session.flush()
    catalog_cache.changed()  # product cards show the levies of active rules
    audit.levy_rule(actor, audit.LEVY_ENDED, rule)
    return rule


def rules_for_seller(seller_id):
    return db.session.scalars(
        select(LevyRule)
        .where(LevyRule.seller_id == seller_id)
        .options(
            joinedload(LevyRule.fund), joinedload(LevyRule.product), joinedload(LevyRule.category)
        )
        .order_by(LevyRule.status, LevyRule.id.desc())
    ).all()


def rules_for_fund(fund_id):
    return db.session.scalars(
        select(LevyRule)
        .where(LevyRule.fund_id == fund_id)
        .options(
            joinedload(LevyRule.seller), joinedload(LevyRule.product), joinedload(LevyRule.category)
        )
        .order_by(LevyRule.status, LevyRule.id.desc())
    ).all()


def rules_for_admin():
    """Proposed buyer's-fund rules wait for an admin."""
    return db.session.scalars(
        select(LevyRule)
        .where(
            LevyRule.beneficiary == Beneficiary.BUYER_FUND, LevyRule.status == RuleStatus.PROPOSED
        )
        .options(joinedload(LevyRule.seller))
        .order_by(LevyRule.id)
    ).all()


# Which rules apply, and how much


def active_rules(product, on_day):
    """Active rules of the product's seller that cover the product on ``on_day``."""
    return db.session.scalars(
        select(LevyRule)
        .where(
            LevyRule.seller_id == product.seller_id,
            LevyRule.status == RuleStatus.ACTIVE,
            LevyRule.effective_from <= on_day,
            or_(LevyRule.effective_to.is_(None), LevyRule.effective_to >= on_day),
            or_(
                LevyRule.scope == LevyScope.SELLER,
                (LevyRule.scope == LevyScope.CATEGORY)
                & (LevyRule.category_id == product.category_id),
                (LevyRule.scope == LevyScope.PRODUCT) & (LevyRule.product_id == product.id),
            ),
        )
        .options(joinedload(LevyRule.fund))
        .order_by(LevyRule.id)
    ).all()


@dataclass
class LevyLine:
    rule: LevyRule
    fund: Fund
    amount_satang: int


def levies_for(
    product, quantity, *, unit_price_satang, unit_weight_grams, buyer_fund, on_day, rules=None
):
    """The levy lines one order line would carry; never more, together, than the line itself."""
    line_total = unit_price_satang * quantity
    lines, left = [], line_total
    for rule in rules if rules is not None else active_rules(product, on_day):
        fund = rule.fund if rule.beneficiary == Beneficiary.FUND else buyer_fund
        if fund is None:
            continue  # "the buyer's own fund", and the buyer has none
        amount = arithmetic.levy_for_line(
            rule.kind.value,
            rule.rate,
            unit_price_satang=unit_price_satang,
            quantity=quantity,
            unit_weight_grams=unit_weight_grams,
        )
        amount = min(amount, left)  # the levy comes out of the seller's proceeds
        if amount > 0:
            lines.append(LevyLine(rule=rule, fund=fund, amount_satang=amount))
            left -= amount
    return lines


def buyer_fund_of(buyer):
    if buyer is None or not getattr(buyer, "is_authenticated", False) or buyer.fund_id is None:
        return None
    fund = db.session.get(Fund, buyer.fund_id)
    return fund if fund is not None and fund.verified else None


def snapshot_order(order, buyer, now=None, buyer_fund=None):
    """Fix each item's levy lines as the rules stand on the day the order is placed (added
    to the session; the caller flushes them with the rest of the order).

    The rules of all the order's sellers are read in one query, whatever the number of items.
    ``buyer_fund`` stands for the buyer's own fund when given (a group order's fund).
    """
    on_day = today(now or order.placed_at)
    products = {
        item.product_id: item.product or db.session.get(Product, item.product_id)
        for item in order.items
    }
    rules = badges_for(list(products.values()), now=now or order.placed_at)
    for_buyer = any(r.beneficiary == Beneficiary.BUYER_FUND for rs in rules.values() for r in rs)
    if buyer_fund is None and for_buyer:
        buyer_fund = buyer_fund_of(buyer)  # read only when a rule needs it
    for item in order.items:
        product = products[item.product_id]
        for line in levies_for(
            product,
            item.quantity,
            unit_price_satang=item.unit_price_satang,
            unit_weight_grams=item.weight_grams,
            buyer_fund=buyer_fund,
            on_day=on_day,
            rules=rules.get(product.id, []),
        ):
            item.levies.append(
                OrderItemLevy(
                    rule_id=line.rule.id,
                    fund_id=line.fund.id,
                    kind=line.rule.kind,
                    rate=line.rule.rate,
                    amount_satang=line.amount_satang,
                    fund_name_th=line.fund.name_th,
                )
            )


@dataclass
class FundShare:
    fund: Fund
    amount_satang: int


def shares_by_fund(levy_lines):
    """Sum levy lines (snapshots or previews) per fund, largest first."""
    totals = {}
    for line in levy_lines:
        fund = line.fund
        share = totals.setdefault(fund.id, FundShare(fund=fund, amount_satang=0))
        share.amount_satang += line.amount_satang
    return sorted(totals.values(), key=lambda share: -share.amount_satang)


def preview_cart(cart_view, buyer, now=None):
    """What the cart's lines would give to which fund, if ordered today."""
    on_day = today(now)
    buyer_fund = buyer_fund_of(buyer)
    previews = {}
    for group in cart_view.groups:
        for line in group.lines:
            product = line.product
            previews[product.id] = levies_for(
                product,
                line.quantity,
                unit_price_satang=line.unit_price_satang,
                unit_weight_grams=product.weight_grams,
                buyer_fund=buyer_fund,
                on_day=on_day,
            )
    return previews


def _covers(rule, product):
    return (
        rule.scope == LevyScope.SELLER
        or (rule.scope == LevyScope.CATEGORY and rule.category_id == product.category_id)
        or (rule.scope == LevyScope.PRODUCT and rule.product_id == product.id)
    )


def badges_for(products, now=None):
    """Active rules per product id, for product badges: one query for a whole page."""
    on_day = today(now)
    seller_ids = {p.seller_id for p in products}
    if not seller_ids:
        return {}
    rules = db.session.scalars(
        select(LevyRule)
        .where(
            LevyRule.seller_id.in_(seller_ids),
            LevyRule.status == RuleStatus.ACTIVE,
            LevyRule.effective_from <= on_day,
            or_(LevyRule.effective_to.is_(None), LevyRule.effective_to >= on_day),
        )
        .options(joinedload(LevyRule.fund))
        .order_by(LevyRule.id)
    ).all()
    return {
        p.id: [r for r in rules if r.seller_id == p.seller_id and _covers(r, p)] for p in products
    }
