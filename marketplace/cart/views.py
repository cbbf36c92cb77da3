from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length

from marketplace.cart import services
from marketplace.forms import ActionForm, BaseForm, flash_errors
from marketplace.levies import services as levies
from marketplace.transaction import attempt

bp = Blueprint("cart", __name__, url_prefix="/cart")


class AddForm(BaseForm):
    product_id = IntegerField(validators=[DataRequired()])
    quantity = StringField(default="1", validators=[DataRequired(), Length(max=10)])


class QuantityForm(BaseForm):
    quantity = StringField(validators=[DataRequired(), Length(max=10)])


def current_cart():
    """The signed-in buyer's cart, or the guest's in the session."""
    if current_user.is_authenticated:
        return services.UserCart(current_user)
    return services.GuestCart(session)


def cart_count():
    """Units in the current cart, for the page header."""
    return sum(current_cart().lines().values())


def merge_guest_cart(user):
    """Call at sign-in: the guest's lines join the user's cart (the caller commits)."""
    services.merge(services.GuestCart(session), services.UserCart(user))


def _back():
    """The page the form was on (this host only), else the cart."""
    referrer = request.referrer or ""
    return referrer if referrer.startswith(request.host_url) else url_for(".show")


@bp.get("")
def show():
    cart = services.view(current_cart())
    previews = levies.preview_cart(cart, current_user)
    return render_template(
        "cart/show.html",
        cart=cart,
        levies=previews,
        fund_shares=levies.shares_by_fund(line for lines in previews.values() for line in lines),
    )


@bp.post("/add")
def add():
    form = AddForm()
    if form.validate_on_submit():
        saved, total = attempt(
            lambda: services.add(current_cart(), form.product_id.data, form.quantity.data),
            form.show_error,
        )
        if saved:
            flash(_("Added to your cart (%(count)d in the cart).", count=total), "success")
            return redirect(url_for(".show"), code=303)
    flash_errors(form)
    return redirect(_back(), code=303)


@bp.post("/<int:product_id>")
def change(product_id):
    form = QuantityForm()
    if form.validate_on_submit():
        saved, _quantity = attempt(
            lambda: services.change(current_cart(), product_id, form.quantity.data), form.show_error
        )
        if saved:
            return redirect(url_for(".show"), code=303)
    flash_errors(form)
    return redirect(url_for(".show"), code=303)


@bp.post("/<int:product_id>/remove")
def remove(product_id):
    form = ActionForm()
    if form.validate_on_submit():
        attempt(lambda: services.remove(current_cart(), product_id), form.show_error)
    return redirect(url_for(".show"), code=303)
