"""Write and read the audit trail.

``record(...)`` is called by the service that does a money or permission action, inside
its transaction: the record is committed with the action or rolled back with it. Records
are append-only: an ORM guard here refuses updates and deletes, and on PostgreSQL a
trigger does too.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import selectinload

from marketplace import append_only
from marketplace.accounts.models import User
from marketplace.audit.context import current_origin
from marketplace.audit.models import AuditParty, AuditRecord
from marketplace.extensions import db
from marketplace.i18n import BANGKOK


class AuditError(RuntimeError):
    """An attempt to change or delete an audit record."""


# The actions, with the label people read in the pages.

PAYMENT_CONFIRMED = "payment.confirmed"
ORDER_REFUNDED = "order.refunded"
REMITTANCE_RECORDED = "remittance.recorded"
#: Payout runs: one record per run started, per seller paid, per payout that failed.
PAYOUT_RUN_STARTED = "payout_run.started"
PAYOUT_PAID = "payout.paid"
PAYOUT_FAILED = "payout.failed"
PLATFORM_FEE_SET = "seller.platform_fee_set"
PAYOUT_DETAILS_CHANGED = "seller.payout_details_changed"
LEVY_PROPOSED = "levy_rule.proposed"
LEVY_ACCEPTED = "levy_rule.accepted"
LEVY_DECLINED = "levy_rule.declined"
LEVY_ENDED = "levy_rule.ended"
SELLER_VERIFIED = "seller.verified"
SELLER_UNVERIFIED = "seller.unverified"
FUND_VERIFIED = "fund.verified"
FUND_UNVERIFIED = "fund.unverified"
MEMBER_ADDED = "seller.member_added"
MEMBER_REMOVED = "seller.member_removed"
TREASURER_ADDED = "fund.treasurer_added"
TREASURER_REMOVED = "fund.treasurer_removed"
ADMIN_GRANTED = "user.admin_granted"
ADMIN_REMOVED = "user.admin_removed"

ACTIONS = {
    PAYMENT_CONFIRMED: _l("Payment confirmed"),
    ORDER_REFUNDED: _l("Refund"),
    REMITTANCE_RECORDED: _l("Remittance to a fund"),
    PAYOUT_RUN_STARTED: _l("Payout run started"),
    PAYOUT_PAID: _l("Payout to a seller"),
    PAYOUT_FAILED: _l("Payout failed"),
    PLATFORM_FEE_SET: _l("Platform fee set"),
    PAYOUT_DETAILS_CHANGED: _l("Payout details changed"),
    LEVY_PROPOSED: _l("Levy rule proposed"),
    LEVY_ACCEPTED: _l("Levy rule accepted"),
    LEVY_DECLINED: _l("Levy rule declined"),
    LEVY_ENDED: _l("Levy rule ended"),
    SELLER_VERIFIED: _l("Seller verified"),
    SELLER_UNVERIFIED: _l("Seller no longer verified"),
    FUND_VERIFIED: _l("Fund verified"),
    FUND_UNVERIFIED: _l("Fund no longer verified"),
    MEMBER_ADDED: _l("Seller member added"),
    MEMBER_REMOVED: _l("Seller member removed"),
    TREASURER_ADDED: _l("Treasurer added"),
    TREASURER_REMOVED: _l("Treasurer removed"),
    ADMIN_GRANTED: _l("Admin role granted"),
    ADMIN_REMOVED: _l("Admin role removed"),
}

OBJECT_TYPES = {
    "order": _l("Order"),
    "remittance": _l("Remittance"),
    "payout": _l("Payout"),
    "payout_run": _l("Payout run"),
    "levy_rule": _l("Levy rule"),
    "seller": _l("Seller"),
    "fund": _l("Fund"),
    "user": _l("User"),
}

#: Who acted, when no user did.
SYSTEM_LABELS = {
    "stripe": _l("Stripe"),
    "task": _l("Background task"),
    "cli": _l("Command line"),
    "system": _l("The marketplace"),
}

PER_PAGE = 50


def record(
    actor,
    action,
    obj,
    *,
    object_type=None,
    sellers=(),
    funds=(),
    amount_satang=None,
    detail=None,
    system="system",
):
    """Add an audit record of ``action`` done by ``actor`` (a User, or None for the system,
    named by ``system``) to ``obj`` (a model with an id; ``object_type`` defaults to its
    table's singular). ``sellers`` and ``funds`` are the ids of the parties it touches.
    Flushes, never commits: it joins the action's transaction."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if object_type is None:
        object_type = OBJECT_TYPE_OF[type(obj).__tablename__]
    entry = AuditRecord(
        actor_id=actor.id if actor is not None else None,
        actor_label="" if actor is not None else system,
        address=current_origin(),
        action=action,
        object_type=object_type,
        object_id=obj.id,
        amount_satang=amount_satang,
        detail={k: v for k, v in (detail or {}).items() if not _blank(v)},
    )
    for seller_id in sorted({s for s in sellers if s is not None}):
        entry.parties.append(AuditParty(seller_id=seller_id))
    for fund_id in sorted({f for f in funds if f is not None}):
        entry.parties.append(AuditParty(fund_id=fund_id))
    db.session.add(entry)
    db.session.flush()
    return entry


def _blank(value):
    return value is None or value is False or value == ""


OBJECT_TYPE_OF = {
    "orders": "order",
    "remittances": "remittance",
    "payouts": "payout",
    "payout_runs": "payout_run",
    "levy_rules": "levy_rule",
    "sellers": "seller",
    "funds": "fund",
    "users": "user",
}


def order_parties(order, order_item_ids=None, shipment_ids=None):
    """``(seller ids, fund ids)`` an order touches: all of it, or only the given items
    and shipments (a part refund)."""
    sellers, funds = set(), set()
    for shipment in order.shipments:
        if shipment_ids is None or shipment.id in shipment_ids:
            sellers.add(shipment.seller_id)
    for item in order.items:
        if order_item_ids is None or item.id in order_item_ids:
            funds.update(levy.fund_id for levy in item.levies)
    return sellers, funds


# One helper per kind of action, so each call site is one line.


def payment_confirmed(actor, order, payment, *, system="system"):
    """The order's payment arrived: an admin confirmed the transfer, or Stripe said so."""
    sellers, funds = order_parties(order)
    detail = {"order": order.number, "provider": payment.provider}
    if payment.provider == "stripe":
        detail["stripe_id"] = payment.external_id
    else:
        detail["reference"] = payment.reference
    return record(
        actor,
        PAYMENT_CONFIRMED,
        order,
        sellers=sellers,
        funds=funds,
        amount_satang=payment.amount_satang,
        detail=detail,
        system=system,
    )


def order_refunded(actor, order, refund):
    """Money given back: by an admin (or the API), by cancelling, or recorded from Stripe."""
    items = {ri.order_item_id for ri in refund.items if ri.order_item_id is not None}
    sellers, funds = order_parties(order, items, {ri.shipment_id for ri in refund.items})
    return record(
        actor,
        ORDER_REFUNDED,
        order,
        sellers=sellers,
        funds=funds,
        amount_satang=refund.amount_satang,
        detail={
            "order": order.number,
            "refund": refund.id,
            "units": sum(ri.quantity or 0 for ri in refund.items),
            "reason": refund.reason,
            "stripe_id": refund.provider_refund_id,
            "cancelled": order.status == "cancelled",
        },
        system="stripe" if refund.provider_refund_id else "system",
    )


def remittance_recorded(actor, remittance):
    return record(
        actor,
        REMITTANCE_RECORDED,
        remittance,
        funds=[remittance.fund_id],
        amount_satang=remittance.amount_satang,
        detail={
            "bank_reference": remittance.bank_reference,
            "remitted_on": remittance.remitted_on.isoformat(),
        },
    )


def payout_paid(actor, payout, *, seller_id, amount_satang, detail=None):
    """A payout to a seller marked paid: one record per seller paid."""
    return record(
        actor,
        PAYOUT_PAID,
        payout,
        object_type="payout",
        sellers=[seller_id],
        amount_satang=amount_satang,
        detail=detail,
    )


def payout_failed(actor, payout, *, seller_id, amount_satang, detail=None):
    """A payout that did not reach the seller: its amount is theirs to be paid again."""
    return record(
        actor,
        PAYOUT_FAILED,
        payout,
        object_type="payout",
        sellers=[seller_id],
        amount_satang=amount_satang,
        detail=detail,
    )


def payout_run_started(actor, run, *, seller_ids, amount_satang, system="system"):
    """A payout run reserved what each of its sellers is paid."""
    return record(
        actor,
        PAYOUT_RUN_STARTED,
        run,
        object_type="payout_run",
        sellers=seller_ids,
        amount_satang=amount_satang,
        detail={"payouts": len(seller_ids)},
        system=system,
    )


def _percent(basis_points):
    """``250`` → ``"2.5%"``; None (the marketplace's own rate) → ``"-"``."""
    if basis_points is None:
        return "-"
    whole, rest = divmod(basis_points, 100)
    return (str(whole) if not rest else f"{whole}.{rest:02d}".rstrip("0")) + "%"


def platform_fee_set(actor, seller, *, before, after):
    """An admin set the seller's platform fee (basis points; None: the marketplace's)."""
    return record(
        actor,
        PLATFORM_FEE_SET,
        seller,
        sellers=[seller.id],
        detail={
            "name": seller.name_th,
            "platform_fee": _percent(after),
            "platform_fee_before": _percent(before),
        },
    )


def payout_details_changed(actor, seller, *, before, after):
    """Where the seller's payouts go changed (PromptPay ID, bank, account name or number):
    ``before`` and ``after`` map those fields to their values."""
    detail = {"name": seller.name_th}
    for key in before:
        if before[key] != after[key]:
            detail[f"{key}_before"] = before[key] or "-"
            detail[key] = after[key] or "-"
    return record(actor, PAYOUT_DETAILS_CHANGED, seller, sellers=[seller.id], detail=detail)


def levy_rule(actor, action, rule):
    """A levy rule proposed, accepted, declined or ended; seen by both sides."""
    detail = {"kind": str(rule.kind), "rate": rule.rate}
    if action in (LEVY_PROPOSED, LEVY_ACCEPTED):
        detail["from"] = rule.effective_from.isoformat()
    if rule.effective_to is not None:
        detail["to"] = rule.effective_to.isoformat()
    return record(
        actor, action, rule, sellers=[rule.seller_id], funds=[rule.fund_id], detail=detail
    )


def _organisation_record(actor, organisation, seller_action, fund_action, detail):
    """A record of something done to a seller or a fund, touching that party."""
    is_seller = organisation.__tablename__ == "sellers"
    return record(
        actor,
        seller_action if is_seller else fund_action,
        organisation,
        sellers=[organisation.id] if is_seller else [],
        funds=[] if is_seller else [organisation.id],
        detail={**detail, "name": organisation.name_th},
    )


def verified(actor, organisation, is_verified):
    """A seller or a fund verified, or no longer."""
    if is_verified:
        return _organisation_record(actor, organisation, SELLER_VERIFIED, FUND_VERIFIED, {})
    return _organisation_record(actor, organisation, SELLER_UNVERIFIED, FUND_UNVERIFIED, {})


def person_linked(actor, organisation, user, added):
    """A seller member or a fund treasurer added or removed."""
    detail = {"email": user.email}
    if added:
        return _organisation_record(actor, organisation, MEMBER_ADDED, TREASURER_ADDED, detail)
    return _organisation_record(actor, organisation, MEMBER_REMOVED, TREASURER_REMOVED, detail)


def admin_role(actor, user, granted, *, created=False, system="system"):
    return record(
        actor,
        ADMIN_GRANTED if granted else ADMIN_REMOVED,
        user,
        detail={"email": user.email, "created": created or None},
        system=system,
    )


# Reading


@dataclass
class Filters:
    """What a trail is narrowed to (read from the query string by ``audit.forms``)."""

    action: str = ""
    actor: str = ""
    object_type: str = ""
    object_id: int | None = None
    start: date | None = None
    end: date | None = None


def bangkok_midnight(day):
    """The UTC instant a Bangkok day starts."""
    return datetime.combine(day, time(0), tzinfo=BANGKOK).astimezone(UTC)


def _query(filters, *, seller_id=None, fund_id=None):
    query = select(AuditRecord)
    party = exists().where(AuditParty.record_id == AuditRecord.id)
    if seller_id is not None:
        query = query.where(party.where(AuditParty.seller_id == seller_id))
    if fund_id is not None:
        query = query.where(party.where(AuditParty.fund_id == fund_id))
    if filters.action:
        query = query.where(AuditRecord.action == filters.action)
    if filters.actor:
        text = filters.actor.lower()
        pattern = f"%{_like(text)}%"
        users = select(User.id).where(
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.name).like(pattern, escape="\\"),
            )
        )
        labels = [key for key, label in SYSTEM_LABELS.items() if text in (key, str(label).lower())]
        query = query.where(
            or_(AuditRecord.actor_id.in_(users), AuditRecord.actor_label.in_(labels))
        )
    if filters.object_type:
        query = query.where(AuditRecord.object_type == filters.object_type)
    if filters.object_id is not None:
        query = query.where(AuditRecord.object_id == filters.object_id)
    if filters.start:
        query = query.where(AuditRecord.created_at >= bangkok_midnight(filters.start))
    if filters.end:
        query = query.where(
            AuditRecord.created_at < bangkok_midnight(filters.end + timedelta(days=1))
        )
    return query


def _like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def page_of(filters, page=1, *, seller_id=None, fund_id=None, per_page=PER_PAGE):
    """``(records, total)``: one page of the records matching, newest first; only those
    touching ``seller_id`` or ``fund_id`` when given."""
    query = _query(filters, seller_id=seller_id, fund_id=fund_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    records = db.session.scalars(
        query.options(selectinload(AuditRecord.actor), selectinload(AuditRecord.parties))
        .order_by(AuditRecord.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    return records, total


def amount_visible(entry, *, seller_id=None, fund_id=None):
    """Whether a seller's members (or a fund's treasurers) may see the record's amount: not
    when it also covers other sellers' sales (an order from several sellers)."""
    if seller_id is not None:
        return entry.seller_ids <= {seller_id}
    if fund_id is not None:
        return len(entry.seller_ids) <= 1
    return True


# The append-only guard


_refuse_changes = append_only.guard(
    (AuditRecord, AuditParty), lambda: AuditError("audit records are append-only")
)


def install():
    """Refuse, in the ORM, any change to an audit record; idempotent."""
    append_only.install(_refuse_changes)
