"""Payout pages: the back office's runs and payouts, a seller's balance and statement, and
the platform fee an admin sets for a seller."""

from dataclasses import dataclass

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from marketplace.accounts.roles import admin_required, seller_member_required
from marketplace.catalog.services import Page
from marketplace.dbtypes import utcnow
from marketplace.downloads import csv_download
from marketplace.fields import query_days
from marketplace.forms import ActionForm, flash_errors, page_number, status_for
from marketplace.funds import reports
from marketplace.i18n import current_language, to_bangkok
from marketplace.money import format_satang
from marketplace.payments import promptpay
from marketplace.payouts import fees, services
from marketplace.payouts.forms import PayoutFailedForm, PayoutPaidForm, PlatformFeeForm
from marketplace.payouts.models import PayoutStatus
from marketplace.sellers import services as sellers
from marketplace.transaction import attempt

bp = Blueprint("payouts", __name__)


# The platform fee of a seller (admins)


@bp.route("/admin/sellers/<int:seller_id>/platform-fee", methods=["GET", "POST"])
@admin_required
def platform_fee(seller_id):
    seller = sellers.get(seller_id)
    form = PlatformFeeForm()
    if form.validate_on_submit():
        saved, _seller = attempt(
            lambda: fees.set_rate(current_user, seller, form.rate.data), form.show_error
        )
        if saved:
            flash(_("The platform fee is saved; orders placed from now on pay it."), "success")
            return redirect(url_for("admin.sellers_edit", org_id=seller.id), code=303)
    elif not form.is_submitted() and seller.platform_fee_bps is not None:
        form.rate.data = seller.platform_fee_bps
    return render_template(
        "payouts/platform_fee.html",
        seller=seller,
        form=form,
        default_bps=current_app.config["PLATFORM_FEE_BPS"],
    ), status_for()


# Payout runs (admins)

STATUS_LABELS = {
    PayoutStatus.PENDING: _l("To be paid"),
    PayoutStatus.PAID: _l("Transferred"),
    PayoutStatus.FAILED: _l("Failed"),
}


@bp.get("/admin/payouts")
@admin_required
def runs():
    return render_template(
        "payouts/runs.html",
        runs=services.runs(),
        minimum=current_app.config["PAYOUT_MINIMUM"],
        hold_days=current_app.config["PAYOUT_HOLD_DAYS"],
    )


@bp.post("/admin/payouts/runs")
@admin_required
def start_run():
    form = ActionForm()
    if form.validate_on_submit():
        saved, run = attempt(lambda: services.start_run(current_user), form.show_error)
        if saved:
            flash(
                _(
                    "Payout run %(id)s: %(count)d payouts, %(amount)s in all.",
                    id=run.id,
                    count=len(run.payouts),
                    amount=format_satang(run.total_satang),
                ),
                "success",
            )
            return redirect(url_for(".run", run_id=run.id), code=303)
    flash_errors(form)
    return redirect(url_for(".runs"), code=303)


#: Payouts a run's page shows at once (each with its QR code and forms).
RUN_PAGE_PAYOUTS = 50


