import pytest

from marketplace.money import MoneyError, baht_text, format_satang, parse_baht


@pytest.mark.parametrize(
    ("satang", "shown"),
    [
        (0, "฿0.00"),
        (5, "฿0.05"),
        (400, "฿4.00"),
        (123450, "฿1,234.50"),
        (100000000, "฿1,000,000.00"),
        (-250, "\u2212฿2.50"),  # the minus sign, as the pages sign amounts
    ],
)
def test_format_satang(satang, shown):
    assert format_satang(satang) == shown


def test_format_refuses_floats():
    with pytest.raises(TypeError):
        format_satang(4.0)


@pytest.mark.parametrize(
    ("text", "satang"),
    [
        ("4", 400),
        ("4.5", 450),
        ("1,234.56", 123456),
        ("฿ 40.00", 4000),
        ("0.01", 1),
        (" 250 ", 25000),
    ],
)
def test_parse_baht(text, satang):
    assert parse_baht(text) == satang


@pytest.mark.parametrize(
    "text", ["", "abc", "1.234", "1e3", "NaN", "-5", "\u22125", "Infinity", "1..2"]
)
def test_parse_baht_refuses(text):
    with pytest.raises(MoneyError):
        parse_baht(text)


def test_parse_baht_limits():
    assert parse_baht("-5", allow_negative=True) == -500
    assert parse_baht("\u2212฿5.25", allow_negative=True) == -525  # as a page shows it
    with pytest.raises(MoneyError):
        parse_baht("1000001", maximum_satang=100_000_000)
    with pytest.raises(TypeError):
        parse_baht(4.5)


@pytest.mark.parametrize(
    ("satang", "short", "text"),
    [
        (123450, False, "1234.50"),
        (5, False, "0.05"),
        (-2000, False, "-20.00"),
        (4500, True, "45"),
        (4550, True, "45.50"),
        (0, True, "0"),
    ],
)
def test_baht_text_reads_back_as_the_same_satang(satang, short, text):
    assert baht_text(satang, short=short) == text
    assert parse_baht(text, allow_negative=True) == satang
    with pytest.raises(TypeError):
        baht_text(12.5)
