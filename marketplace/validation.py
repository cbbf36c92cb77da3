"""Checks on contact details that several features share."""

import re

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.errors import DomainError

_PHONE = re.compile(r"^0\d{8,9}$")
_LOCAL_DOMAIN = re.compile(r"^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+local$")


def normalise_email(email):
    return (email or "").strip().lower()


def check_email(email, field="email"):
    """The normalised address, or a DomainError when it is not a well-formed email."""
    email = normalise_email(email)
    if len(email) > 254:
        raise DomainError(_l("This email address is too long."), field=field)
    local_part, _at, domain = email.rpartition("@")
    if domain.endswith(".local") and current_app.config.get("ALLOW_LOCAL_EMAIL_DOMAINS"):
        # email_validator refuses the special-use .local; the demo users live there.
        if not _LOCAL_DOMAIN.match(domain):
            raise DomainError(_l("Enter a valid email address."), field=field)
        email_to_check = f"{local_part}@example.com"
    else:
        email_to_check = email
    try:
        validate_email(email_to_check, check_deliverability=False)
    except EmailNotValidError:
        raise DomainError(_l("Enter a valid email address."), field=field) from None
    return email


def clean_phone(value, field="phone"):
    """Digits only: a Thai number of 9 or 10 digits from 0 (or +66); blank allowed."""
    digits = re.sub(r"[\s\-().]", "", value or "")
    if digits.startswith("+66"):
        digits = "0" + digits[3:]
    if digits and not _PHONE.match(digits):
        raise DomainError(_l("Enter a Thai phone number, such as 081 234 5678."), field=field)
    return digits
