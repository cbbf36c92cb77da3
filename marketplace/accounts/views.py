from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from marketplace.accounts import services
from marketplace.accounts.forms import (
    LoginForm,
    PasswordForm,
    ProfileForm,
    RegisterForm,
    ShippingAddressForm,
)
from marketplace.cart.views import merge_guest_cart
from marketplace.extensions import db
from marketplace.forms import ActionForm, save, status_for
from marketplace.funds import services as fund_services
from marketplace.urls import next_url

bp = Blueprint("accounts", __name__)


def _sign_in(user, remember=False):
    """Sign in, keep the user's language, and bring along what they put in the cart as a guest."""
    login_user(user, remember=remember)
    session["lang"] = user.language
    merge_guest_cart(user)
    db.session.commit()


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        saved, user = save(
            form,
            lambda: services.register(
                form.email.data, form.password.data, form.name.data, form.language.data
            ),
        )
        if saved:
            _sign_in(user)
            flash(_("Welcome, %(name)s. Your account is ready.", name=user.name), "success")
            return redirect(next_url())
    return render_template("accounts/register.html", form=form), status_for()


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(next_url())
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            _sign_in(user, remember=form.remember.data)
            return redirect(next_url())
        form.password.errors = list(form.password.errors) + [
            _("The email or the password is not right.")
        ]
    return render_template("accounts/login.html", form=form), status_for()


@bp.post("/logout")
@login_required
def logout():
    form = ActionForm()
    if form.validate_on_submit():
        logout_user()
        session.pop("lang", None)
        flash(_("You are signed out."), "info")
    return redirect(url_for("main.home"))


def _account_page(status=200, **forms):
    user = current_user
    profile = forms.get("profile")
    if profile is None:
        profile = ProfileForm(obj=user, formdata=None)
        profile.fund_id.data = str(user.fund_id or "")
    profile.load_funds(fund_services.verified_funds())
    address = forms.get("address")
    if address is None:
        address = ShippingAddressForm(formdata=None)
        address.ship_name.data = user.ship_name or user.name
        address.ship_phone.data = user.ship_phone or user.phone
        address.address_line.data = user.ship_address_line
        address.set_address(user.ship_subdistrict_code, user.ship_postal_code)
    address.load_address_choices()
    password = forms.get("password") or PasswordForm(formdata=None)
    return (
        render_template(
            "accounts/account.html", profile=profile, address_form=address, password=password
        ),
        status,
    )


@bp.get("/account")
@login_required
def account():
    return _account_page()


@bp.post("/account/profile")
@login_required
def update_profile():
    form = ProfileForm()
    form.load_funds(fund_services.verified_funds())
    if form.validate_on_submit():
        saved, _user = save(
            form,
            lambda: services.update_profile(
                current_user,
                name=form.name.data,
                phone=form.phone.data,
                language=form.language.data,
                fund_id=int(form.fund_id.data) if (form.fund_id.data or "").isdigit() else None,
            ),
        )
        if saved:
            session["lang"] = current_user.language
            flash(_("Your profile is saved."), "success")
            return redirect(url_for(".account"))
    return _account_page(400, profile=form)


@bp.post("/account/address")
@login_required
def update_address():
    form = ShippingAddressForm()
    form.load_address_choices()
    if form.validate_on_submit() and form.address_matches_chain():
        saved, _user = save(
            form,
            lambda: services.update_shipping_address(
                current_user,
                name=form.ship_name.data,
                phone=form.ship_phone.data,
                address_line=form.address_line.data,
                subdistrict_code=form.subdistrict.data,
                postal_code=form.postal_code.data,
            ),
        )
        if saved:
            flash(_("Your shipping address is saved."), "success")
            return redirect(url_for(".account"))
    return _account_page(400, address=form)


@bp.post("/account/password")
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        saved, _none = save(
            form,
            lambda: services.change_password(
                current_user, form.current_password.data, form.new_password.data
            ),
        )
        if saved:
            flash(_("Your password is changed."), "success")
            return redirect(url_for(".account"))
    return _account_page(400, password=form)
