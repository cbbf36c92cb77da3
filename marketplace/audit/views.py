"""The audit trail's pages: everything for admins, a fund's records for its treasurers, a
seller's records for its members."""

from contextlib import suppress
from datetime import date

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.accounts.roles import admin_required, seller_member_required, treasurer_required
from marketplace.audit import services
from marketplace.audit.forms import parse_filters
from marketplace.errors import DomainError
from marketplace.fields import DAY_PARTS
from marketplace.forms import page_number
from marketplace.funds import services as funds
from marketplace.i18n import format_date
from marketplace.levies.forms import describe_rate
from marketplace.payments import providers
from marketplace.sellers import services as sellers

bp = Blueprint("audit", __name__)

#: What each key of a record's detail means, in the order it is shown (the order number
#: and an organisation's name label the object instead).
DETAIL_LABELS = {
    "refund": _l("Refund no."),
    "units": _l("Units"),
    "provider": _l("Paid by"),
    "reference": _l("Reference"),
    "stripe_id": _l("Stripe reference"),
    "bank_reference": _l("Bank reference"),
    "remitted_on": _l("Date of the transfer"),
    "rate": _l("Levy"),
    "platform_fee_before": _l("Platform fee before"),
    "platform_fee": _l("Platform fee"),
    "paid_on": _l("Date of the transfer"),
    "promptpay_id_before": _l("PromptPay ID before"),
    "promptpay_id": _l("PromptPay ID"),
    "bank_name_before": _l("Bank before"),
    "bank_name": _l("Bank"),
    "bank_account_name_before": _l("Account name before"),
    "bank_account_name": _l("Account name"),
    "bank_account_number_before": _l("Account number before"),
    "bank_account_number": _l("Account number"),
    "payouts": _l("Payouts"),
    "from": _l("From"),
    "to": _l("To"),
    "email": _l("Person"),
    "reason": _l("Reason"),
}
_DATE_KEYS = {"remitted_on", "paid_on", "from", "to"}


def detail_rows(entry):
    """``[(label, text)]`` of a record's detail, as people read it."""
    detail = entry.detail or {}
    rows = []
    for key, label in DETAIL_LABELS.items():
        if key not in detail:
            continue
        value = detail[key]
        if key == "rate":
            value = describe_rate(detail.get("kind"), value)
        elif key == "provider":
            value = providers.label(value)
        elif key in _DATE_KEYS:
            with suppress(TypeError, ValueError):
                value = format_date(date.fromisoformat(value))
        rows.append((label, value))
    if detail.get("cancelled"):
        rows.append((_("Reason"), _("The order was cancelled.")))
    if detail.get("created"):
        rows.append((_("Account"), _("Created by this action.")))
    return rows


def actor_text(entry):
    if entry.actor is not None:
        return entry.actor.name
    return str(services.SYSTEM_LABELS.get(entry.actor_label, entry.actor_label))


#: The days of a trail's period: YYYY-MM-DD, or a day, month and year from three selects.
DAY_FILTERS = ("from", "to", *(f"{day}_{part}" for day in ("from", "to") for part in DAY_PARTS))
#: The filters each trail offers; anything else in the query string is ignored.
ADMIN_FILTERS = ("action", "actor", "object_type", "object_id", *DAY_FILTERS)
PARTY_FILTERS = ("action", *DAY_FILTERS)


def _render(template, *, endpoint_args, seller_id=None, fund_id=None, **context):
    error = None
    names = ADMIN_FILTERS if seller_id is None and fund_id is None else PARTY_FILTERS
    given = {name: request.args.get(name, "") for name in names}
    try:
        filters = parse_filters(given)
    except DomainError as refused:
        filters, error = services.Filters(), refused
    page = page_number()
    records, total = services.page_of(filters, page, seller_id=seller_id, fund_id=fund_id)
    pages = max(1, -(-total // services.PER_PAGE))
    args = {k: v for k, v in given.items() if v}

    def page_url(number):
        return url_for(request.endpoint, **endpoint_args, **args, page=number)

    return render_template(
        template,
        records=records,
        total=total,
        page=page,
        pages=pages,
        page_url=page_url,
        filters=filters,
        error=error,
        actions=services.ACTIONS,
        object_types=services.OBJECT_TYPES,
        detail_rows=detail_rows,
        actor_text=actor_text,
        amount_visible=lambda entry: services.amount_visible(
            entry, seller_id=seller_id, fund_id=fund_id
        ),
        **context,
    ), (400 if error else 200)


@bp.get("/admin/audit")
@admin_required
def admin_trail():
    return _render("audit/admin.html", endpoint_args={})


@bp.get("/funds/<int:fund_id>/audit")
@treasurer_required
def fund_trail(fund_id):
    fund = funds.get(fund_id)
    return _render(
        "audit/fund.html", endpoint_args={"fund_id": fund_id}, fund_id=fund_id, fund=fund
    )


@bp.get("/sellers/<int:seller_id>/audit")
@seller_member_required
def seller_trail(seller_id):
    seller = sellers.get(seller_id)
    return _render(
        "audit/seller.html",
        endpoint_args={"seller_id": seller_id},
        seller_id=seller_id,
        seller=seller,
    )
