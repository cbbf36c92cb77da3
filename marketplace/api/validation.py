"""Reading JSON bodies: every field checked, every problem named, never a 500."""

from contextlib import contextmanager

from flask import request
from flask_babel import lazy_gettext as _l

from marketplace.errors import DomainError
from marketplace.guards import MAX_ID


class InvalidInput(DomainError):
    """A request body or query that does not fit; ``fields`` names each problem."""

    code = "invalid"

    def __init__(self, fields, message=None):
        super().__init__(message or _l("Some fields are not right."))
        self.fields = fields


def json_body():
    """The request's JSON object, or a 400."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested thousands deep: not a body anyone means to send
        data = None
    if not isinstance(data, dict):
        raise InvalidInput({}, _l("Send a JSON object with Content-Type: application/json."))
    return data


class Reader:
    """Read typed fields from a dict, collecting every problem before raising once."""

    def __init__(self, data):
        self.data = data
        self.problems = {}

    def _fail(self, name, message):
        self.problems.setdefault(name, []).append(message)

    def text(self, name, *, required=True, max_length=1000, default=""):
        value = self.data.get(name)
        if value is None:
            if required:
                self._fail(name, _l("This field is required."))
            return default
        if not isinstance(value, str):
            self._fail(name, _l("Must be text."))
            return default
        if "\x00" in value or len(value) > max_length or not _encodable(value):
            self._fail(name, _l("Must be text of at most %(count)d characters.", count=max_length))
            return default
        return value

    def integer(self, name, *, required=True, minimum=0, maximum=MAX_ID, default=None):
        value = self.data.get(name)
        if value is None:
            if required:
                self._fail(name, _l("This field is required."))
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            self._fail(name, _l("Must be a whole number."))
            return default
        if not minimum <= value <= maximum:
            self._fail(name, _l("Must be from %(low)d to %(high)d.", low=minimum, high=maximum))
            return default
        return value

    def choice(self, name, choices, *, required=True, default=None):
        value = self.text(name, required=required, max_length=50, default=None)
        if value is None:
            return default
        if value not in choices:
            self._fail(name, _l("Must be one of: %(choices)s.", choices=", ".join(choices)))
            return default
        return value

    def object(self, name, *, required=True):
        value = self.data.get(name)
        if value is None:
            if required:
                self._fail(name, _l("This field is required."))
            return None
        if not isinstance(value, dict):
            self._fail(name, _l("Must be an object."))
            return None
        return value

    def array(self, name, *, required=True, max_items=100):
        value = self.data.get(name)
        if value is None:
            if required:
                self._fail(name, _l("This field is required."))
            return None
        if not isinstance(value, list) or len(value) > max_items:
            self._fail(name, _l("Must be a list of at most %(count)d.", count=max_items))
            return None
        return value

    def nested(self, name, reader):
        for key, messages in reader.problems.items():
            self.problems.setdefault(f"{name}.{key}", []).extend(messages)

    def done(self):
        if self.problems:
            raise InvalidInput(self.problems)


def _encodable(text):
    """False for text JSON can carry but UTF-8 cannot (a lone surrogate, ``"\\ud800"``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@contextmanager
def api_field_names(names):
    """Report a service's field errors under the API's names (``name_th`` → ``name``)."""
    try:
        yield
    except DomainError as error:
        if error.field in names:
            error.field = names[error.field]
        raise


def query_id(name):
    """An id from the query string, or None; anything else is a 400 naming it."""
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 10) or not (
        0 < int(value) <= MAX_ID
    ):
        raise InvalidInput({name: [_l("Must be a whole number.")]})
    return int(value)
