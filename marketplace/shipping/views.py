from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.roles import admin_required, seller_member_required
from marketplace.forms import status_for
from marketplace.sellers import services as sellers
from marketplace.shipping import services
from marketplace.shipping.forms import RateTableForm, SellerShippingForm
from marketplace.transaction import attempt

bp = Blueprint("shipping", __name__)


@bp.route("/sellers/<int:seller_id>/shipping", methods=["GET", "POST"])
@seller_member_required
def seller_settings(seller_id):
    seller = sellers.get(seller_id)
    form = SellerShippingForm()
    own = services.has_own_table(seller_id)
    if request.method == "GET":
        form.prefill(services.tiers_for(seller_id))
        form.own_table.data = own
        form.offers_pickup.data = seller.offers_pickup
        form.pickup_note.data = seller.pickup_note
    if form.validate_on_submit():
        saved, _none = attempt(
            lambda: services.save_seller_shipping(
                current_user,
                seller,
                tiers=form.table(),
                offers_pickup=form.offers_pickup.data,
                pickup_note=form.pickup_note.data,
            ),
            form.show_error,
        )
        if saved:
            flash(_("Shipping settings are saved."), "success")
            return redirect(url_for(".seller_settings", seller_id=seller_id), code=303)
    return render_template(
        "shipping/seller.html",
        seller=seller,
        form=form,
        default_tiers=services.tiers_for(None),
    ), status_for()


@bp.route("/admin/shipping", methods=["GET", "POST"])
@admin_required
def default_table():
    form = RateTableForm()
    if request.method == "GET":
        form.prefill(services.tiers_for(None))
    if form.validate_on_submit():
        saved, _none = attempt(
            lambda: services.save_default_table(current_user, form.table()), form.show_error
        )
        if saved:
            flash(_("The marketplace's rate table is saved."), "success")
            return redirect(url_for(".default_table"), code=303)
    return render_template("shipping/default.html", form=form), status_for()