def _run_page(run, status=200, forms=None, page=None):
    """A page of the run's payouts, each with a paid and a failed form (``forms``: the ones
    just refused, by payout id, shown with their errors, on the page that holds them)."""
    forms = forms or {}
    if page is None:
        page = page_number()
    if forms:
        ids = [payout.id for payout in run.payouts]
        page = ids.index(next(iter(forms))) // RUN_PAGE_PAYOUTS + 1
    page = max(1, min(page, -(-len(run.payouts) // RUN_PAGE_PAYOUTS) or 1))
    shown = run.payouts[(page - 1) * RUN_PAGE_PAYOUTS : page * RUN_PAGE_PAYOUTS]
    today = to_bangkok(utcnow()).date()
    rows = []
    for payout in shown:
        paid_form, failed_form = forms.get(payout.id, (None, None))
        if paid_form is None:
            paid_form = PayoutPaidForm(formdata=None, paid_on=today)
        rows.append(
            PayoutRow(
                payout,
                paid_form,
                failed_form or PayoutFailedForm(formdata=None),
                _qr(payout) if payout.status == PayoutStatus.PENDING else None,
            )
        )
    return render_template(
        "payouts/run.html",
        run=run,
        rows=rows,
        page=Page(items=rows, total=len(run.payouts), page=page, per_page=RUN_PAGE_PAYOUTS),
        status_labels=STATUS_LABELS,
    ), status


@dataclass
class PayoutRow:
    payout: object
    paid_form: PayoutPaidForm
    failed_form: PayoutFailedForm
    #: The PromptPay QR (inline SVG) that pays exactly the payout, when the seller has an ID.
    qr_svg: str | None


def _qr(payout):
    """A QR a banking app scans to send exactly the payout to the seller's PromptPay ID (the
    buyers' payment QR code, pointed the other way)."""
    if not payout.promptpay_id:
        return None
    return promptpay.svg(promptpay.payload(payout.promptpay_id, payout.amount_satang))


@bp.get("/admin/payout-runs/<int:run_id>")
@admin_required
def run(run_id):
    return _run_page(services.get_run(run_id))


@bp.get("/admin/payout-runs/<int:run_id>/transfers.csv")
@admin_required
def transfers_csv(run_id):
    """The run's payouts still to be sent, for the bank's bulk transfer."""
    found = services.get_run(run_id)
    body = services.bank_transfer_csv(
        found,
        {
            "number": _("No."),
            "payout": _("Payout"),
            "seller": _("Seller"),
            "bank": _("Bank"),
            "account_number": _("Account number"),
            "account_name": _("Account name"),
            "promptpay": _("PromptPay ID"),
            "amount": _("Amount (baht)"),
            "reference": _("Reference"),
        },
    )
    return csv_download(body, f"payout-run-{found.id}.csv")


@bp.post("/admin/payout-runs/<int:run_id>/payouts/<int:payout_id>/paid")
@admin_required
def payout_paid(run_id, payout_id):
    payout = services.get_payout(payout_id, run_id=run_id)
    form = PayoutPaidForm()
    if form.validate_on_submit():
        saved, outcome = attempt(
            lambda: services.mark_paid(
                current_user,
                payout,
                bank_reference=form.bank_reference.data,
                paid_on=form.paid_on.data,
            ),
            form.show_error,
        )
        if saved:
            flash(
                _("Recorded as paid; the seller is told by mail.")
                if outcome[1]
                else _("This payout was already recorded as paid."),
                "success",
            )
            return redirect(url_for(".run", run_id=run_id), code=303)
        status = status_for(outcome)
    else:
        status = 400
    return _run_page(services.get_run(run_id), status, {payout_id: (form, None)})


@bp.post("/admin/payout-runs/<int:run_id>/payouts/<int:payout_id>/failed")
@admin_required
def payout_failed(run_id, payout_id):
    payout = services.get_payout(payout_id, run_id=run_id)
    form = PayoutFailedForm()
    if form.validate_on_submit():
        saved, outcome = attempt(
            lambda: services.mark_failed(current_user, payout, reason=form.reason.data),
            form.show_error,
        )
        if saved:
            flash(_("Recorded as failed; the amount is available to the seller again."), "success")
            return redirect(url_for(".run", run_id=run_id), code=303)
        status = status_for(outcome)
    else:
        status = 400
    return _run_page(services.get_run(run_id), status, {payout_id: (None, form)})


# A seller's balance and statement (its members, admins)

STATEMENT_LABELS = {
    "proceeds": _l("Sale"),
    "levy": _l("Levy"),
    "levy_reversal": _l("Levy given back"),
    "platform_fee": _l("Platform fee"),
    "platform_fee_reversal": _l("Platform fee given back"),
    "refund": _l("Refund"),
    "payout": _l("Payout"),
}


#: Lines a statement page shows at most (the totals and the CSV cover the whole period).
STATEMENT_PAGE_LINES = 500


def _statement_for(seller_id):
    seller = sellers.get(seller_id)
    start, end = reports.period(*query_days(request.args, "from", "to"))
    return seller, services.statement(seller.id, start, end)


@bp.get("/sellers/<int:seller_id>/statement")
@seller_member_required
def statement(seller_id):
    seller, found = _statement_for(seller_id)
    return render_template(
        "payouts/statement.html",
        seller=seller,
        statement=found,
        lines=found.lines[:STATEMENT_PAGE_LINES],
        labels=STATEMENT_LABELS,
        minimum=current_app.config["PAYOUT_MINIMUM"],
        has_details=services.has_payout_details(seller),
    )


@bp.get("/sellers/<int:seller_id>/statement.csv")
@seller_member_required
def statement_csv(seller_id):
    seller, found = _statement_for(seller_id)
    body = services.statement_csv(
        found,
        seller.name,
        {kind: str(label) for kind, label in STATEMENT_LABELS.items()},
        csv_headings(),
        current_language(),
    )
    filename = f"statement-seller{seller.id}-{found.start.isoformat()}-{found.end.isoformat()}.csv"
    return csv_download(body, filename)


def csv_headings():
    return {
        "seller": _("Seller"),
        "period": _("Period"),
        "opening": _("Balance at the start"),
        "date": _("Date"),
        "kind": _("What"),
        "order": _("Order"),
        "description": _("Details"),
        "amount": _("Amount"),
        "balance": _("Balance"),
        "closing_balance": _("Balance at the end"),
        "proceeds": _("Sales"),
        "levies": _("Levies"),
        "platform_fees": _("Platform fees"),
        "refunds": _("Refunds"),
        "payouts": _("Payouts"),
        "pending": _("Pending"),
        "available": _("Available"),
        "in_payout": _("In payout"),
        "paid_out": _("Paid out"),
        "owed": _("Owed to the marketplace"),
    }
