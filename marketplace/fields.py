"""Reading what people send to the pages into typed values: form fields whose ``data`` is
satang, a whole number or an id, ready for a service (a field that cannot be read shows its
own message and keeps the text as typed); and days from a query string."""

from datetime import date

from babel.dates import get_month_names
from flask_babel import lazy_gettext as _l
from wtforms import Field, SelectField, StringField
from wtforms.utils import unset_value
from wtforms.validators import StopValidation

from marketplace.dbtypes import utcnow
from marketplace.errors import DomainError
from marketplace.i18n import BANGKOK, BE_OFFSET, current_language, to_bangkok
from marketplace.money import MoneyError, baht_text, format_satang, parse_baht
from marketplace.parsing import parse_day, parse_id, parse_local_time, parse_whole_number

#: A day chosen from three selects sends ``{name}_day``, ``{name}_month`` and ``{name}_year``
#: (a Common Era year; the select's label reads in the Buddhist Era in Thai). A browser's own
#: ``<input type="date">`` shows its own format and era: 11/27/2026 under a 2569 heading.
DAY_PARTS = ("day", "month", "year")
#: Years the selects offer before this one (and the year of the day shown, if older).
YEARS_BACK = 5


def _sent_parts(args, name):
    return [(args.get(f"{name}_{part}") or "").strip() for part in DAY_PARTS]


def sent_day_parts(args, name):
    """``(day, month, year)`` as sent from a day's selects, each an int or None: the selects
    show again what was chosen."""
    return tuple(
        int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else None
        for text in _sent_parts(args, name)
    )


def day_from_parts(args, name):
    """The day ``name``'s selects sent, None when all three are left empty; a DomainError
    naming ``name`` when they name no day (a part missing, the 31st of a short month)."""
    parts = _sent_parts(args, name)
    if not any(parts):
        return None
    day, month, year = sent_day_parts(args, name)
    if None in (day, month, year):
        raise DomainError(_l("Choose a day, a month and a year."), field=name)
    try:
        return date(year, month, day)
    except ValueError:
        raise DomainError(_l("That month has no such day."), field=name) from None


def day_choices(shown=None, today=None, years_ahead=0):
    """What a day's selects offer: ``months`` ``[(1, "มกราคม"), …]`` in the page's language,
    ``years`` ``[(2026, "2569"), …]`` (newest first; Buddhist Era labels in Thai), and the
    ``(day, month, year)`` ``selected`` (``shown`` is a date, such a tuple, or None). Years
    run from ``YEARS_BACK`` before this one to ``years_ahead`` after it."""
    language = current_language()
    today = today or to_bangkok(utcnow()).date()
    if isinstance(shown, date):
        shown = (shown.day, shown.month, shown.year)
    selected = tuple(shown) if shown else (None, None, None)
    years = set(range(today.year - YEARS_BACK, today.year + 1 + years_ahead))
    if selected[2] is not None and 1 <= selected[2] <= 9999:
        years.add(selected[2])
    offset = BE_OFFSET if language == "th" else 0
    return {
        "months": list(get_month_names("wide", locale=language).items()),
        "years": [(year, str(year + offset)) for year in sorted(years, reverse=True)],
        "selected": selected,
    }


def query_days(args, *names):
    """The days named in a query string, each from its three selects (``?from_day=1&
    from_month=3&from_year=2026``) or as YYYY-MM-DD (``?from=2026-03-01``): a date each, or
    None when not given; a DomainError naming the first that names no day."""
    days = []
    for name in names:
        if any(_sent_parts(args, name)):
            days.append(day_from_parts(args, name))
            continue
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


class DayField(Field):
    """A day from three selects (``DAY_PARTS``; the template's ``field`` macro draws them),
    or YYYY-MM-DD under the field's own name: ``data`` is a date, or None when left empty.
    ``default`` may be a callable (today)."""

    def __init__(self, label=None, validators=None, *, required=True, years_ahead=0, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.required = required
        #: Years after this one the selects offer (a rule that starts or ends next year).
        self.years_ahead = years_ahead
        self.problem = None

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = self.data = data
        self.problem = None
        self.raw_data = None
        if formdata is not None and any(_sent_parts(formdata, self.name)):
            self.raw_data = sent_day_parts(formdata, self.name)
            try:
                self.data = day_from_parts(formdata, self.name)
            except DomainError as error:
                self.data, self.problem = None, error.message
        elif formdata is not None and (formdata.get(self.name) or "").strip():
            # YYYY-MM-DD in the field's own name, as a script or an older page sends it
            self.raw_data = None
            try:
                self.data = parse_day(formdata.get(self.name))
            except ValueError:
                self.data, self.problem = None, _l("Enter dates as YYYY-MM-DD.")
        elif formdata is not None and formdata:
            self.data = None  # a form sent without this day

    def pre_validate(self, form):
        if self.problem is not None:
            raise StopValidation(self.problem)
        if self.required and self.data is None:
            raise StopValidation(_l("Choose a day, a month and a year."))

    @property
    def selected(self):
        """``(day, month, year)`` the selects show: as sent, else the day held."""
        if self.raw_data:
            return self.raw_data
        return self.data
