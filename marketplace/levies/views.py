"""Levy rules: sellers' members and funds' treasurers propose, the other side accepts."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.accounts.roles import admin_required, seller_member_required, treasurer_required
from marketplace.catalog import services as catalog
from marketplace.forms import ActionForm, flash_errors, status_for
from marketplace.funds import services as funds
from marketplace.levies import services
from marketplace.levies.forms import (
    BENEFICIARY_LABELS,
    KIND_LABELS,
    RULE_STATUS_LABELS,
    SCOPE_LABELS,
    RuleForm,
)
from marketplace.levies.models import Beneficiary, Side
from marketplace.sellers import services as sellers
from marketplace.transaction import attempt
from marketplace.urls import is_safe_next

bp = Blueprint("levies", __name__)


def _page(template, *, form, rules, status=200, **context):
    return render_template(
        template,
        form=form,
        rules=rules,
        can_decide=lambda rule: services.can_decide(current_user, rule),
        status_labels=RULE_STATUS_LABELS,
        kind_labels=KIND_LABELS,
        scope_labels=SCOPE_LABELS,
        beneficiary_labels=BENEFICIARY_LABELS,
        **context,
    ), status


@bp.route("/sellers/<int:seller_id>/levy-rules", methods=["GET", "POST"])
@seller_member_required
def seller_rules(seller_id):
    seller = sellers.get(seller_id)
    form = RuleForm()
    form.load(
        sellers=[seller],
        funds=funds.verified_funds(),
        categories=catalog.categories(),
        products=catalog.seller_products(seller_id),
    )
    if request.method == "GET":
        form.seller_id.data = seller_id
        form.effective_from.data = services.today()
    if form.validate_on_submit():
        terms = form.terms(seller_id=seller_id)
        saved, _rule = attempt(
            lambda: services.propose(current_user, Side.SELLER, terms), form.show_error
        )
        if saved:
            flash(_("Proposed. The fund's treasurer accepts it to make it active."), "success")
            return redirect(url_for(".seller_rules", seller_id=seller_id), code=303)
    return _page(
        "levies/rules.html",
        form=form,
        rules=services.rules_for_seller(seller_id),
        side="seller",
        seller=seller,
        fund=None,
        status=status_for(),
    )


@bp.route("/funds/<int:fund_id>/levy-rules", methods=["GET", "POST"])
@treasurer_required
def fund_rules(fund_id):
    fund = funds.get(fund_id)
    form = RuleForm()
    form.load(
        sellers=sellers.verified_sellers(),
        funds=[fund],
        categories=catalog.categories(),
        products=catalog.products_on_sale(),
    )
    if request.method == "GET":
        form.fund_id.data = fund_id
        form.effective_from.data = services.today()
    if form.validate_on_submit():
        terms = form.terms(fund_id=fund_id, beneficiary=Beneficiary.FUND)
        saved, _rule = attempt(
            lambda: services.propose(current_user, Side.FUND, terms), form.show_error
        )
        if saved:
            flash(_("Proposed. A member of the seller accepts it to make it active."), "success")
            return redirect(url_for(".fund_rules", fund_id=fund_id), code=303)
    return _page(
        "levies/rules.html",
        form=form,
        rules=services.rules_for_fund(fund_id),
        side="fund",
        seller=None,
        fund=fund,
        status=status_for(),
    )


@bp.get("/admin/levy-rules")
@admin_required
def admin_rules():
    return _page("levies/admin_rules.html", form=None, rules=services.rules_for_admin())


def _decide(rule_id, action, allowed, done_message):
    rule = services.get_rule(rule_id)
    if not allowed(current_user, rule):
        abort(403)
    form = ActionForm()
    if form.validate_on_submit():
        saved, _rule = attempt(lambda: action(current_user, rule), form.show_error)
        if saved:
            flash(done_message, "success")
    flash_errors(form)
    back = request.form.get("next", "")
    return redirect(back if is_safe_next(back) else url_for("main.home"), code=303)


@bp.post("/levy-rules/<int:rule_id>/accept")
@login_required
def accept(rule_id):
    return _decide(rule_id, services.accept, services.can_decide, _("The rule is active."))


@bp.post("/levy-rules/<int:rule_id>/decline")
@login_required
def decline(rule_id):
    return _decide(rule_id, services.decline, services.can_decide, _("The proposal is declined."))


@bp.post("/levy-rules/<int:rule_id>/end")
@login_required
def end(rule_id):
    return _decide(
        rule_id,
        services.end,
        services.can_see,
        _("The rule has ended; orders already placed keep their levies."),
    )
