"""Payout pages: the back office's runs and payouts, a seller's balance and statement, and
the platform fee an admin sets for a seller."""

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.roles import admin_required
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.forms import show_error, status_for
from marketplace.levies.forms import percent_text
from marketplace.payouts import fees
from marketplace.payouts.forms import PlatformFeeForm
from marketplace.sellers import services as sellers

bp = Blueprint("payouts", __name__)


def _attempt(form, call):
    """Run the service ``call`` as the unit of work of a POST: commit once, or on a
    DomainError roll back and show it on ``form``. ``(True, result)`` or ``(False, error)``."""
    try:
        result = call()
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        show_error(form, error)
        return False, error
    return True, result


# The platform fee of a seller (admins)


@bp.route("/admin/sellers/<int:seller_id>/platform-fee", methods=["GET", "POST"])
@admin_required
def platform_fee(seller_id):
    seller = sellers.get(seller_id)
    form = PlatformFeeForm()
    if form.validate_on_submit():
        saved, _seller = _attempt(
            form, lambda: fees.set_rate(current_user, seller, form.basis_points())
        )
        if saved:
            flash(_("The platform fee is saved; orders placed from now on pay it."), "success")
            return redirect(url_for("admin.sellers_edit", org_id=seller.id), code=303)
    elif not form.is_submitted() and seller.platform_fee_bps is not None:
        form.rate.data = percent_text(seller.platform_fee_bps)
    return render_template(
        "payouts/platform_fee.html",
        seller=seller,
        form=form,
        default_bps=current_app.config["PLATFORM_FEE_BPS"],
    ), status_for()
