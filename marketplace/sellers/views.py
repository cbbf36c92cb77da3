from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.roles import can_manage_seller, seller_member_required
from marketplace.fields import query_days
from marketplace.forms import page_number, status_for
from marketplace.funds import reports
from marketplace.i18n import current_language
from marketplace.payouts import services as payouts
from marketplace.sellers import services
from marketplace.sellers.forms import KIND_LABELS, SellerForm
from marketplace.transaction import attempt

bp = Blueprint("sellers", __name__, url_prefix="/sellers")


@bp.get("")
def index():
    """Every verified seller, a page at a time."""
    page = services.verified_sellers_page(page_number())
    return render_template("sellers/index.html", page=page, kind_labels=KIND_LABELS)


@bp.get("/<int:seller_id>")
def show(seller_id):
    seller = services.get(seller_id)
    can_edit = can_manage_seller(current_user, seller_id)
    if not seller.verified and not can_edit:
        abort(404)
    return render_template(
        "sellers/show.html", seller=seller, kind_labels=KIND_LABELS, can_edit=can_edit
    )


@bp.route("/<int:seller_id>/edit", methods=["GET", "POST"])
@seller_member_required
def edit(seller_id):
    seller = services.get(seller_id)
    form = SellerForm.for_page(seller)
    if form.submitted_and_valid():
        saved, _seller = attempt(
            lambda: services.update_seller(current_user, seller, form.to_data()), form.show_error
        )
        if saved:
            flash(_("The profile is saved."), "success")
            return redirect(url_for(".show", seller_id=seller.id))
    return render_template("sellers/edit.html", form=form, seller=seller), status_for()


@bp.get("/<int:seller_id>/levies")
@seller_member_required
def levies(seller_id):
    """The levies deducted from this seller's sales, per fund, for a period."""
    seller = services.get(seller_id)
    start, end = reports.period(*query_days(request.args, "from", "to"))
    return render_template(
        "sellers/levies.html",
        seller=seller,
        start=start,
        end=end,
        rows=reports.seller_levies(seller_id, start, end, current_language()),
        fees=payouts.fee_totals(seller_id, start, end),
    )
