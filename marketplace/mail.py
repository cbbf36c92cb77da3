"""Outgoing mail: SMTP when ``MAIL_SERVER`` is set, otherwise written to the log."""

import logging
import smtplib
from email.message import EmailMessage

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
