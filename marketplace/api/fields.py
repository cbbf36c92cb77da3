"""The API's field types: marshmallow fields whose limits also write the OpenAPI document.

Each limit is a marshmallow validator (``Length``, ``Range``, ``OneOf``), which apispec
turns into ``maxLength`` / ``minimum`` / ``enum``: what a field accepts and what the
document says are one object. Messages are the catalogue's, in the caller's language.

Compared with marshmallow's defaults, these fields are strict the way a JSON API should
be: a whole number is a JSON integer (never ``"12"`` nor ``true``), text is a JSON string
UTF-8 can carry, and ``null`` counts as absent for optional fields.
"""

import base64
from enum import Enum

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, post_load, validate

from marketplace.i18n import BANGKOK
from marketplace.limits import MAX_ID

REQUIRED = _l("This field is required.")
NOT_AN_OBJECT = _l("Must be an object.")


class _Messages:
    """Missing and null answer "This field is required." (null is absent when optional)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_none", not kwargs.get("required", False))
        super().__init__(*args, **kwargs)

    def make_error(self, key, **kwargs):
        if key in ("required", "null"):
            return ValidationError([REQUIRED])
        message = self.messages().get(key)
        if message is not None:
            return ValidationError([message])
        return super().make_error(key, **kwargs)

    def messages(self):
        return {}


class TextLength(validate.Length):
    def _format_error(self, value, message):
        if self.min and len(value) < self.min:
            return gettext("This field is required.")
        return gettext("Must be text of at most %(count)d characters.", count=self.max)


class ListLength(validate.Length):
    def __init__(self, *, min=None, max=None, too_few=None):
        super().__init__(min=min, max=max)
        self.too_few = too_few

    def _format_error(self, value, message):
        if self.min and len(value) < self.min and self.too_few:
            return str(self.too_few)
        return gettext("Must be a list of at most %(count)d.", count=self.max)


class Within(validate.Range):
    def _format_error(self, value, message):
        return gettext("Must be from %(low)d to %(high)d.", low=self.min, high=self.max)


class OneOf(validate.OneOf):
    def _format_error(self, value, message):
        return gettext("Must be one of: %(choices)s.", choices=", ".join(self.choices))


class Pattern(validate.Regexp):
    """Text matching ``regex`` (documented as the field's ``pattern``), else ``message``."""

    def __init__(self, regex, message):
        super().__init__(regex)
        self.message = message

    def _format_error(self, value, message=None):
        return str(self.message)


class Text(_Messages, fields.String):
    """A JSON string of at most ``max_length`` characters (``min_length`` 1: not empty)."""

    def __init__(self, max_length, *, min_length=None, **kwargs):
        validators = [TextLength(min=min_length, max=max_length), *kwargs.pop("validate", [])]
        super().__init__(validate=validators, **kwargs)

    def messages(self):
        return {"invalid": _l("Must be text.")}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text or not _encodable(text):
            raise self.make_error("invalid")
        return text


class HeaderText(Text):
    """A header's text: every problem with it answers the one ``message``."""

    def __init__(self, *args, message, **kwargs):
        super().__init__(*args, **kwargs)
        self.message = message

    def make_error(self, key, **kwargs):
        return ValidationError([self.message])

    def _validate(self, value):
        try:
            super()._validate(value)
        except ValidationError:
            raise self.make_error("invalid") from None


class Choice(Text):
    """One of ``choices``, given as a JSON string: an Enum's values (read as its members) or
    plain strings."""

    def __init__(self, choices, **kwargs):
        self.enum = choices if isinstance(choices, type) and issubclass(choices, Enum) else None
        self.one_of = OneOf([getattr(choice, "value", choice) for choice in choices])
        super().__init__(50, validate=[self.one_of], **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text not in self.one_of.choices:  # one message, not also "too long"
            raise ValidationError([self.one_of._format_error(text, "")])
        return self.enum(text) if self.enum else text

    def _validate(self, value):
        super()._validate(getattr(value, "value", value))


class WholeNumber(_Messages, fields.Integer):
    """A JSON integer from ``minimum`` to ``maximum``."""

    def __init__(self, *, minimum=0, maximum=MAX_ID, **kwargs):
        validators = [Within(min=minimum, max=maximum), *kwargs.pop("validate", [])]
        super().__init__(strict=True, validate=validators, **kwargs)

    def messages(self):
        return {"invalid": _l("Must be a whole number.")}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Day(_Messages, fields.Date):
    """A date as YYYY-MM-DD."""

    def messages(self):
        return {"invalid": _l("Enter dates as YYYY-MM-DD.")}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or "\x00" in value or not _encodable(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Moment(_Messages, fields.AwareDateTime):
    """A moment in ISO 8601 (``2026-12-05T18:00:00+07:00``); without an offset it is
    Bangkok time."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault(
            "description", "ISO 8601; a time without an offset is Bangkok time (+07:00)."
        )
        super().__init__(format="iso", default_timezone=BANGKOK, **kwargs)

    def messages(self):
        return {"invalid": _l("Enter a date and time as 2026-12-05T18:00:00+07:00.")}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > 40 or not _encodable(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class QueryNumber(WholeNumber):
    """A whole number in a query string (``?seller=12``): digits only."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not (
            isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10
        ):
            raise self.make_error("invalid")
        return int(value)


def Id(**kwargs):  # noqa: N802 - a field type, named as the others
    """A row id: a whole number from 1 (ids fit the database's INTEGER columns)."""
    return WholeNumber(minimum=1, **kwargs)


def Satang(**kwargs):  # noqa: N802
    """An amount of money: whole satang (1 baht = 100 satang)."""
    kwargs.setdefault("metadata", {}).setdefault(
        "description", "An amount in satang (1 baht = 100 satang)."
    )
    return fields.Integer(**kwargs)


def EnumText(enum, **kwargs):  # noqa: N802
    """An enum's value in an answer (documented with every value it can take)."""
    return fields.String(validate=validate.OneOf([member.value for member in enum]), **kwargs)


class Object(_Messages, fields.Nested):
    def messages(self):
        return {"type": NOT_AN_OBJECT}


class ListOf(_Messages, fields.List):
    """A JSON array of at most ``max_items`` (``too_few``: the message for fewer than
    ``min_items``)."""

    def __init__(self, inner, *, max_items, min_items=None, too_few=None, **kwargs):
        validators = [ListLength(min=min_items, max=max_items, too_few=too_few)]
        super().__init__(inner, validate=validators, **kwargs)
        self.inner.allow_none = False  # an entry is never null
        self.max_items = max_items

    def messages(self):
        return {"invalid": _l("Must be a list of at most %(count)d.", count=self.max_items)}


class Cursor(_Messages, fields.String):
    """Where a list goes on: an opaque ``next_cursor`` from the page before.

    Every list of the API pages the same way: the answer's ``next_cursor`` (a string, or
    null on the last page) is sent back as ``?cursor=``. What it holds (a page number, the
    last id seen) is the list's own business.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update(
            description="The next_cursor of the page before; absent for the first page.",
        )
        super().__init__(**kwargs)

    def messages(self):
        return {"invalid": _l("Use the next_cursor of an earlier page.")}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > 24:
            raise self.make_error("invalid")
        try:
            position = int(
                base64.urlsafe_b64decode(text.encode() + b"==").decode().removeprefix("p")
            )
        except (ValueError, UnicodeDecodeError, UnicodeEncodeError):
            raise self.make_error("invalid") from None
        if not 1 <= position <= MAX_ID:
            raise self.make_error("invalid")
        return position


def next_cursor(position):
    """The ``next_cursor`` that a :class:`Cursor` reads back as ``position``."""
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


class Body(Schema):
    """A request body or query: fields not named are ignored, null is absent."""

    class Meta:
        unknown = "exclude"

    error_messages = {"type": NOT_AN_OBJECT}

    @post_load
    def _drop_absent(self, data, **kwargs):
        return {name: value for name, value in data.items() if value is not None}


class Out(Schema):
    """A response body: every field is present (documented as required), except those
    marked ``metadata={"sometimes": True}``."""

    def on_bind_field(self, field_name, field_obj):
        field_obj.required = not field_obj.metadata.get("sometimes")


def _encodable(text):
    """False for text JSON can carry but UTF-8 cannot (a lone surrogate, ``"\\ud800"``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
