"""Days chosen from three selects (marketplace/fields.py): read from a query string or a
form, and offered with Buddhist Era years in Thai."""

from datetime import date

import pytest
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from marketplace.errors import DomainError
from marketplace.fields import DayField, day_choices, query_days
from marketplace.forms import BaseForm


def test_query_days_reads_three_selects_or_yyyy_mm_dd():
    args = MultiDict({"from_day": "1", "from_month": "3", "from_year": "2026", "to": "2026-03-31"})
    assert query_days(args, "from", "to") == [date(2026, 3, 1), date(2026, 3, 31)]
    assert query_days(MultiDict(), "from", "to") == [None, None]
    # empty selects ("—") are a day not given
    blank = MultiDict({"from_day": "", "from_month": "", "from_year": ""})
    assert query_days(blank, "from") == [None]


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"from_day": "1", "from_year": "2026"}, "Choose a day, a month and a year."),
        ({"from_day": "31", "from_month": "2", "from_year": "2026"}, "That month has no such"),
        ({"from_day": "x", "from_month": "2", "from_year": "2026"}, "Choose a day, a month"),
    ],
)
def test_query_days_names_the_day_its_selects_cannot_make(app, parts, message):
    with app.test_request_context(), force_locale("en"):
        with pytest.raises(DomainError) as refused:
            query_days(MultiDict(parts), "from", "to")
        assert refused.value.field == "from"
        assert str(refused.value.message).startswith(message)


def test_years_read_in_the_buddhist_era_in_thai(app):
    today = date(2026, 11, 27)
    with app.test_request_context(), force_locale("th"):
        thai = day_choices(date(2019, 5, 2), today=today)
    with app.test_request_context(), force_locale("en"):
        english = day_choices(None, today=today)
    assert thai["years"][0] == (2026, "2569") and (2019, "2562") in thai["years"]
    assert thai["months"][0] == (1, "มกราคม") and thai["selected"] == (2, 5, 2019)
    assert english["years"][0] == (2026, "2026") and english["years"][-1] == (2021, "2021")
    assert english["months"][11] == (12, "December") and english["selected"] == (None,) * 3


class DayForm(BaseForm):
    class Meta:
        csrf = False

    paid_on = DayField("Paid on")


def test_a_day_field_reads_its_selects_and_shows_them_again(app):
    with app.test_request_context():
        sent = DayForm(
            MultiDict({"paid_on_day": "30", "paid_on_month": "2", "paid_on_year": "2026"})
        )
        assert not sent.validate()
        assert sent.paid_on.selected == (30, 2, 2026)  # as chosen, to fix
        assert sent.paid_on.errors

        good = DayForm(
            MultiDict({"paid_on_day": "28", "paid_on_month": "2", "paid_on_year": "2026"})
        )
        assert good.validate() and good.paid_on.data == date(2026, 2, 28)
        # YYYY-MM-DD under the field's own name, as a script sends it
        typed = DayForm(MultiDict({"paid_on": "2026-02-01"}))
        assert typed.validate() and typed.paid_on.data == date(2026, 2, 1)

        empty = DayForm(MultiDict({"other": "x"}))
        assert not empty.validate() and empty.paid_on.data is None
