from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.roles import can_manage_fund, treasurer_required
from marketplace.dbtypes import utcnow
from marketplace.downloads import csv_download, csv_stream
from marketplace.errors import DomainError
from marketplace.forms import page_number, status_for
from marketplace.funds import chart, pdf, periods, reports, services
from marketplace.funds.forms import FundForm, RemittanceForm
from marketplace.guards import MAX_ID
from marketplace.i18n import current_language, format_month
from marketplace.ledger import services as ledger
from marketplace.levies.services import today as levies_today
from marketplace.money import format_satang
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
    start, end = periods.from_query(request.args, reports.FIRST_YEAR, reports.LAST_YEAR)
    return reports.period(start, end)


def _chart(points):
    """The chart of ``(label, accrued, reversed, highlighted)`` points, money as pages show it."""
    return chart.bar_chart(points, format_satang)


def _report_chart(fund_id, start, end, language):
    series = reports.report_series(fund_id, start, end)
    label = (
        (lambda day: format_month(day, language))
        if series.by == "month"
        else (lambda day: periods.year_label(day.year, language))
    )
    points = [(label(day), *figures) for day, *figures in series.points]
    return series.by, _chart(points)


def _report_context(fund, start, end):
    language = current_language()
    chart_by, report_chart = _report_chart(fund.id, start, end, language)
    return {
        "fund": fund,
        "report": reports.levy_report(fund.id, start, end, language),
        "chart": report_chart,
        "chart_by": chart_by,
        "period_text": periods.describe(start, end, language, levies_today()),
        "period": {"from": start.isoformat(), "to": end.isoformat()},
    }


@bp.get("/<int:fund_id>/dashboard")
@treasurer_required
def dashboard(fund_id):
    fund = services.get(fund_id)
    board = reports.dashboard(fund_id)
    language = current_language()
    return render_template(
        "funds/dashboard.html",
        fund=fund,
        board=board,
        chart=_chart(
            (format_month(month, language), accrued, reversed_, True)
            for month, accrued, reversed_ in board.months
        ),
        remittances=reports.remittances(fund_id, limit=5),
    )


@bp.get("/<int:fund_id>/levies")
@treasurer_required
def levy_report(fund_id):
    fund = services.get(fund_id)
    today = levies_today()
    try:
        start, end = _period()
    except DomainError as error:
        # The chooser again, with what was wrong, over no figures.
        start, end = reports.period(default_today=today)
        return render_template(
            "funds/levy_report.html",
            fund=fund,
            problem=error.message,
            chooser=periods.chooser(start, end, today, current_language(), request.args),
        ), error.status
    return render_template(
        "funds/levy_report.html",
        chooser=periods.chooser(start, end, today, current_language()),
        **_report_context(fund, start, end),
    )


@bp.get("/<int:fund_id>/levies.pdf")
@treasurer_required
def levy_report_pdf(fund_id):
    """The report as an A4 PDF, one section a page, for committee meetings."""
    fund = services.get(fund_id)
    start, end = _period()
    html = render_template(
        "funds/levy_report_pdf.html", made_at=utcnow(), **_report_context(fund, start, end)
    )
    body, _pages = pdf.render(html, current_app.static_folder)
    return pdf.download(body, f"levies-fund{fund_id}-{start.isoformat()}-{end.isoformat()}.pdf")


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


def _item_filters():
    return {
        "product_id": _id_arg("product"),
        "seller_id": _id_arg("seller"),
        "province": (request.args.get("province") or "")[:2] or None,
    }


def _filter_label(filters):
    """What the drill-down is narrowed to (a product, a seller, a province), in words."""
    for kind, key in (
        ("product", filters["product_id"]),
        ("seller", filters["seller_id"]),
        ("province", filters["province"]),
    ):
        if key:
            return reports.name_of(kind, key, current_language())
    return None


@bp.get("/<int:fund_id>/levies/items")
@treasurer_required
def levy_items(fund_id):
    fund = services.get(fund_id)
    start, end = _period()
    filters = _item_filters()
    page = _id_arg("page") or 1
    lines, totals = reports.entries(
        fund_id, start, end, page=page, language=current_language(), **filters
    )
    return render_template(
        "funds/levy_items.html",
        fund=fund,
        start=start,
        end=end,
        period_text=periods.describe(start, end, current_language(), levies_today()),
        narrowed_to=_filter_label(filters),
        lines=lines,
        totals=totals,
        page=page,
        pages=max(1, -(-totals.count // reports.ITEMS_PER_PAGE)),
    )


@bp.get("/<int:fund_id>/levies/items.csv")
@treasurer_required
def levy_items_audit_csv(fund_id):
    """Every levy posting of the period with its place in the fund's hash chain: the copy an
    auditor checks against ``flask ledger verify`` or the API's ledger."""
    services.get(fund_id)
    start, end = _period()
    headings = [
        _("Entry"),
        _("Position in the fund's chain"),
        _("Date"),
        _("Order"),
        _("Item"),
        _("Units"),
        _("Levy"),
        _("Hash"),
        _("Previous hash"),
    ]
    chunks = _audit_chunks(
        current_app._get_current_object(),
        dict(fund_id=fund_id, start=start, end=end, language=current_language(), **_item_filters()),
        headings,
    )
    filename = f"levy-postings-fund{fund_id}-{start.isoformat()}-{end.isoformat()}.csv"
    return csv_stream(chunks, filename)


#: Postings read at a time for the auditor's CSV.
AUDIT_BATCH = 1000


def _audit_chunks(app, query, headings):
    """The auditor's CSV a batch at a time, sent as it is read: each batch in an application
    context (and database session) of its own, none held open between two of them."""
    yield reports.audit_csv_head(headings)
    after = 0
    while True:
        with app.app_context():
            lines = reports.audit_rows(**query, after_seq=after, limit=AUDIT_BATCH)
            text = reports.audit_csv_lines(lines)
            after = lines[-1].entry.seq if lines else after
        if not lines:
            return
        yield text


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
