"""Locale selection and locale-aware display of names and dates.

Thai is the default. Dates shown in Thai use the Buddhist Era (CE + 543), which Babel
does not do by itself. Everything people see is in Asia/Bangkok time.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

BANGKOK = ZoneInfo("Asia/Bangkok")
LANGUAGES = ("th", "en")
DEFAULT_LANGUAGE = "th"
BE_OFFSET = 543

#: Babel patterns without the year; the year is appended so Thai can show B.E.
_DATE_PATTERNS = {"short": "dd/MM/", "medium": "d MMM ", "long": "d MMMM "}


def select_locale():
    """The session's choice, else the signed-in user's language, else Thai.

    API calls carry no session: their ``Accept-Language`` header decides (Thai by default).
    """
    if has_request_context() and request.path.startswith("/api/"):
        return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE
    if has_request_context():
        chosen = session.get("lang")
        if chosen in LANGUAGES:
            return chosen
        if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
            return current_user.language
    return DEFAULT_LANGUAGE


def current_language():
    locale = get_locale() if current_app else None
    return locale.language if locale is not None else DEFAULT_LANGUAGE


def localized(name_th, name_en):
    """The English name in English when there is one; the Thai name otherwise."""
    if name_en and current_language() == "en":
        return name_en
    return name_th


def to_bangkok(value):
    if value.tzinfo is None:
        raise ValueError("naive datetime; timestamps are stored timezone-aware")
    return value.astimezone(BANGKOK)


def noon_in_bangkok(day):
    """Midday of the Bangkok ``day``, in UTC: when money recorded for a whole day (a
    remittance, a paid payout) is dated, so no time zone moves it to another day."""
    return datetime.combine(day, time(12), tzinfo=BANGKOK).astimezone(UTC)


def format_date(value, style="medium", language=None):
    """``21 พ.ย. 2569`` in Thai, ``21 Nov 2026`` in English."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_bangkok(value).date()
    if not isinstance(value, date):
        raise TypeError(f"format_date needs a date, got {type(value).__name__}")
    language = language or current_language()
    pattern = _DATE_PATTERNS[style]
    year = value.year + BE_OFFSET if language == "th" else value.year
    return f"{babel_format_date(value, pattern, locale=language)}{year}"


def format_month(value, language=None):
    """A short month label for charts: ``พ.ย. 69`` in Thai (B.E.), ``Nov 26`` in English."""
    language = language or current_language()
    year = value.year + BE_OFFSET if language == "th" else value.year
    return f"{babel_format_date(value, 'MMM', locale=language)} {year % 100:02d}"


def format_datetime(value, style="medium", language=None):
    """Date as :func:`format_date`, then the Bangkok time on a 24-hour clock."""
    if value is None:
        return ""
    local = to_bangkok(value)
    language = language or current_language()
    clock = babel_format_time(local.time(), "HH:mm", locale=language)
    suffix = " น." if language == "th" else ""
    return f"{format_date(local.date(), style, language)} {clock}{suffix}"
