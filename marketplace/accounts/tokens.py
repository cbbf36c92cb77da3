"""Links sent by mail: signed, time-limited password-reset links; digests of random ones."""

import hashlib
import hmac

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from marketplace.errors import DomainError

#: (salt, setting holding the lifetime in hours)
PASSWORD_RESET = ("password-reset", "PASSWORD_RESET_LINK_HOURS")


class InvalidLink(DomainError):
    code = "invalid_link"

    def __init__(self, message=None):
        super().__init__(
            message or _l("This link is not valid or has expired. Ask for a new one."),
        )


def _serializer(salt):
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def dumps(kind, data):
    salt, _hours = kind
    return _serializer(salt).dumps(data)


def loads(kind, token):
    salt, hours = kind
    if not isinstance(token, str) or len(token) > 2000:
        raise InvalidLink()
    try:
        data = _serializer(salt).loads(token, max_age=current_app.config[hours] * 3600)
    except SignatureExpired:
        raise InvalidLink(_l("This link has expired. Ask for a new one.")) from None
    except BadSignature:
        raise InvalidLink() from None
    if not isinstance(data, dict):
        raise InvalidLink()
    return data


def fingerprint(text):
    """A short keyed digest of ``text`` (never the text itself) to put in a link."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:24]


def digest(token):
    """What is stored of a random link token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()
