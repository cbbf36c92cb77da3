"""Payout pages: the back office's runs and payouts, a seller's balance and statement, and
the platform fee an admin sets for a seller."""

from dataclasses import dataclass, field

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
from flask_babel import ngettext
from flask_login import current_user

from marketplace.accounts.roles import admin_required, seller_member_required
from marketplace.catalog.services import Page
from marketplace.dbtypes import utcnow
from marketplace.downloads import csv_download
from marketplace.errors import Conflict, DomainError
from marketplace.fields import query_days, sent_day_parts
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
    minimum = current_app.config["PAYOUT_MINIMUM"]
    return render_template(
        "payouts/runs.html",
        runs=services.runs(limit=RUNS_SHOWN),
        left_out=services.left_out(minimum, limit=LEFT_OUT_SHOWN),
        minimum=minimum,
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
                ngettext(
                    "Payout run %(id)s: %(num)d payout, %(amount)s in all.",
                    "Payout run %(id)s: %(num)d payouts, %(amount)s in all.",
                    len(run.payouts),
                    id=run.id,
                    amount=format_satang(run.total_satang),
                ),
                "success",
            )
            return redirect(url_for(".run", run_id=run.id), code=303)
    flash_errors(form)
    return redirect(url_for(".runs"), code=303)


#: Payouts a run's page shows at once (each with its QR code and forms).
RUN_PAGE_PAYOUTS = 50
#: The latest runs the payouts page lists, and the sellers left out it names (most money
#: first).
RUNS_SHOWN = 50
LEFT_OUT_SHOWN = 50


def _page_of(run, payout_id):
    """The page of the run's page that shows the payout."""
    ids = [payout.id for payout in run.payouts]
    return ids.index(payout_id) // RUN_PAGE_PAYOUTS + 1 if payout_id in ids else 1


#: A form whose CSRF token is missing or stale (as templates/_forms.html says it).
EXPIRED = _l(
    "The form has expired or was not sent from this site. Please go back, reload and try again."
)


@dataclass
class Refused:
    """A paid or failed form just refused: its payout, the form, and what the service said
    that belongs to no field of it (a conflict)."""

    payout_id: int
    paid_form: object = None
    failed_form: object = None
    messages: list = field(default_factory=list)

    def show(self, error):
        """The ``refused`` of :func:`attempt`: the error on its field, else kept here (it is
        shown at the payout, not flashed at the top of a long page)."""
        form = self.paid_form or self.failed_form
        found = getattr(form, error.field, None) if error.field else None
        if found is not None:
            found.errors = list(found.errors) + [error.message]
        else:
            self.messages.append(error.message)

    def errors(self, pending):
        """What to show at the top of the payout's section, where the page lands: the loose
        messages and what the form's fields said (while the payout waits, each named by its
        field, as the fields below show them too; once it is paid or failed no forms are
        drawn, so this is the only place)."""
        form = self.paid_form or self.failed_form
        shown = list(self.messages)
        for item in form:
            if item.name == "csrf_token":
                if item.errors:
                    shown.append(EXPIRED)
                continue
            for error in item.errors:
                shown.append(f"{item.label.text}: {error}" if pending else error)
        return shown


