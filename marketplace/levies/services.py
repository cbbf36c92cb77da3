"""Levy rules: proposed by one side, accepted by the other; and the levies they put on orders.

A rule applies to an order placed on a Bangkok day within its effective dates, while it
is active. When the order is placed each item stores its levy lines (see
:func:`snapshot_order`); nothing done to a rule later changes them.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

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
from marketplace.money import MoneyError, parse_baht
from marketplace.sellers.models import Seller

#: The largest per-unit or per-kg levy a rule may set: ฿10,000.
MAX_AMOUNT_RATE = 1_000_000


def today(now=None):
    """Today in Asia/Bangkok: rules take effect by Bangkok days."""
    return to_bangkok(now or utcnow()).date()


# Reading input


def parse_rate(kind, text):
    """Baht (per unit, per kg) or percent, as typed, into satang or basis points."""
    text = (text or "").strip().replace(",", "")
    if kind == LevyKind.PERCENT:
        try:
            percent = Decimal(text.rstrip("%").strip())
        except InvalidOperation:
            percent = None
        if percent is None or not percent.is_finite() or percent.as_tuple().exponent < -2:
            raise DomainError(
                _l("Enter a percent with at most two decimals, such as 2.5."), field="rate"
            )
        if percent <= 0:
            raise DomainError(_l("The levy must be more than zero."), field="rate")
        if percent > 100:
            raise DomainError(_l("A percent levy cannot be more than 100%."), field="rate")
        return int(percent * 100)
    try:
        satang = parse_baht(text, maximum_satang=MAX_AMOUNT_RATE)
    except MoneyError:
        raise DomainError(
            _l("Enter the levy in baht with at most two decimals, such as 4 or 0.50."),
            field="rate",
        ) from None
    if satang <= 0:
        raise DomainError(_l("The levy must be more than zero."), field="rate")
    return satang


def _enum_value(cls, value, field, message):
    try:
        return cls(value)
    except ValueError:
        raise DomainError(message, field=field) from None


# Lifecycle


def get_rule(rule_id):
    rule = db.session.get(LevyRule, rule_id)
    if rule is None:
        raise NotFound(_l("No such levy rule."))
    return rule


def _overlapping(rule_like, exclude_id=None, statuses=(RuleStatus.ACTIVE, RuleStatus.PROPOSED)):
    """Rules for the same seller and beneficiary, on products this one also covers, whose
    dates overlap: a fund takes one levy from a product, not one per scope."""
    # Rules of one seller change one at a time, so two overlapping ones cannot both pass.
    db.session.execute(
        select(Seller.id).where(Seller.id == rule_like["seller_id"]).with_for_update()
    )
    query = select(LevyRule).where(
        LevyRule.seller_id == rule_like["seller_id"],
        LevyRule.beneficiary == rule_like["beneficiary"],
        LevyRule.status.in_(statuses),
        or_(LevyRule.effective_to.is_(None), LevyRule.effective_to >= rule_like["effective_from"]),
    )
    fund_id = rule_like["fund_id"]
    query = query.where(
        LevyRule.fund_id.is_(None) if fund_id is None else LevyRule.fund_id == fund_id
    )
    if rule_like["effective_to"] is not None:
        query = query.where(LevyRule.effective_from <= rule_like["effective_to"])
    if exclude_id is not None:
        query = query.where(LevyRule.id != exclude_id)
    return [rule for rule in db.session.scalars(query) if _covers_same(rule_like, rule)]


def _category_of(product_id):
    return db.session.scalar(select(Product.category_id).where(Product.id == product_id))


def _covers_same(rule_like, rule):
    """Whether two scopes of one seller share at least one product."""
    scopes = {rule_like["scope"], rule.scope}
    if LevyScope.SELLER in scopes:
        return True
    if scopes == {LevyScope.CATEGORY}:
        return rule_like["category_id"] == rule.category_id
    if scopes == {LevyScope.PRODUCT}:
        return rule_like["product_id"] == rule.product_id
    # One category and one product: does the product sit in the category?
    if rule_like["scope"] == LevyScope.PRODUCT:
        return _category_of(rule_like["product_id"]) == rule.category_id
    return _category_of(rule.product_id) == rule_like["category_id"]


def propose(
    actor,
    *,
    side,
    seller_id,
    fund_id,
    beneficiary,
    scope,
    category_id=None,
    product_id=None,
    kind,
    rate,
    effective_from,
    effective_to=None,
    note="",
):
    """Propose a rule from the seller's side or the fund's; the other side must accept it."""
    side = _enum_value(Side, side, "side", _l("Propose as the seller or as the fund."))
    beneficiary = _enum_value(
        Beneficiary, beneficiary, "beneficiary", _l("Choose who receives the levy.")
    )
    scope = _enum_value(LevyScope, scope, "scope", _l("Choose what the levy applies to."))
    kind = _enum_value(LevyKind, kind, "kind", _l("Choose per unit, per kg or percent."))
    seller = db.session.get(Seller, seller_id) if seller_id else None
    if seller is None or not seller.verified:
        raise DomainError(_l("Choose a verified seller."), field="seller_id")
    if side == Side.SELLER and not can_manage_seller(actor, seller.id):
        raise Forbidden(_l("You are not a member of this seller."))
    fund = None
    if beneficiary == Beneficiary.FUND:
        fund = db.session.get(Fund, fund_id) if fund_id else None
        if fund is None or not fund.verified:
            raise DomainError(_l("Choose a verified welfare fund."), field="fund_id")
    elif side == Side.FUND:
        raise DomainError(
            _l("A fund proposes levies for itself, not for the buyer's fund."), field="beneficiary"
        )
    if side == Side.FUND and not can_manage_fund(actor, fund.id):
        raise Forbidden(_l("You are not a treasurer of this fund."))
    category = product = None
    if scope == LevyScope.CATEGORY:
        category = db.session.get(Category, category_id) if category_id else None
        if category is None:
            raise DomainError(_l("Choose a category."), field="category_id")
    if scope == LevyScope.PRODUCT:
        product = db.session.get(Product, product_id) if product_id else None
        if product is None or product.seller_id != seller.id:
            raise DomainError(_l("Choose one of the seller's products."), field="product_id")
    rate_value = parse_rate(kind, rate) if isinstance(rate, str) else int(rate)
    if rate_value <= 0 or (kind == LevyKind.PERCENT and rate_value > arithmetic.BASIS_POINTS):
        raise DomainError(_l("The levy must be more than zero and at most 100%."), field="rate")
    if kind != LevyKind.PERCENT and rate_value > MAX_AMOUNT_RATE:
        raise DomainError(_l("The levy is too large."), field="rate")
    if product is not None and kind == LevyKind.PER_UNIT and rate_value > product.price_satang:
        raise DomainError(
            _l("A levy per unit cannot be more than the product's price."), field="rate"
        )
    start = (
        effective_from
        if isinstance(effective_from, date)
        else _parse_date(effective_from, "effective_from")
    )
    end = None
    if effective_to not in (None, ""):
        end = (
            effective_to
            if isinstance(effective_to, date)
            else _parse_date(effective_to, "effective_to")
        )
        if end < start:
            raise DomainError(_l("The last day comes before the first."), field="effective_to")
    values = {
        "seller_id": seller.id,
        "fund_id": fund.id if fund else None,
        "beneficiary": beneficiary,
        "scope": scope,
        "category_id": category.id if category else None,
        "product_id": product.id if product else None,
        "effective_from": start,
        "effective_to": end,
    }
    if _overlapping(values):
        raise Conflict(
            _l("A rule for the same products and fund already covers these dates."), field="scope"
        )
    rule = LevyRule(
        **values,
        kind=kind,
        rate=rate_value,
        status=RuleStatus.PROPOSED,
        proposed_by_side=side,
        proposed_by_id=actor.id,
        note=(note or "").strip()[:2000],
    )
    db.session.add(rule)
    db.session.flush()
    audit.levy_rule(actor, audit.LEVY_PROPOSED, rule)
    return rule


def _parse_date(text, field):
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise DomainError(_l("Enter a date as YYYY-MM-DD."), field=field) from None


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
    values = {
        c: getattr(rule, c)
        for c in (
            "seller_id",
            "fund_id",
            "beneficiary",
            "scope",
            "category_id",
            "product_id",
            "effective_from",
            "effective_to",
        )
    }
    if _overlapping(values, exclude_id=rule.id, statuses=(RuleStatus.ACTIVE,)):
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


def snapshot_order(order, buyer, now=None):
    """Fix each item's levy lines as the rules stand on the day the order is placed (added
    to the session; the caller flushes them with the rest of the order).

    The rules of all the order's sellers are read in one query, whatever the number of items.
    """
    on_day = today(now or order.placed_at)
    products = {
        item.product_id: item.product or db.session.get(Product, item.product_id)
        for item in order.items
    }
    rules = badges_for(list(products.values()), now=now or order.placed_at)
    for_buyer = any(r.beneficiary == Beneficiary.BUYER_FUND for rs in rules.values() for r in rs)
    buyer_fund = buyer_fund_of(buyer) if for_buyer else None  # read only when a rule needs it
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
                unit_price_satang=product.price_satang,
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
