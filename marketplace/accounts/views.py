from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_login.config import COOKIE_NAME as REMEMBER_COOKIE

from marketplace.accounts import services, throttle
from marketplace.accounts.forms import (
    ConfirmRegistrationForm,
    ForgotPasswordForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
    ShippingAddressForm,
)
from marketplace.cart.views import merge_guest_cart
from marketplace.errors import DomainError
from marketplace.forms import ActionForm, status_for
from marketplace.funds import services as fund_services
from marketplace.i18n import current_language
from marketplace.transaction import attempt, unit_of_work
from marketplace.urls import is_safe_next, next_url
from marketplace.validation import normalise_email

bp = Blueprint("accounts", __name__)


def _sign_in(user, remember=False):
    """Sign in, keep the user's language, and bring along what they put in the cart as a
    guest; part of the caller's unit of work, which commits the cart once."""
    login_user(user, remember=remember)
    throttle.remember_device(user.email)
    session["lang"] = user.language
    merge_guest_cart(user)
    return user


def _sign_in_instead(user):
    """Sign ``user`` in, in place of whoever this browser was signed in as."""
    if current_user.is_authenticated:
        logout_user()
    return _sign_in(user)


def _safe_next():
    """The ``next`` of the query string when it is a path on this site, else ""."""
    target = request.args.get("next", "")
    return target if is_safe_next(target) and len(target) <= 200 else ""


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    if request.method == "GET":
        form.language.data = current_language()  # the language the page is read in
    if form.validate_on_submit():
        saved, email = attempt(
            lambda: services.start_registration(
                form.email.data,
                form.password.data,
                form.name.data,
                form.language.data,
                allow_mail=throttle.allow_mail,
                next_path=_safe_next(),
            ),
            form.show_error,
        )
        if saved:
            # The same answer whether the address already has an account or not.
            session["mail_sent_to"] = email
            return redirect(url_for(".registration_sent"))
    return render_template("accounts/register.html", form=form), status_for()


@bp.get("/register/sent")
def registration_sent():
    return render_template(
        "accounts/mail_sent.html",
        title=_("Check your mail"),
        text=_(
            "We have sent a link to %(email)s. Open it within %(hours)d hours to finish "
            "creating your account.",
            email=session.get("mail_sent_to", ""),
            hours=current_app.config["REGISTRATION_LINK_HOURS"],
        ),
    )


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
def confirm_registration(token):
    """The link from the registration mail: the form asks for the password chosen, then
    creates the account (opening the link writes nothing, so mail scanners make nothing)."""
    try:
        details = services.pending_registration(token)
    except DomainError as error:
        return render_template("accounts/link_invalid.html", message=error.message), 400
    form = ConfirmRegistrationForm()
    if form.validate_on_submit():
        # One unit of work: the account, the sign-in and the guest's cart commit together.
        next_path = details.next_path
        saved, user = attempt(
            lambda: _sign_in_instead(services.complete_registration(token, form.password.data)),
            form.show_error,
        )
        if saved:
            flash(_("Welcome, %(name)s. Your account is ready.", name=user.name), "success")
            return redirect(next_path if is_safe_next(next_path) else url_for("main.home"))
    return (
        render_template("accounts/confirm_registration.html", details=details, form=form),
        status_for(),
    )


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        attempt(
            lambda: services.request_password_reset(email, allow_mail=throttle.allow_mail),
            form.show_error,
        )
        session["mail_sent_to"] = email
        return redirect(url_for(".reset_sent"))
    return render_template("accounts/forgot_password.html", form=form), status_for()


@bp.get("/password/forgot/sent")
def reset_sent():
    return render_template(
        "accounts/mail_sent.html",
        title=_("Check your mail"),
        text=_(
            "If %(email)s has an account, we have sent it a link to set a new password. "
            "The link works for %(hours)d hours.",
            email=session.get("mail_sent_to", ""),
            hours=current_app.config["PASSWORD_RESET_LINK_HOURS"],
        ),
    )


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    try:
        services.user_for_reset(token)
    except DomainError as error:
        return render_template("accounts/link_invalid.html", message=error.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        saved, user = attempt(
            lambda: _sign_in_instead(services.reset_password(token, form.new_password.data)),
            form.show_error,
        )
        if saved:
            flash(_("Your new password is set. You are signed out everywhere else."), "success")
            return redirect(url_for("main.home"))
    return render_template("accounts/reset_password.html", form=form), status_for()


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(next_url())
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            with unit_of_work():
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
        user = current_user._get_current_object()
        logout_user()
        # Every other session and remember-me cookie of this user ends too.
        with unit_of_work():
            services.end_sessions(user)
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
        saved, _user = attempt(
            lambda: services.update_profile(
                current_user,
                name=form.name.data,
                phone=form.phone.data,
                language=form.language.data,
                fund_id=int(form.fund_id.data) if (form.fund_id.data or "").isdigit() else None,
            ),
            form.show_error,
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
        saved, _user = attempt(
            lambda: services.update_shipping_address(
                current_user,
                name=form.ship_name.data,
                phone=form.ship_phone.data,
                address_line=form.address_line.data,
                subdistrict_code=form.subdistrict.data,
                postal_code=form.postal_code.data,
            ),
            form.show_error,
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
        saved, _none = attempt(
            lambda: services.change_password(
                current_user, form.current_password.data, form.new_password.data
            ),
            form.show_error,
        )
        if saved:
            # Every earlier session ended with the old password; this one goes on.
            cookie = current_app.config.get("REMEMBER_COOKIE_NAME", REMEMBER_COOKIE)
            remembered = cookie in request.cookies
            login_user(current_user._get_current_object(), remember=remembered)
            flash(_("Your password is changed. You are signed out everywhere else."), "success")
            return redirect(url_for(".account"))
    return _account_page(400, password=form)
