import pytest

from marketplace.errors import DomainError
from marketplace.shipping.fees import Tier, fee_for_weight, remote_surcharge
from marketplace.shipping.services import clean_tiers, kg_text, parse_kg

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
    assert [parse_kg(t) for t in ("1", "1.5", "0.25", "20", "1.2345", "0", "-1", "x", "")] == [
        1000,
        1500,
        250,
        20000,
        None,
        None,
        None,
        None,
        None,
    ]
    assert [kg_text(g) for g in (1000, 1500, 250, 20000, 10000)] == ["1", "1.5", "0.25", "20", "10"]


def test_clean_tiers_sorts_and_refuses_nonsense(app):
    with app.app_context():
        tiers = clean_tiers([("5", "90"), ("", ""), ("1", "45.50")])
        assert tiers == [Tier(1000, 4550), Tier(5000, 9000)]
        for rows in ([("", "")], [("1", "45"), ("1", "50")], [("abc", "45")], [("1", "4.555")]):
            with pytest.raises(DomainError):
                clean_tiers(rows)
