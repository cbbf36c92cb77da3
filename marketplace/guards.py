"""Request checks that keep odd input from reaching the database as a 500."""

from flask import abort, request
from werkzeug.routing import IntegerConverter

#: Ids in URLs fit the database's INTEGER columns; a bigger number is simply not found.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` for ids: a number bigger than any id becomes 0, which no row has, so
    ``/products/99999999999999999999`` is the view's own 404 (never a database overflow).
    Refusing it in the converter instead would make werkzeug answer 405 for some methods.
    """

    def to_python(self, value):
        number = super().to_python(value)
        return number if number <= MAX_ID else 0


def reject_nul_bytes():
    """PostgreSQL refuses text holding NUL; no person types one, so refuse the request."""
    sources = [request.args, request.view_args or {}]
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype != "application/json":
        sources.append(request.form)
    for source in sources:
        values = (
            source.values()
            if not hasattr(source, "lists")
            else (value for _key, values in source.lists() for value in values)
        )
        for value in values:
            if isinstance(value, str) and "\x00" in value:
                abort(400)


def language_next():
    """Where the language switch returns to: this page, when it can be fetched again."""
    rule = request.url_rule
    if request.method == "GET" or (rule is not None and "GET" in (rule.methods or ())):
        return request.full_path if request.method == "GET" else request.path
    return "/"
