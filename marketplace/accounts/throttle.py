"""Throttling of sign-in, registration and the mail they send, on the web and the API.

Failed sign-ins are counted in ``RATELIMIT_STORAGE_URI`` (Redis in production, shared by
every web process), three ways, and a successful sign-in is never counted:

- per account and client address (``SIGN_IN_FAILURES_PER_ACCOUNT_AND_ADDRESS``): one
  address guessing one account's password is stopped after a few tries;
- per account, from anywhere (``SIGN_IN_FAILURES_PER_ACCOUNT``): guessing spread over many
  addresses is stopped too; set high enough that one address cannot reach it alone, so an
  attacker cannot lock a person out of their own account from one place;
- per client address (``SIGN_IN_FAILURES_PER_ADDRESS``): one address trying many accounts.

So fifty members of one fund signing in from one office, or thousands of phones behind
one carrier-grade NAT, all get in. A browser that has signed in to an account before
carries a signed ``known_device`` cookie naming it; the per-account counts do not apply to
it, so even a guessing attack spread over many addresses does not keep the owner out.
The counts are shared by ``/login`` and ``POST /api/v1/tokens``: switching gains nothing.

Registrations and password-reset requests are counted per address (each one: sending is
what is limited). Mail to one address is limited too, but silently: past the limit the
answer is the same and no mail goes out, so nobody can use it to lock a person out of
registering or resetting their password, nor learn anything from it.
"""

from flask import after_this_request, current_app, request
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse

from marketplace.validation import normalise_email

#: The endpoints that check a password, and those that send mail to a typed address.
SIGN_IN_ENDPOINTS = ("accounts.login", "api.create_token")
MAILING_ENDPOINTS = ("accounts.register", "api.create_user", "accounts.forgot_password")

DEVICE_COOKIE = "known_device"
DEVICE_DAYS = 365


def _submitted_email():
    if request.is_json:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) else None
    else:
        email = request.form.get("email")
    return normalise_email(email if isinstance(email, str) else "")[:254]


def _address():
    return get_remote_address() or "unknown"


def _account_key():
    return "account:" + _submitted_email()


def _account_address_key():
    return f"account:{_submitted_email()}|address:{_address()}"


def _address_key():
    return "address:" + _address()


def _failed(response):
    """A sign-in that did not succeed: refused credentials or an unreadable form."""
    return response.status_code in (400, 401)


def _too_many_sign_ins():
    return _("Too many failed sign-ins. Please wait a few minutes and try again.")


def _too_many_requests():
    return _("Too many requests from here. Please wait a while and try again.")


def _setting(name):
    return lambda: current_app.config[name]


def _device_serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def _known_device():
    """This browser signed in to the account it now names before."""
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return False
    try:
        accounts = _device_serializer().loads(value, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return False
    return isinstance(accounts, list) and _submitted_email() in accounts


def remember_device(email):
    """After a successful sign-in: mark this browser as one the account's owner uses."""
    value = request.cookies.get(DEVICE_COOKIE)
    try:
        accounts = _device_serializer().loads(value, max_age=DEVICE_DAYS * 86400) if value else []
    except BadSignature:
        accounts = []
    if not isinstance(accounts, list):
        accounts = []
    email = normalise_email(email)
    accounts = ([email] + [a for a in accounts if a != email])[:5]
    cookie = _device_serializer().dumps(accounts)

    @after_this_request
    def set_cookie(response):
        config = current_app.config
        response.set_cookie(
            DEVICE_COOKIE,
            cookie,
            max_age=DEVICE_DAYS * 86400,
            secure=config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
        return response


def allow_mail(email):
    """Whether one more mail may go to ``email`` now (``MAILS_PER_EMAIL``); counts it."""
    limiter = current_app.extensions["talat_limiter"]
    limit = parse(current_app.config["MAILS_PER_EMAIL"])
    try:
        return limiter.limiter.hit(limit, "mail", normalise_email(email))
    except Exception:  # noqa: BLE001 - the store is down: send rather than lose the mail
        current_app.logger.warning("mail limit not counted: rate-limit store unreachable")
        return True


def install(app):
    """Wrap the sign-in and mail-sending views of ``app`` in their limits.

    One limiter per app, so its counters (in memory by default) are the app's own.
    """
    limiter = Limiter(get_remote_address, app=app, default_limits=[])
    app.extensions["talat_limiter"] = limiter

    def sign_in_limit(setting, scope, key, exempt_when=None):
        return limiter.shared_limit(
            _setting(setting),
            scope=scope,
            key_func=key,
            deduct_when=_failed,
            exempt_when=exempt_when,
            methods=["POST"],
            error_message=_too_many_sign_ins,
        )

    sign_in = [
        sign_in_limit(
            "SIGN_IN_FAILURES_PER_ACCOUNT_AND_ADDRESS",
            "sign-in-account-address",
            _account_address_key,
            _known_device,
        ),
        sign_in_limit(
            "SIGN_IN_FAILURES_PER_ACCOUNT", "sign-in-account", _account_key, _known_device
        ),
        sign_in_limit("SIGN_IN_FAILURES_PER_ADDRESS", "sign-in-address", _address_key),
    ]
    mailing = [
        limiter.shared_limit(
            _setting("REGISTRATIONS_PER_ADDRESS"),
            scope="mailing-address",
            key_func=_address_key,
            methods=["POST"],
            error_message=_too_many_requests,
        ),
    ]
    for endpoints, limits in ((SIGN_IN_ENDPOINTS, sign_in), (MAILING_ENDPOINTS, mailing)):
        for endpoint in endpoints:
            view = app.view_functions[endpoint]
            for limit in limits:
                view = limit(view)
            app.view_functions[endpoint] = view
    return limiter
