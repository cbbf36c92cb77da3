import pytest

from marketplace.errors import DomainError
from marketplace.parsing import parse_grams
from marketplace.shipping.fees import Tier, fee_for_weight, remote_surcharge
from marketplace.shipping.forms import read_tiers
from marketplace.shipping.services import check_tiers, kg_text

TABLE = [Tier(1000, 4500), Tier(3000, 6500), Tier(5000, 9000), Tier(20000, 22000)]


@pytest.mark.parametrize(
    ("grams", "fee"),
    [
        (0, 4500),
        (1, 4500),
        (1000, 4500),
        (1001, 6500),
        (5000, 9000),
        (5001, 22000),
        (20000, 22000),
        (20001, 22000 + 4500),  # one full parcel and a small one
        (45000, 22000 * 2 + 9000),
        (40000, 22000 * 2),
    ],
)
def test_fee_for_weight(grams, fee):
    assert fee_for_weight(grams, TABLE) == fee
    assert fee_for_weight(grams, list(reversed(TABLE))) == fee


def test_fee_needs_a_table_and_a_weight():
    with pytest.raises(ValueError):
        fee_for_weight(100, [])
    with pytest.raises(ValueError):
        fee_for_weight(-1, TABLE)


def test_remote_surcharge():
    assert remote_surcharge("84140", {"84140"}, 5000) == 5000
    assert remote_surcharge("10110", {"84140"}, 5000) == 0


def test_kg_round_trip():
    def grams(text):
        try:
            return parse_grams(text)
        except ValueError:
            return None

    texts = ("1", "1.5", "0.25", "20", "1,000", "1.2345", "x", "", "1e3")
    assert [grams(t) for t in texts] == [1000, 1500, 250, 20000, 1_000_000] + [None] * 4
    assert [kg_text(g) for g in (1000, 1500, 250, 20000, 10000)] == ["1", "1.5", "0.25", "20", "10"]


def test_tier_rows_are_read_as_grams_and_satang_blanks_skipped():
    assert read_tiers([("5", "90"), ("", ""), (" 1 ", "45.50")]) == [
        Tier(5000, 9000),
        Tier(1000, 4550),
    ]
    for rows in (
        [("abc", "45")],
        [("1", "4.555")],
        [("1", "")],
        [("", "45")],
        [("0", "45")],
        [("-1", "45")],
        [("1", "-45")],
        [("100001", "45")],
    ):
        with pytest.raises(ValueError):
            read_tiers(rows)


def test_the_table_is_checked_and_sorted_by_weight(app):
    with app.app_context():
        assert check_tiers([Tier(5000, 9000), Tier(1000, 4550)]) == [
            Tier(1000, 4550),
            Tier(5000, 9000),
        ]
        for tiers in (
            [],
            [Tier(1000, 4500), Tier(1000, 5000)],
            [Tier(0, 4500)],
            [Tier(1000, -1)],
            [Tier(1000 * n, 100) for n in range(1, 12)],
        ):
            with pytest.raises(DomainError) as refused:
                check_tiers(tiers)
            assert refused.value.field == "tiers"
