"""Outgoing mail: SMTP when ``MAIL_SERVER`` is set, otherwise written to the log."""

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale, gettext

log = logging.getLogger(__name__)


def send(to, subject, body):
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if not config["MAIL_SERVER"]:
        log.info("mail to=%s subject=%s\n%s", to, subject, body)
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)


def send_welcome(user):
    """Greet a newly registered user, in their own language."""
    with force_locale(user.language):
        subject = gettext("Welcome to Talat Chumchon")
        body = render_template("mail/welcome.txt", user=user)
    send(user.email, subject, body)


def public_url(endpoint, **values):
    """An absolute link to ``endpoint`` at ``PUBLIC_URL``, also outside a request (tasks)."""
    base = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


def send_registration_link(email, language, token):
    """The link that creates the account; only the address's owner receives it. Nothing
    the registering person typed but the address goes into it."""
    link = public_url("accounts.confirm_registration", token=token)
    with force_locale(language):
        subject = gettext("Finish creating your Talat Chumchon account")
        body = render_template("mail/registration_link.txt", link=link)
    send(email, subject, body)


def send_account_exists(user):
    """Someone registered with an address that already has an account: tell its owner."""
    link = public_url("accounts.forgot_password")
    with force_locale(user.language):
        subject = gettext("You already have a Talat Chumchon account")
        body = render_template("mail/account_exists.txt", user=user, link=link)
    send(user.email, subject, body)


def send_password_reset(user, token):
    link = public_url("accounts.reset_password", token=token)
    with force_locale(user.language):
        subject = gettext("Set a new Talat Chumchon password")
        body = render_template("mail/password_reset.txt", user=user, link=link)
    send(user.email, subject, body)
