import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.levies.arithmetic import (
    PER_KG,
    PER_UNIT,
    PERCENT,
    divide_half_up,
    levy_for_line,
    reversal_for,
    reversed_after,
)


def test_four_baht_a_bag():
    assert (
        levy_for_line(PER_UNIT, 400, unit_price_satang=35000, quantity=10, unit_weight_grams=5050)
        == 4000
    )


def test_per_kg_rounds_half_up_once_per_line():
    # ฿1 a kg on 1.5 kg seedlings: 150 satang each; 3 of them: 450.
    assert (
        levy_for_line(PER_KG, 100, unit_price_satang=8000, quantity=3, unit_weight_grams=1500)
        == 450
    )
    # 0.333 kg × 1 satang/kg × 3 = 0.999 satang → 1 (rounded once for the line, not per unit).
    assert levy_for_line(PER_KG, 1, unit_price_satang=1, quantity=3, unit_weight_grams=333) == 1
    # exactly half rounds up: 500 g at 1 satang/kg = 0.5 → 1
    assert levy_for_line(PER_KG, 1, unit_price_satang=1, quantity=1, unit_weight_grams=500) == 1


def test_percent_in_basis_points():
    # 2% of ฿450.50 × 3 = ฿27.03
    assert (
        levy_for_line(PERCENT, 200, unit_price_satang=45050, quantity=3, unit_weight_grams=1)
        == 2703
    )
    # 2.5% of ฿0.10 × 3 = 0.75 satang → 1
    assert levy_for_line(PERCENT, 250, unit_price_satang=10, quantity=3, unit_weight_grams=1) == 1
    assert (
        levy_for_line(PERCENT, 10_000, unit_price_satang=999, quantity=2, unit_weight_grams=1)
        == 1998
    )
    with pytest.raises(ValueError):
        levy_for_line(PERCENT, 10_001, unit_price_satang=1, quantity=1, unit_weight_grams=1)


def test_refuses_negative_and_unknown():
    with pytest.raises(ValueError):
        levy_for_line(PER_UNIT, -1, unit_price_satang=1, quantity=1, unit_weight_grams=1)
    with pytest.raises(ValueError):
        levy_for_line("flat", 1, unit_price_satang=1, quantity=1, unit_weight_grams=1)
    with pytest.raises(ValueError):
        divide_half_up(-1, 3)


@pytest.mark.parametrize(
    ("kind", "free", "no_units", "weightless"),
    [(PER_UNIT, 200, 0, 200), (PER_KG, 100, 0, 0), (PERCENT, 0, 0, 100)],
)
def test_zero_prices_quantities_weights_and_rates_are_taken(kind, free, no_units, weightless):
    """Zero is a value a line can hold (a free sample, a voucher that weighs nothing): the
    levy follows from it, and nothing is refused. Only below zero is, each on its own.
    The line: 2 units of ฿50.00 weighing 500 g, at a rate of 100."""
    line = {"unit_price_satang": 5000, "quantity": 2, "unit_weight_grams": 500}
    assert levy_for_line(kind, 0, **line) == 0
    assert levy_for_line(kind, 100, **{**line, "unit_price_satang": 0}) == free
    assert levy_for_line(kind, 100, **{**line, "quantity": 0}) == no_units
    assert levy_for_line(kind, 100, **{**line, "unit_weight_grams": 0}) == weightless
    for name in ("rate", *line):
        values = {"rate": 100, **line, name: -1}
        with pytest.raises(ValueError):
            levy_for_line(kind, values.pop("rate"), **values)


def test_half_up_divides_by_one_and_refuses_zero_or_negative_denominators():
    assert divide_half_up(7, 1) == 7
    assert divide_half_up(0, 5) == 0
    for denominator in (0, -2):
        with pytest.raises(ValueError):
            divide_half_up(1, denominator)


def test_reversals_are_whole_satang_rounded_down():
    # One of three units refunded of a 10-satang levy: 3 satang (3.33 rounded down), an int.
    reversed_now = reversed_after(10, 3, 1)
    assert reversed_now == 3 and isinstance(reversed_now, int)
    assert reversed_after(0, 0, 0) == 0  # nothing sold, nothing to reverse
    with pytest.raises(ValueError):
        reversed_after(10, 3, 4)


def test_per_unit_reversal_is_exactly_k_times_rate():
    original = 400 * 7
    assert [reversal_for(original, 7, 0, k) for k in range(8)] == [400 * k for k in range(8)]


@given(
    original=st.integers(min_value=0, max_value=10**9),
    quantity=st.integers(min_value=1, max_value=999),
    data=st.data(),
)
def test_refunds_in_any_steps_reverse_exactly_the_original(original, quantity, data):
    steps = data.draw(st.lists(st.integers(min_value=1, max_value=quantity), max_size=20))
    refunded, reversed_total = 0, 0
    for step in steps:
        step = min(step, quantity - refunded)
        if step == 0:
            break
        reversal = reversal_for(original, quantity, refunded, step)
        assert reversal >= 0
        refunded += step
        reversed_total += reversal
        assert reversed_total <= original  # never more than was posted
        assert reversed_total == reversed_after(original, quantity, refunded)
    rest = quantity - refunded
    reversed_total += reversal_for(original, quantity, refunded, rest)
    assert reversed_total == original
