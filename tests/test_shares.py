"""Group-order shares: one amount split among pledges, to the satang (no database)."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.grouporders.shares import split


def test_three_members_share_a_hundred_satang_of_shipping():
    # 1/3 each is 33.33…: the one satang left goes to the first of the equal remainders.
    assert split(100, [1, 1, 1]) == [34, 33, 33]


def test_the_largest_remainders_get_the_satang_left_over():
    # Exact shares 42.857…, 28.571…, 28.571… of ฿1.00 by 3:2:2 units.
    assert split(100, [3, 2, 2]) == [43, 29, 28]
    # Exact shares 0.6, 0.4 (×5 = 3, 2) and 2.5 / 2.5: remainders decide.
    assert split(1, [3, 2]) == [1, 0]
    assert split(5, [1, 1]) == [3, 2]


def test_proportional_shares_that_divide_exactly_are_exact():
    assert split(4000, [10, 5, 5]) == [2000, 1000, 1000]
    assert split(0, [2, 3]) == [0, 0]


def test_a_pledge_of_nothing_gets_nothing_while_others_share():
    assert split(999, [0, 1, 2]) == [0, 333, 666]


def test_with_every_weight_zero_the_amount_is_shared_equally():
    assert split(10, [0, 0, 0]) == [4, 3, 3]


def test_no_pledges_share_nothing_and_an_amount_needs_someone():
    assert split(0, []) == []
    with pytest.raises(ValueError):
        split(1, [])


@pytest.mark.parametrize(("amount", "weights"), [(-1, [1]), (10, [1, -1])])
def test_negative_amounts_and_weights_are_refused(amount, weights):
    with pytest.raises(ValueError):
        split(amount, weights)


@given(
    amount=st.integers(min_value=0, max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=10**4), min_size=1, max_size=40),
)
def test_parts_sum_to_the_amount_and_each_is_within_a_satang_of_its_share(amount, weights):
    parts = split(amount, weights)

    assert sum(parts) == amount
    assert len(parts) == len(weights)
    total = sum(weights) or len(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(amount * (weight if sum(weights) else 1), total)
        assert part >= 0
        assert exact - 1 < part < exact + 1
