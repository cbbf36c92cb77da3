"""The report's period as people choose it: a month or a whole year from two selects
(a Buddhist Era year in Thai), or a range of days from day, month and year selects; and
the same period named back to them. No ``<input type=date>``: a browser shows those in its
own format and era (11/01/2026 under a 2569 heading).

Query strings carry Common Era numbers (``?month=1&year=2026``), as ``from`` and ``to`` do
(``?from=2026-01-01&to=2026-01-31``); only the labels change with the language.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from babel.dates import get_month_names
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from marketplace.errors import DomainError
from marketplace.fields import query_days
from marketplace.i18n import BE_OFFSET, format_date

#: Years offered before the current one (more come in when a report asks about them).
YEARS_BACK = 5
#: What the selects send: the month and year of the month chooser, and the custom range's.
MONTH, YEAR = "month", "year"
RANGE_PARTS = {
    "from": ("from_day", "from_month", "from_year"),
    "to": ("to_day", "to_month", "to_year"),
}


def year_label(year, language):
    """``2026`` → ``2569`` in Thai (Buddhist Era), ``2026`` in English."""
    return str(year + BE_OFFSET if language == "th" else year)


def month_names(language):
    """``{1: "มกราคม", …}`` in Thai, ``{1: "January", …}`` in English."""
    return dict(get_month_names("wide", locale=language))


def last_day(year, month):
    return date(year, month, calendar.monthrange(year, month)[1])


def month_period(year, month=None):
    """``(first, last)`` day of one month, or of the whole year when ``month`` is None."""
    if month is None:
        return date(year, 1, 1), date(year, 12, 31)
    return date(year, month, 1), last_day(year, month)


def _number(args, name, low, high, message):
    text = (args.get(name) or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and low <= int(text) <= high):
        raise DomainError(message, field=name)
    return int(text)


def from_query(args, first_year, last_year):
    """``(start, end)`` named by a query string, either one None when not given.

    ``year`` (and ``month``, empty for the whole year) from the month chooser; ``from_day``
    … ``to_year`` from the custom range; else ``from`` and ``to`` as YYYY-MM-DD. A
    DomainError names the first field that cannot be read.
    """
    bad_year = _l("Choose a year from the list.")
    if (args.get(YEAR) or "").strip():
        year = _number(args, YEAR, first_year, last_year, bad_year)
        month = None
        if (args.get(MONTH) or "").strip():
            month = _number(args, MONTH, 1, 12, _l("Choose a month from the list."))
        return month_period(year, month)
    if any((args.get(name) or "").strip() for parts in RANGE_PARTS.values() for name in parts):
        days = []
        for day_name, month_name, year_name in RANGE_PARTS.values():
            day = _number(args, day_name, 1, 31, _l("Choose a day from the list."))
            month = _number(args, month_name, 1, 12, _l("Choose a month from the list."))
            year = _number(args, year_name, first_year, last_year, bad_year)
            if day > calendar.monthrange(year, month)[1]:
                raise DomainError(_l("That month has no such day."), field=day_name)
            days.append(date(year, month, day))
        return tuple(days)
    start, end = query_days(args, "from", "to")
    return start, end


@dataclass(frozen=True)
class Shortcut:
    label: str
    year: int
    month: int | None
    current: bool


@dataclass(frozen=True)
class Chooser:
    """What the period chooser shows for the report of ``start`` to ``end``."""

    start: date
    end: date
    #: ``month`` (one calendar month), ``year`` (one calendar year) or ``range``.
    mode: str
    #: The month and year the month chooser has selected (month None: the whole year).
    month: int | None
    year: int
    #: ``[(number, name)]`` of the months and ``[(CE year, label)]`` of the years offered.
    months: list
    years: list
    shortcuts: list
    #: ``{"from": (day, month, year), "to": …}`` the range's selects show.
    range_days: dict
    #: Whether the custom range is open (it is the period, or what was sent from it).
    range_open: bool


def kind_of(start, end, today):
    """``month``, ``year`` or ``range``: how the period reads. This month until today counts
    as the month (it is the report's default)."""
    one_month = start.day == 1 and (start.year, start.month) == (end.year, end.month)
    if one_month and end in (last_day(start.year, start.month), today):
        return MONTH
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return YEAR
    return "range"


def _sent(args, names, fallback, years):
    """The day, month and year a range's selects sent (``names``), each one that is not on
    offer replaced from ``fallback``: the chooser shows again what was chosen."""
    values = []
    for name, default, offered in zip(
        names, fallback, (range(1, 32), range(1, 13), years), strict=True
    ):
        text = (args.get(name) or "").strip()
        number = int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else None
        values.append(number if number in offered else default)
    return tuple(values)


def chooser(start, end, today, language, args=None):
    """The chooser for the report of ``start`` to ``end``; ``args``, the query string of a
    period that was refused, keeps the custom range as it was sent."""
    mode = kind_of(start, end, today)
    args = args or {}
    sent_range = any((args.get(n) or "").strip() for parts in RANGE_PARTS.values() for n in parts)
    years = list(range(max(end.year, today.year), min(start.year, today.year - YEARS_BACK) - 1, -1))
    last_month = today.replace(day=1) - timedelta(days=1)
    shortcuts = [
        (_l("This month"), today.year, today.month),
        (_l("Last month"), last_month.year, last_month.month),
        (_l("This year"), today.year, None),
        (_l("Last year"), today.year - 1, None),
    ]
    chosen = None
    if mode != "range" and not sent_range:
        chosen = (start.year, start.month if mode == MONTH else None)
    return Chooser(
        start=start,
        end=end,
        mode=mode,
        month=start.month if mode == MONTH else (None if mode == YEAR else end.month),
        year=start.year if mode != "range" else end.year,
        months=list(month_names(language).items()),
        years=[(year, year_label(year, language)) for year in years],
        shortcuts=[
            Shortcut(str(label), year, month, chosen == (year, month))
            for label, year, month in shortcuts
        ],
        range_days={
            which: _sent(args, parts, (day.day, day.month, day.year), years)
            for (which, parts), day in zip(RANGE_PARTS.items(), (start, end), strict=True)
        },
        range_open=mode == "range" or sent_range,
    )


def describe(start, end, language, today):
    """The period in words: ``มกราคม 2569``, ``ปี 2569``, or ``1 ม.ค. 2569 – 15 ก.พ. 2569``
    (``January 2026``, ``Year 2026``, ``1 Jan 2026 – 15 Feb 2026`` in English)."""
    mode = kind_of(start, end, today)
    if mode == MONTH and end == last_day(start.year, start.month):
        return f"{month_names(language)[start.month]} {year_label(start.year, language)}"
    if mode == YEAR:
        with force_locale(language):
            return str(_l("Year %(year)s", year=year_label(start.year, language)))
    if start == end:
        return format_date(start, "medium", language)
    return f"{format_date(start, 'medium', language)} – {format_date(end, 'medium', language)}"
