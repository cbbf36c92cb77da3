"""flask-smorest, fitted to the marketplace's API contract.

- A body, query or header that does not fit its schema is a 400 with the marketplace's
  envelope ``{"error": {"code": "invalid", "message", "fields"}}``, each field named by
  its path in the body (``items[0].quantity``, ``shipping.name``), in the caller's
  language — not webargs' 422.
- The app's own error handlers stay in charge of every error (flask-smorest would answer
  every HTTP error of the whole site, pages included, in its own shape).
- The document says so: every operation's errors are the ``Error`` schema.
"""

import http
from contextlib import contextmanager

import flask_smorest
from flask import request
from flask_babel import lazy_gettext as _l
from webargs.flaskparser import FlaskParser

from marketplace.api.schemas import Error
from marketplace.errors import DomainError

#: OpenAPI and the marketplace's document settings (flask-smorest reads them from config).
SETTINGS = {
    "API_TITLE": "Talat Chumchon API",
    "API_VERSION": "1.0.0",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {
            "description": (
                "Products, orders and community welfare fund levies. Money is always integer "
                "satang. Send `Authorization: Bearer <token>` (POST /api/v1/tokens). Errors "
                'are `{"error": {"code", "message", "fields"}}` with a 4xx status. Lists '
                "page with `next_cursor`: send it back as `?cursor=` for the next page."
            )
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    },
}


class InvalidInput(DomainError):
    """A request body or query that does not fit; ``fields`` names each problem."""

    code = "invalid"

    def __init__(self, fields, message=None):
        super().__init__(message or _l("Some fields are not right."))
        self.fields = fields


def field_paths(messages, prefix=""):
    """marshmallow's nested errors as ``{"items[0].quantity": [...]}``."""
    flat = {}
    if not isinstance(messages, dict):
        flat.setdefault(prefix or "_", []).extend(
            messages if isinstance(messages, list) else [messages]
        )
        return flat
    for key, value in messages.items():
        if key == "_schema":  # the thing at ``prefix`` itself (e.g. not an object)
            path = f"{prefix}.item" if prefix.endswith("]") else prefix
        elif isinstance(key, int):
            path = f"{prefix}[{key}]"
        else:
            path = f"{prefix}.{key}" if prefix else str(key)
        for name, found in field_paths(value, path).items():
            flat.setdefault(name, []).extend(found)
    return flat


class Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400

    def load_json(self, req, schema):
        """The body must be a JSON object (an empty one for bodies with no required field)."""
        try:
            data = req.get_json(silent=True)
        except RecursionError:  # nested thousands deep: not a body anyone means to send
            data = None
        if not isinstance(data, dict):
            raise InvalidInput({}, _l("Send a JSON object with Content-Type: application/json."))
        return data

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        fields = {}
        for messages in error.messages.values():  # per location: json, query, headers
            fields.update(field_paths(messages))
        raise InvalidInput(fields)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def errors(self, *statuses):
        """Document the error answers an operation gives (each with the Error schema)."""

        def decorator(view):
            for status in (*statuses, 429):
                view = self.alt_response(status, response=http.HTTPStatus(status).name)(view)
            return view

        return decorator


class Api(flask_smorest.Api):
    ERROR_SCHEMA = Error
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        """The app's handlers answer errors (marketplace.error_handlers), not flask-smorest."""


@contextmanager
def api_field_names(names):
    """Report a service's field errors under the API's names (``name_th`` → ``name``)."""
    try:
        yield
    except DomainError as error:
        if error.field in names:
            error.field = names[error.field]
        raise


def request_json():
    """The body as sent (already checked to be an object by the schema's parser)."""
    return request.get_json(silent=True)
