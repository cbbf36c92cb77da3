"""Payout arithmetic: integers only, no Flask, no database.

A platform fee is a rate in basis points (1% = 100) of an order line's goods, rounded once,
half up, when the order is placed, and never more than what the line's levies leave of it
(levies and fee together never take more than the line, so no proceeds are negative); a
refund of some units gives back the same share of it as of the line's levies
(``levies.arithmetic.reversal_for``), so refunding every unit, in any steps, gives back
exactly the fee.
"""

from marketplace.levies.arithmetic import BASIS_POINTS, divide_half_up


def fee_for_line(line_total_satang, rate_bps, levies_satang=0):
    """The platform fee of one order line, in satang: the rate of the line's goods, capped at
    what the line's levies leave (``line total - levies``)."""
    if line_total_satang < 0:
        raise ValueError("a line total is never negative")
    if not 0 <= levies_satang <= line_total_satang:
        raise ValueError("a line's levies are from 0 to the line's total")
    if not 0 <= rate_bps <= BASIS_POINTS:
        raise ValueError("a platform fee is from 0 to 100%")
    fee = divide_half_up(line_total_satang * rate_bps, BASIS_POINTS)
    return min(fee, line_total_satang - levies_satang)


def released(amount, available, owed):
    """How ``amount`` of a seller's proceeds reaching (positive) or leaving (negative) the
    money that is free to pay them moves ``(available, owed)``: ``(Δ available, Δ owed)``.

    Money coming in settles what the seller owes first; money going out takes what is
    available first, and what it cannot take leaves the seller owing. Neither balance ever
    goes below zero.
    """
    if available < 0 or owed < 0:
        raise ValueError("available and owed are never negative")
    if amount >= 0:  # pragma: no mutate (for 0 both branches give (0, 0): > 0 is one)
        settles = min(owed, amount)
        return amount - settles, -settles
    taken = min(available, -amount)
    return -taken, -amount - taken
