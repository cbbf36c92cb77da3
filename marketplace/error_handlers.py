"""Errors answer JSON to API clients and HTML to browsers; a 500 rolls the session back."""

import logging

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from marketplace.errors import DomainError
from marketplace.extensions import db

log = logging.getLogger(__name__)


def wants_json():
    if request.path.startswith("/api/") or request.path.startswith("/webhooks/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and (
        request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _messages():
    return {
        400: _("The request could not be understood."),
        401: _("Please sign in first."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist."),
        405: _("This action is not allowed here."),
        413: _("The upload is too large."),
        429: _("Too many requests; please wait a moment."),
        500: _("Something went wrong on our side. Please try again."),
    }


def respond(status, message, code=None, fields=None):
    """``{"error": {"code", "message", "fields"}}`` for JSON clients, an error page otherwise."""
    if wants_json():
        body = {
            "error": {
                "code": code or "error",
                "message": str(message),
                "fields": {
                    name: [str(m) for m in messages] for name, messages in (fields or {}).items()
                },
            }
        }
        response = jsonify(body)
        response.status_code = status
        if status == 401 and request.path.startswith("/api/"):
            response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return render_template("errors/error.html", status=status, message=message), status


def handle_http(error):
    status = error.code or 500
    message = _messages().get(status, error.name)
    if isinstance(error, RateLimitExceeded) and error.limit.error_message:
        message = error.description  # the limit's own words (e.g. failed sign-ins)
    response = respond(status, message, error.name.lower().replace(" ", "_"))
    if isinstance(response, tuple):
        return response
    for header, value in error.get_headers():
        if header.lower() in ("retry-after", "allow"):
            response.headers[header] = value
    return response


def handle_csrf(error):
    return respond(
        400,
        _(
            "The form has expired or was not sent from this site. "
            "Please go back, reload and try again."
        ),
        "csrf",
    )


def handle_domain(error):
    db.session.rollback()
    fields = getattr(error, "fields", None) or (
        {error.field: [error.message]} if error.field else {}
    )
    return respond(error.status, error.message, error.code, fields)


def handle_unexpected(error):
    db.session.rollback()
    original = getattr(error, "original_exception", None) or error
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=original)
    return respond(500, _messages()[500], "internal_error")


def register_error_handlers(app):
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(DomainError, handle_domain)
    app.register_error_handler(InternalServerError, handle_unexpected)
    app.register_error_handler(HTTPException, handle_http)
