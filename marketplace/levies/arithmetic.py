"""Levy arithmetic: integers only, no Flask, no database.

Rates: ``per_unit`` in satang per unit, ``per_kg`` in satang per kilogram of the unit's
weight, ``percent`` in basis points (1% = 100) of the line subtotal. A levy is rounded once,
half up, for the whole order line, when the order is placed; the result is stored.
"""

PER_UNIT = "per_unit"
PER_KG = "per_kg"
PERCENT = "percent"
KINDS = (PER_UNIT, PER_KG, PERCENT)
BASIS_POINTS = 10_000  # 100%
GRAMS_PER_KG = 1000


def divide_half_up(numerator, denominator):
    """``numerator / denominator`` rounded half up (both non-negative integers)."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("divide_half_up takes a non-negative numerator and a positive denominator")
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if 2 * remainder >= denominator else 0)


def levy_for_line(kind, rate, *, unit_price_satang, quantity, unit_weight_grams):
    """The levy of one order line, in satang."""
    if rate < 0 or quantity < 0 or unit_price_satang < 0 or unit_weight_grams < 0:
        raise ValueError("rates, prices, quantities and weights are never negative")
    if kind == PER_UNIT:
        return rate * quantity
    if kind == PER_KG:
        return divide_half_up(rate * unit_weight_grams * quantity, GRAMS_PER_KG)
    if kind == PERCENT:
        if rate > BASIS_POINTS:
            raise ValueError("a percent levy is at most 100%")
        return divide_half_up(unit_price_satang * quantity * rate, BASIS_POINTS)
    raise ValueError(f"unknown levy kind {kind!r}")


def reversed_after(original_satang, quantity, refunded_units):
    """How much of a line's levy is reversed once ``refunded_units`` of ``quantity`` are refunded.

    Proportional, rounded down, so partial refunds never reverse more than their share and
    refunding every unit, in any number of steps, reverses exactly ``original_satang``. For a
    per-unit levy (original = rate × quantity) this is exactly rate × refunded units.
    """
    if not 0 <= refunded_units <= quantity:
        raise ValueError("cannot refund more units than were sold")
    if quantity == 0:
        return 0
    return original_satang * refunded_units // quantity


def reversal_for(original_satang, quantity, refunded_before, refunding_now):
    """The reversal to post when ``refunding_now`` more units are refunded."""
    return reversed_after(original_satang, quantity, refunded_before + refunding_now) - (
        reversed_after(original_satang, quantity, refunded_before)
    )