def _run_page(run, status=200, refused=None):
    """A page of the run's payouts, each with a paid and a failed form while it waits.

    ``refused`` (:class:`Refused`) is shown on the page that holds its payout: errors on
    the form's fields while the payout waits, or beside the payout once it is paid or
    failed."""
    page = _page_of(run, refused.payout_id) if refused is not None else page_number()
    page = max(1, min(page, -(-len(run.payouts) // RUN_PAGE_PAYOUTS) or 1))
    shown = run.payouts[(page - 1) * RUN_PAGE_PAYOUTS : page * RUN_PAGE_PAYOUTS]
    today = to_bangkok(utcnow()).date()
    owed = services.owed_by(
        {payout.seller_id for payout in shown if payout.status == PayoutStatus.PENDING}
    )
    rows = []
    for payout in shown:
        pending = payout.status == PayoutStatus.PENDING
        paid_form = failed_form = None
        errors = []
        if refused is not None and refused.payout_id == payout.id:
            paid_form, failed_form = refused.paid_form, refused.failed_form
            errors = refused.errors(pending)
        rows.append(
            PayoutRow(
                payout,
                paid_form or PayoutPaidForm(formdata=None, paid_on=today),
                failed_form or PayoutFailedForm(formdata=None),
                _qr(payout) if pending else None,
                errors,
                owed.get(payout.seller_id, 0) if pending else 0,
            )
        )
    return render_template(
        "payouts/run.html",
        run=run,
        rows=rows,
        totals=services.RunTotals.of(run.payouts),
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
    #: Why a form for this payout, paid or failed already, was just refused.
    errors: list
    #: What the seller of a payout still to pay owes the marketplace now (a refund came
    #: after the run reserved the money): satang, 0 when nothing.
    owed_satang: int = 0


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
    """The run's payouts still to be sent, for the bank's bulk transfer (only those: the
    file's name says so, and a paid one is never in it to be sent twice)."""
    found = services.get_run(run_id)
    body = services.bank_transfer_csv(
        found,
        {
            "number": _("No."),
            "payout": _("Payout no."),
            "seller": _("Seller"),
            "bank": _("Bank"),
            "account_number": _("Account number"),
            "account_name": _("Account name"),
            "promptpay": _("PromptPay ID"),
            "amount": _("Amount (baht)"),
            "reference": _("Reference"),
            "status": _("Status"),
        },
        {status: str(label) for status, label in STATUS_LABELS.items()},
    )
    return csv_download(body, f"payout-run-{found.id}-to-pay.csv")


def _after_settling(run_id, payout_id):
    """Back to the run's page, at the payout (on the page of the run that shows it)."""
    run = services.get_run(run_id)
    page = _page_of(run, payout_id)
    return redirect(
        url_for(
            ".run", run_id=run_id, page=page if page > 1 else None, _anchor=f"payout-{payout_id}"
        ),
        code=303,
    )


def _settled_conflict(payout):
    """The refusal of a form for a payout already paid or failed (its state comes first, as
    in the API)."""
    if payout.status == PayoutStatus.PAID:
        return Conflict(
            _l(
                "This payout is already paid, with reference %(reference)s.",
                reference=payout.bank_reference,
            ),
            field="bank_reference",
        )
    return Conflict(
        _l("This payout has already failed: %(reason)s", reason=payout.failure_reason),
        field="reason",
    )


def _settled_refusal(payout, refused):
    """A form for a payout already paid or failed that does not validate: its state is the
    answer (409, as in the API), not what its fields said."""
    form = refused.paid_form or refused.failed_form
    for item in form:
        item.errors = []
    refused.show(_settled_conflict(payout))
    return 409


@bp.post("/admin/payout-runs/<int:run_id>/payouts/<int:payout_id>/paid")
@admin_required
def payout_paid(run_id, payout_id):
    payout = services.get_payout(payout_id, run_id=run_id)
    form = PayoutPaidForm()
    form.run_started = payout.created_at
    refused = Refused(payout_id, paid_form=form)
    valid = form.validate_on_submit()
    if valid:
        saved, outcome = attempt(
            lambda: services.mark_paid(
                current_user,
                payout,
                bank_reference=form.bank_reference.data,
                paid_on=form.paid_on.data,
            ),
            refused.show,
        )
        if saved:
            flash(
                _("Recorded as paid; the seller is told by mail.")
                if outcome[1]
                else _("This payout was already recorded as paid."),
                "success",
            )
            return _after_settling(run_id, payout_id)
        status = status_for(outcome)
    elif payout.status != PayoutStatus.PENDING and not form.csrf_token.errors:
        status = _settled_refusal(payout, refused)
    else:
        status = 400
    return _run_page(services.get_run(run_id), status, refused)


@bp.post("/admin/payout-runs/<int:run_id>/payouts/<int:payout_id>/failed")
@admin_required
def payout_failed(run_id, payout_id):
    payout = services.get_payout(payout_id, run_id=run_id)
    form = PayoutFailedForm()
    refused = Refused(payout_id, failed_form=form)
    valid = form.validate_on_submit()
    if valid:
        saved, outcome = attempt(
            lambda: services.mark_failed(current_user, payout, reason=form.reason.data),
            refused.show,
        )
        if saved:
            flash(
                _("Recorded as failed; the amount is available to the seller again.")
                if outcome[1]
                else _("This payout was already recorded as failed, with this reason."),
                "success",
            )
            return _after_settling(run_id, payout_id)
        status = status_for(outcome)
    elif payout.status != PayoutStatus.PENDING and not form.csrf_token.errors:
        status = _settled_refusal(payout, refused)
    else:
        status = 400
    return _run_page(services.get_run(run_id), status, refused)


# A seller's balance and statement (its members, admins)

STATEMENT_LABELS = {
    "proceeds": _l("Sale"),
    "levy": _l("Levy"),
    "levy_reversal": _l("Levy given back"),
    "platform_fee": _l("Platform fee"),
    "platform_fee_reversal": _l("Platform fee given back"),
    "refund": _l("Refund"),
    "payout_reserved": _l("Payout on its way"),
    "payout": _l("Payout"),
    "payout_failed": _l("Payout failed"),
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
    seller = sellers.get(seller_id)
    try:
        start, end = reports.period(*query_days(request.args, "from", "to"))
        period_error, status = None, 200
    except DomainError as error:
        # The page again with the error beside the dates (as chosen) and this month's figures.
        start, end = reports.period()
        period_error, status = error, 400
    found = services.statement(seller.id, start, end)
    shown = {"from": found.start, "to": found.end}
    if period_error is not None:
        shown = {name: _as_chosen(name) for name in shown}
    return render_template(
        "payouts/statement.html",
        seller=seller,
        statement=found,
        lines=found.lines[:STATEMENT_PAGE_LINES],
        labels=STATEMENT_LABELS,
        minimum=current_app.config["PAYOUT_MINIMUM"],
        has_details=services.has_payout_details(seller),
        today=to_bangkok(utcnow()).date(),
        period_error=period_error,
        shown=shown,
    ), status


def _as_chosen(name):
    """A day of the period as the seller chose it: a date, or its (day, month, year)."""
    try:
        return query_days(request.args, name)[0]
    except DomainError:
        return sent_day_parts(request.args, name)


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
        today=to_bangkok(utcnow()).date(),
    )
    filename = f"statement-seller{seller.id}-{found.start.isoformat()}-{found.end.isoformat()}.csv"
    return csv_download(body, filename)


def csv_headings():
    return {
        "seller": _("Seller"),
        "period": _("Period"),
        "opening": _("Balance at the start of the period"),
        "date": _("Date"),
        "kind": _("What"),
        "order": _("Order"),
        "description": _("Details"),
        "amount": _("Amount"),
        "balance": _("Balance"),
        "closing_balance": _("Balance at the end of the period"),
        "proceeds": _("Sales"),
        "levies": _("Levies"),
        "platform_fees": _("Platform fees"),
        "refunds": _("Refunds"),
        "payouts": _("Payouts"),
        "payout_amount": _("Payout amount"),
        "now": _("Your balances now"),
        "pending": _("Pending"),
        "available": _("Available"),
        "in_payout": _("In payout"),
        "paid_out": _("Paid out"),
        "owed": _("Owed to the marketplace"),
    }
