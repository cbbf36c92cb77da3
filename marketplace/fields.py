"""Reading what people send to the pages into typed values: form fields whose ``data`` is
satang, a whole number or an id, ready for a service (a field that cannot be read shows its
own message and keeps the text as typed); and days from a query string."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import StopValidation

from marketplace.errors import DomainError
from marketplace.i18n import BANGKOK, to_bangkok
from marketplace.money import MoneyError, baht_text, format_satang, parse_baht
from marketplace.parsing import parse_day, parse_id, parse_local_time, parse_whole_number


def query_days(args, *names):
    """The days named in a query string (``?from=2026-03-01&to=…``): a date each, or None
    when not given; a DomainError naming the first that is not YYYY-MM-DD."""
    days = []
    for name in names:
        text = (args.get(name) or "").strip()
        try:
            days.append(parse_day(text) if text else None)
        except ValueError:
            raise DomainError(_l("Enter dates as YYYY-MM-DD."), field=name) from None
    return days


class ParsedField(StringField):
    """A text input whose ``data`` is the value read from it, or None when left empty.

    ``required`` refuses an empty field; text that cannot be read, or a value outside
    ``minimum``..``maximum``, gets ``invalid`` (or ``too_small`` / ``too_large``).
    """

    #: Shown when the text is not a value of this kind.
    invalid = _l("Invalid input.")

    def __init__(
        self,
        label=None,
        validators=None,
        *,
        required=True,
        minimum=None,
        maximum=None,
        invalid=None,
        too_small=None,
        too_large=None,
        **kwargs,
    ):
        super().__init__(label, validators, **kwargs)
        self.required = required
        self.minimum, self.maximum = minimum, maximum
        self.invalid = invalid or self.invalid
        self.too_small = too_small or self.invalid
        self.too_large = too_large or self.invalid
        self.problem = None

    def parse(self, text):
        """The value ``text`` stands for; ValueError when it stands for none."""
        raise NotImplementedError

    def show(self, value):
        """``value`` as a person would type it."""
        return str(value)

    def process_formdata(self, valuelist):
        self.data, self.problem = None, None
        text = (valuelist[0] if valuelist else "") or ""
        if not text.strip():
            return
        try:
            value = self.parse(text)
        except ValueError:
            self.problem = self.invalid
            return
        if self.minimum is not None and value < self.minimum:
            self.problem = self.too_small
        elif self.maximum is not None and value > self.maximum:
            self.problem = self.too_large
        else:
            self.data = value

    def pre_validate(self, form):
        if self.problem is not None:
            raise StopValidation(self.problem)
        if self.required and self.data is None:
            raise StopValidation(_l("This field is required."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else self.show(self.data)


class BahtField(ParsedField):
    """Baht typed as ``1,234.50`` or ``฿40``; ``data`` is an int of satang. More than two
    decimals, an exponent or anything not a number is ``invalid``; a negative amount is
    ``too_small`` (the minimum is 1 satang unless given)."""

    invalid = _l("Enter an amount in baht with at most two decimals, such as 350 or 12.50.")

    def __init__(self, label=None, validators=None, *, minimum=1, maximum=None, **kwargs):
        if maximum is not None and "too_large" not in kwargs:
            kwargs["too_large"] = _l("At most %(amount)s.", amount=format_satang(maximum))
        super().__init__(label, validators, minimum=minimum, maximum=maximum, **kwargs)

    def parse(self, text):
        try:
            return parse_baht(text, allow_negative=True)
        except MoneyError as error:
            raise ValueError(str(error)) from None

    def show(self, value):
        return baht_text(value)


class WholeNumberField(ParsedField):
    """A whole number (``120``); ``data`` is an int."""

    invalid = _l("Enter a whole number.")

    def parse(self, text):
        return parse_whole_number(text)


class BangkokTimeField(ParsedField):
    """A date and time in Bangkok (``<input type="datetime-local">``); ``data`` is an aware
    datetime."""

    invalid = _l("Enter a date and a time.")

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {}).setdefault("type", "datetime-local")
        super().__init__(label, validators, **kwargs)

    def parse(self, text):
        return parse_local_time(text, BANGKOK)

    def show(self, value):
        return to_bangkok(value).strftime("%Y-%m-%dT%H:%M")


class IdSelectField(SelectField):
    """A choice of one row: ``data`` is its id (an int) or None when nothing (or nothing
    that can be an id) was chosen. Whether the row exists, and may be chosen, is the
    service's to say, so the choices are not checked here."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("validate_choice", False)
        super().__init__(label, validators, coerce=parse_id, **kwargs)
