"""Text as people type it, read into typed values: at the edge only.

Form fields (``marketplace.fields``), the JSON API and the CLI's click types
(``marketplace.clitypes``) call these, and ``money.parse_baht`` for baht; services never
do: they take satang, dates, enums and ids. Each function returns the typed value or raises
``ValueError``, which the edge turns into its own kind of error (a form field's message, a
400 naming the field, a click usage error).
"""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from marketplace.guards import MAX_ID

#: Longer text than this is no number anyone means (and is not worth reading).
MAX_NUMBER_TEXT = 40
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LOCAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?")


def parse_day(text):
    """``2026-03-31`` → ``date(2026, 3, 31)``; only that form, surrounding spaces aside."""
    cleaned = (text or "").strip()
    if not _DAY.fullmatch(cleaned):
        raise ValueError("not a YYYY-MM-DD date")
    return date.fromisoformat(cleaned)


def parse_local_time(text, zone):
    """``2026-12-05T18:00`` (a datetime-local input) → that moment in ``zone`` (aware)."""
    cleaned = (text or "").strip()
    if not _LOCAL_TIME.fullmatch(cleaned):
        raise ValueError("not a YYYY-MM-DDTHH:MM time")
    return datetime.fromisoformat(cleaned.replace(" ", "T")).replace(tzinfo=zone)


def parse_decimal(text, *, places):
    """A plain decimal number (``1,234.5``) with at most ``places`` decimals."""
    cleaned = (text or "").strip().replace(",", "")
    if not cleaned or len(cleaned) > MAX_NUMBER_TEXT or "e" in cleaned.lower():
        raise ValueError("not a plain number")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not number.is_finite() or number.as_tuple().exponent < -places:
        raise ValueError(f"not a number with at most {places} decimals")
    return number


class CommaInPercent(ValueError):
    """A percent typed with a comma (``1,5``): a decimal comma or a slip, never a thousands
    separator (no percent needs one), so it is refused rather than guessed."""


def parse_percent(text):
    """``2.5`` or ``2.5%`` → 250 basis points; at most two decimals. The sign is kept: the
    caller says what range it accepts. A comma is refused (:class:`CommaInPercent`): read
    as a thousands separator, ``1,5`` would be 15%."""
    cleaned = (text or "").strip()
    if "," in cleaned:
        raise CommaInPercent("a percent has no comma")
    return int(parse_decimal(cleaned.removesuffix("%"), places=2) * 100)


def parse_grams(kg_text):
    """Kilograms typed by a person (``1.5``) → 1500 grams; at most three decimals."""
    return int(parse_decimal(kg_text, places=3) * 1000)


def parse_whole_number(text):
    """``120`` → 120 (a sign allowed; the caller checks the range)."""
    cleaned = (text or "").strip()
    if not cleaned or len(cleaned) > MAX_NUMBER_TEXT:
        raise ValueError("not a whole number")
    return int(cleaned)


def parse_id(value):
    """A row id from a form or query string (``"12"`` or 12) → 12; ``None`` for anything
    that cannot be an id (empty, not digits, 0, more than MAX_ID)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ID))):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
