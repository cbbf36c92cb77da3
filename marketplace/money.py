"""Money is an integer number of satang (1 baht = 100 satang); never a float."""

from decimal import Decimal, InvalidOperation

SATANG_PER_BAHT = 100
CURRENCY_SIGN = "฿"


class MoneyError(ValueError):
    """Baht text that cannot be read as an amount."""


#: The minus sign pages show before an amount (U+2212, as wide as the plus and the digits).
MINUS = "\u2212"


def format_satang(satang):
    """``123450`` → ``฿1,234.50``, ``-400`` → ``−฿4.00`` (U+2212, as every page signs a
    negative amount); the one formatter every page uses."""
    if satang is None:
        return ""
    if not isinstance(satang, int) or isinstance(satang, bool):
        raise TypeError(f"money is an int of satang, got {type(satang).__name__}")
    sign = MINUS if satang < 0 else ""
    baht, rest = divmod(abs(satang), SATANG_PER_BAHT)
    return f"{sign}{CURRENCY_SIGN}{baht:,}.{rest:02d}"


def format_signed_satang(satang, plus=True):
    """``-1250`` → ``−฿12.50`` (U+2212), ``1250`` → ``+฿12.50`` (``฿12.50`` without
    ``plus``), ``0`` → ``฿0.00`` (never signed): for amounts that move a balance."""
    if satang is None:
        return ""
    text = format_satang(abs(satang))
    if satang < 0:
        return MINUS + text
    return "+" + text if plus and satang > 0 else text


def format_count(number):
    """``-1`` → ``−1`` (U+2212): a count that goes back (units refunded), signed as the
    amounts beside it are."""
    return f"{MINUS}{-number}" if number < 0 else str(number)


def baht_text(satang, *, short=False):
    """``123450`` → ``1234.50``: an amount as a person types it back into a form or reads it
    in a CSV cell (no sign, no grouping); ``short`` leaves ``.00`` off whole baht."""
    if not isinstance(satang, int) or isinstance(satang, bool):
        raise TypeError(f"money is an int of satang, got {type(satang).__name__}")
    sign = "-" if satang < 0 else ""
    baht, rest = divmod(abs(satang), SATANG_PER_BAHT)
    if short and not rest:
        return f"{sign}{baht}"
    return f"{sign}{baht}.{rest:02d}"


def parse_baht(text, *, allow_negative=False, maximum_satang=None):
    """Read a baht amount typed by a person (``1,234.5``, ``฿40``) as satang.

    More than two decimals, a float-like exponent, or anything not a number is refused.
    """
    if isinstance(text, float):
        raise TypeError("parse_baht takes text or Decimal, never a float")
    cleaned = str(text).strip().replace(",", "").replace(CURRENCY_SIGN, "").strip()
    cleaned = cleaned.replace(MINUS, "-")  # as the pages show a negative amount
    if not cleaned:
        raise MoneyError("empty")
    if "e" in cleaned.lower():
        raise MoneyError("not a plain number")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise MoneyError("not a number") from None
    if not amount.is_finite():
        raise MoneyError("not a number")
    if amount.as_tuple().exponent < -2:
        raise MoneyError("more than two decimals")
    if amount < 0 and not allow_negative:
        raise MoneyError("negative")
    satang = int(amount * SATANG_PER_BAHT)
    if maximum_satang is not None and abs(satang) > maximum_satang:
        raise MoneyError("too large")
    return satang
