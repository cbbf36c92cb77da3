from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.roles import can_manage_fund, treasurer_required
from marketplace.downloads import csv_download
from marketplace.fields import query_days
from marketplace.forms import page_number, status_for
from marketplace.funds import reports, services
from marketplace.funds.forms import FundForm, RemittanceForm
from marketplace.guards import MAX_ID
from marketplace.i18n import current_language
from marketplace.ledger import services as ledger
from marketplace.transaction import attempt

bp = Blueprint("funds", __name__, url_prefix="/funds")


@bp.get("")
def index():
    """Every verified community welfare fund, a page at a time."""
    return render_template("funds/index.html", page=services.verified_funds_page(page_number()))


@bp.get("/<int:fund_id>")
def show(fund_id):
    fund = services.get(fund_id)
    can_edit = can_manage_fund(current_user, fund_id)
    if not fund.verified and not can_edit:
        abort(404)
    return render_template("funds/show.html", fund=fund, can_edit=can_edit)


@bp.route("/<int:fund_id>/edit", methods=["GET", "POST"])
@treasurer_required
def edit(fund_id):
    fund = services.get(fund_id)
    form = FundForm.for_page(fund)
    if form.submitted_and_valid():
        saved, _fund = attempt(
            lambda: services.update_fund(current_user, fund, form.to_data()), form.show_error
        )
        if saved:
            flash(_("The profile is saved."), "success")
            return redirect(url_for(".show", fund_id=fund.id))
    return render_template("funds/edit.html", form=form, fund=fund), status_for()


# Treasurers: levies, reports and remittances.


def _period():
    return reports.period(*query_days(request.args, "from", "to"))


@bp.get("/<int:fund_id>/dashboard")
@treasurer_required
def dashboard(fund_id):
    fund = services.get(fund_id)
    return render_template(
        "funds/dashboard.html",
        fund=fund,
        board=reports.dashboard(fund_id),
        remittances=reports.remittances(fund_id, limit=5),
    )


@bp.get("/<int:fund_id>/levies")
@treasurer_required
def levy_report(fund_id):
    fund = services.get(fund_id)
    start, end = _period()
    return render_template(
        "funds/levy_report.html",
        fund=fund,
        report=reports.levy_report(fund_id, start, end, current_language()),
    )


@bp.get("/<int:fund_id>/levies.csv")
@treasurer_required
def levy_report_csv(fund_id):
    fund = services.get(fund_id)
    start, end = _period()
    report = reports.levy_report(fund_id, start, end, current_language())
    body = reports.report_csv(report, fund.name, csv_headings())
    filename = f"levies-fund{fund_id}-{start.isoformat()}-{end.isoformat()}.csv"
    return csv_download(body, filename)


def csv_headings():
    return {
        "fund": _("Fund"),
        "period": _("Period"),
        "accrued": _("Accrued"),
        "reversed": _("Reversed"),
        "net": _("Net"),
        "remitted": _("Remitted"),
        "balance": _("Owed to the fund now"),
        "by_product": _("Product"),
        "by_seller": _("Seller"),
        "by_province": _("Buyer's province"),
        "units": _("Units"),
    }


@bp.get("/<int:fund_id>/levies/items")
@treasurer_required
def levy_items(fund_id):
    fund = services.get(fund_id)
    start, end = _period()
    filters = {
        "product_id": _id_arg("product"),
        "seller_id": _id_arg("seller"),
        "province": (request.args.get("province") or "")[:2] or None,
    }
    page = _id_arg("page") or 1
    lines, total = reports.entries(fund_id, start, end, page=page, **filters)
    return render_template(
        "funds/levy_items.html",
        fund=fund,
        start=start,
        end=end,
        lines=lines,
        total=total,
        page=page,
        pages=max(1, -(-total // reports.ITEMS_PER_PAGE)),
    )


def _id_arg(name):
    """A positive id from the query string, or None (never an error)."""
    value = request.args.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID else None


@bp.route("/<int:fund_id>/remittances", methods=["GET", "POST"])
@treasurer_required
def remittances(fund_id):
    fund = services.get(fund_id)
    form = RemittanceForm()
    refused = None
    if form.validate_on_submit():
        saved, result = attempt(
            lambda: ledger.record_remittance(
                current_user,
                fund,
                amount_satang=form.amount.data,
                remitted_on=form.remitted_on.data,
                bank_reference=form.bank_reference.data,
            ),
            form.show_error,
        )
        if saved:
            flash(_("The remittance is recorded."), "success")
            return redirect(url_for(".remittances", fund_id=fund_id), code=303)
        refused = result
    return render_template(
        "funds/remittances.html",
        fund=fund,
        form=form,
        balance=reports.balance(fund_id),
        remittances=reports.remittances(fund_id),
    ), status_for(refused)
