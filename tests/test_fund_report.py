"""The treasurer's levy report as people read it: the chart, the period chooser in Buddhist
Era years, totals rows, the drill-down without hashes (the auditor's CSV has them), and the
PDF (marketplace/funds/chart.py, periods.py, pdf.py, views.py)."""

import csv
import html
import io
import re
from datetime import date

import pytest
from pypdf import PdfReader

from marketplace.errors import DomainError
from marketplace.funds import chart, periods, reports
from marketplace.i18n import format_month
from marketplace.ledger.models import EntryKind, JournalEntry
from marketplace.levies.services import today
from marketplace.money import format_satang
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as orders
from tests.factories import (
    AdminFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)

PHUKET = {
    "name": "สมศรี",
    "phone": "0812345678",
    "address_line": "1",
    "subdistrict_code": "830107",
    "postal_code": "83130",
}
BANGKOK = {**PHUKET, "subdistrict_code": "100101", "postal_code": "10200"}
WIDE = "from=2026-01-01&to=2030-12-31"


def report_world(db):
    """A fund with levies from two products of one seller, bought from two provinces, one
    bag refunded: ฿70.00 accrued, ฿4.00 reversed, ฿66.00 net.

    Rice at ฿4 a bag: 10 bags to Phuket, 3 to Bangkok, 1 refunded. Baskets at 2%: 2 of
    ฿450 to Phuket, ฿18.00."""
    member = SellerMemberFactory(
        user__email="member@example.com", seller__name_th="วิสาหกิจชุมชนข้าวบ้านเขว้า"
    )
    treasurer = FundTreasurerFactory(
        user__email="treasurer@example.com",
        fund__name_th="กองทุนสวัสดิการชุมชนบ้านเขว้า",
        fund__name_en="Ban Khwao Welfare Fund",
    )
    rice = ProductFactory(
        seller=member.seller,
        name_th="ข้าวหอมมะลิ ถุง 5 กก.",
        name_en="Jasmine rice, 5 kg bag",
        price_satang=35000,
        weight_grams=5050,
        stock=500,
    )
    basket = ProductFactory(
        seller=member.seller, name_th="ตะกร้าคลุ้ม", name_en="Khlum basket", price_satang=45000
    )
    admin = AdminFactory(email="admin@example.com")
    phuket = UserFactory(email="buyer@example.com")
    bangkok = UserFactory(email="bangkok@example.com")
    agreed_levy(member, treasurer, rice, kind="per_unit", rate=400)
    agreed_levy(member, treasurer, basket, kind="percent", rate=200)
    db.session.commit()
    placed = []
    for buyer, address, items in (
        (phuket, PHUKET, [(rice.id, 10), (basket.id, 2)]),
        (bangkok, BANGKOK, [(rice.id, 3)]),
    ):
        order = orders.place_order(buyer, items, address=address)
        orders.confirm_transfer(admin, order)
        db.session.commit()  # the outbox routes the levies (in-process)
        placed.append(order)
    first = placed[0]
    rice_item = next(item for item in first.items if item.product_id == rice.id)
    order_refunds.refund(admin, first, [(rice_item.id, 1)])
    db.session.commit()
    return {
        "fund": treasurer.fund,
        "treasurer": treasurer.user,
        "seller": member.seller,
        "rice": rice,
        "basket": basket,
        "orders": placed,
    }


@pytest.fixture
def world(db):
    return report_world(db)


def cells(fragment):
    """The text of each cell (th or td) of an HTML fragment, tags and spaces stripped."""
    found = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", fragment, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", cell)).split()) for cell in found]


def sections(page):
    """``{heading: section html}`` of the report page's sections."""
    found = re.findall(
        r'<section class="report-section"[^>]*>\s*<h2[^>]*>(.*?)</h2>(.*?)</section>', page, re.S
    )
    return {html.unescape(title): body for title, body in found}


def money_texts(satang_values):
    return [format_satang(value) for value in satang_values]


# The chart's geometry


def test_the_axis_steps_roundly_and_labels_whole_baht():
    top, step = chart.axis(16400, format_satang)
    assert (top, step) == (20000, 5000)  # ฿0, ฿50, … ฿200 for ฿164
    assert chart.tick_label(5000, format_satang) == "฿50"
    assert chart.tick_label(250, format_satang) == "฿2.50"
    top, step = chart.axis(0, format_satang)
    assert top > 0 and top % step == 0
    top, step = chart.axis(123_456_700, format_satang)
    assert top >= 123_456_700 and top // step <= 4


def test_bars_are_as_long_as_their_values_and_say_them():
    drawn = chart.bar_chart(
        [("ม.ค. 69", 4000, 0, True), ("ก.พ. 69", 8000, 2000, True), ("มี.ค. 69", 0, 0, False)],
        format_satang,
    )

    first, second, empty = drawn.bars
    assert [bar.value_text for bar in drawn.bars] == ["฿40.00", "฿60.00", "฿0.00"]
    assert second.net_width == pytest.approx(first.net_width * 1.5)
    assert second.net_width + second.reversed_width == pytest.approx(first.net_width * 2)
    assert empty.net_width == empty.reversed_width == 0
    assert drawn.ticks[0].label == "฿0" and drawn.ticks[0].x == chart.PLOT_LEFT
    assert drawn.ticks[-1].x <= chart.PLOT_RIGHT + 0.01
    assert drawn.has_reversals and drawn.has_comparison
    assert drawn.net_satang == 10000
    assert all(bar.y + chart.BAR <= drawn.plot_bottom for bar in drawn.bars)


def test_a_month_of_refunds_only_draws_no_negative_bar():
    (bar,) = chart.bar_chart([("x", 1000, 3000, True)], format_satang).bars
    assert bar.net_width == 0 and bar.value_text == "\u2212฿20.00"


# Periods as people choose them


def test_a_month_or_a_year_from_the_selects_and_a_range_of_days():
    def read(**args):
        return periods.from_query(args, 2000, 2200)

    assert read(year="2026", month="2") == (date(2026, 2, 1), date(2026, 2, 28))
    assert read(year="2028", month="2") == (date(2028, 2, 1), date(2028, 2, 29))
    assert read(year="2026", month="") == (date(2026, 1, 1), date(2026, 12, 31))
    assert read(
        from_day="15", from_month="6", from_year="2026", to_day="14", to_month="7", to_year="2026"
    ) == (date(2026, 6, 15), date(2026, 7, 14))
    assert read(**{"from": "2026-03-01", "to": "2026-03-31"}) == (
        date(2026, 3, 1),
        date(2026, 3, 31),
    )
    assert read() == (None, None)
    for args, field in (
        ({"year": "2569"}, "year"),  # a Buddhist Era year is never sent: the value is CE
        ({"year": "2026", "month": "13"}, "month"),
        ({"year": "abc"}, "year"),
        (
            {
                **dict.fromkeys(("from_day", "to_day"), "30"),
                **dict.fromkeys(("from_month", "to_month"), "2"),
                **dict.fromkeys(("from_year", "to_year"), "2026"),
            },
            "from_day",
        ),
        ({"from_day": "1"}, "from_month"),
    ):
        with pytest.raises(DomainError) as refused:
            read(**args)
        assert refused.value.field == field, args


def test_periods_read_in_buddhist_era_in_thai_and_common_era_in_english(app):
    now = date(2026, 11, 27)
    with app.test_request_context():
        assert periods.describe(date(2026, 1, 1), date(2026, 1, 31), "th", now) == "มกราคม 2569"
        assert periods.describe(date(2026, 1, 1), date(2026, 1, 31), "en", now) == "January 2026"
        assert periods.describe(date(2026, 1, 1), date(2026, 12, 31), "th", now) == "ปี 2569"
        assert periods.describe(date(2026, 1, 1), date(2026, 12, 31), "en", now) == "Year 2026"
        assert (
            periods.describe(date(2026, 1, 11), date(2026, 2, 15), "th", now)
            == "11 ม.ค. 2569 – 15 ก.พ. 2569"
        )
        assert periods.describe(date(2026, 11, 1), now, "en", now) == "1 Nov 2026 – 27 Nov 2026"
        chooser = periods.chooser(date(2026, 11, 1), now, now, "th")
    assert chooser.mode == "month" and (chooser.month, chooser.year) == (11, 2026)
    assert chooser.years[0] == (2026, "2569") and (2021, "2564") in chooser.years
    assert chooser.months[0] == (1, "มกราคม")
    assert [s.current for s in chooser.shortcuts] == [True, False, False, False]


# The report page


def test_the_report_chooses_months_in_buddhist_era_and_never_shows_a_date_input(client, db, world):
    client.login("treasurer@example.com")
    fund_id = world["fund"].id
    now = today()

    page = client.get(f"/funds/{fund_id}/levies").get_data(as_text=True)

    assert 'type="date"' not in page
    be_year = now.year + 543
    assert f'<option value="{now.year}" selected>{be_year}</option>' in page
    assert f'<option value="{now.month}" selected>' in page
    assert "มกราคม" in page and "ทั้งปี" in page
    assert re.search(rf'name="from_year">.*?<option value="{now.year}"[^>]*>{be_year}<', page, re.S)

    client.post("/language/en", data={"csrf_token": client.csrf_token()})
    english = client.get(f"/funds/{fund_id}/levies?month=&year={now.year}").get_data(as_text=True)
    assert f'<option value="{now.year}" selected>{now.year}</option>' in english
    assert f"Year {now.year}" in english and str(be_year) not in english
    assert "January" in english and "By buyer's province" in english


def test_totals_rows_equal_the_report_to_the_satang(client, db, world):
    client.login("treasurer@example.com")
    fund_id = world["fund"].id
    report = reports.levy_report(fund_id, date(2026, 1, 1), date(2030, 12, 31))
    assert (report.accrued_satang, report.reversed_satang) == (7000, 400)

    page = client.get(f"/funds/{fund_id}/levies?{WIDE}").get_data(as_text=True)
    found = sections(page)

    expected = ["ยอดรวม", "14", *money_texts([7000, 400, 6600])]
    for title in ("แยกตามสินค้า", "แยกตามผู้ขาย", "แยกตามจังหวัดของผู้ซื้อ"):
        body = found[title]
        (foot,) = re.findall(r"<tfoot>(.*?)</tfoot>", body, re.S)
        assert cells(foot) == expected, title
        rows = re.findall(r"<tbody>(.*?)</tbody>", body, re.S)[0]
        # every money cell is right-aligned
        assert len(re.findall(r'<td class="num"', rows)) == 4 * rows.count("<tr")
    provinces = cells(re.findall(r"<tbody>(.*?)</tbody>", found["แยกตามจังหวัดของผู้ซื้อ"], re.S)[0])
    assert provinces[:5] == ["ภูเก็ต", "11", *money_texts([5800, 400, 5400])]
    summary = found["สรุป"]
    assert cells(re.findall(r'<table class="sums-table">(.*?)</table>', summary, re.S)[0]) == [
        "เงินสมทบเข้า",
        "฿70.00",
        "หักคืนจากการคืนเงิน",
        "\u2212฿4.00",
        "เงินสมทบสุทธิในช่วงนี้",
        "฿66.00",
        "โอนให้กองทุนแล้วในช่วงนี้",
        "฿0.00",
        "ยอดค้างจ่ายกองทุนขณะนี้",
        "฿66.00",
    ]


def test_the_chart_has_an_axis_each_value_and_a_description(client, db, world):
    client.login("treasurer@example.com")
    fund_id = world["fund"].id
    now = today()

    for url in (
        f"/funds/{fund_id}/levies?month={now.month}&year={now.year}",
        f"/funds/{fund_id}/dashboard",
    ):
        page = client.get(url).get_data(as_text=True)
        (svg,) = re.findall(r'<svg class="levy-chart".*?</svg>', page, re.S)
        assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
        assert f">{format_month(now, 'th')}</text>" in svg  # ม.ค. 69: Buddhist Era
        assert "฿66.00" in svg  # this month's net, beside its bar and in the description
        assert re.search(r">฿0</text>", svg)  # the value axis starts at ฿0
        assert svg.count("<rect") >= 2
        # the same figures as a table, with its total
        (figures,) = re.findall(r'<details class="chart-figures.*?</details>', page, re.S)
        (foot,) = re.findall(r"<tfoot>(.*?)</tfoot>", figures, re.S)
        assert cells(foot) == ["ยอดรวม", *money_texts([7000, 400, 6600])]


def test_a_range_that_cannot_be_keeps_the_choice_and_says_why(client, db, world):
    client.login("treasurer@example.com")
    query = "from_day=30&from_month=2&from_year=2026&to_day=14&to_month=3&to_year=2026"

    response = client.get(f"/funds/{world['fund'].id}/levies?{query}")
    page = response.get_data(as_text=True)

    assert response.status_code == 400
    assert "เดือนนั้นไม่มีวันที่นี้" in page
    assert '<details class="custom-range" open>' in page
    assert re.search(r'name="from_day">.*?<option value="30" selected>', page, re.S)
    assert re.search(r'name="to_month">.*?<option value="3" selected>', page, re.S)


# Drill-down and the auditor's copy


def test_the_drill_down_has_no_hash_column_and_adds_up(client, db, world):
    client.login("treasurer@example.com")
    fund_id = world["fund"].id
    hashes = db.session.scalars(
        JournalEntry.__table__.select()
        .with_only_columns(JournalEntry.hash)
        .where(JournalEntry.fund_id == fund_id)
    ).all()

    page = client.get(f"/funds/{fund_id}/levies/items?{WIDE}").get_data(as_text=True)

    headings = cells(re.findall(r"<thead>(.*?)</thead>", page, re.S)[0])
    assert headings == ["รายการ", "วันที่", "คำสั่งซื้อ", "หน่วย", "เงินสมทบ"]
    assert not any(value[:10] in page for value in hashes)
    (foot,) = re.findall(r"<tfoot>(.*?)</tfoot>", page, re.S)
    assert cells(foot) == ["ยอดรวม", "14", "฿66.00"]
    assert "คืนเงิน" in page and ">\u22121<" in page  # the refunded bag, counted back

    rice = client.get(f"/funds/{fund_id}/levies/items?{WIDE}&product={world['rice'].id}")
    text = rice.get_data(as_text=True)
    assert "ข้าวหอมมะลิ ถุง 5 กก." in text and "ตะกร้าคลุ้ม" not in text
    assert cells(re.findall(r"<tfoot>(.*?)</tfoot>", text, re.S)[0]) == ["ยอดรวม", "12", "฿48.00"]


def test_the_auditors_csv_has_every_posting_with_its_hash(client, db, world):
    client.login("treasurer@example.com")
    fund_id = world["fund"].id
    levies = (
        db.session.execute(
            JournalEntry.__table__.select().where(
                JournalEntry.fund_id == fund_id,
                JournalEntry.kind.in_((EntryKind.LEVY, EntryKind.LEVY_REVERSAL)),
            )
        )
        .mappings()
        .all()
    )

    response = client.get(f"/funds/{fund_id}/levies/items.csv?{WIDE}")

    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert rows[0][-2:] == ["แฮช", "แฮชก่อนหน้า"]
    assert len(rows) - 1 == len(levies) == 4
    by_id = {str(entry["id"]): entry for entry in levies}
    for row in rows[1:]:
        entry = by_id[row[0]]
        assert row[-2:] == [entry["hash"], entry["prev_hash"]]
        assert row[6] == f"{entry['levy_satang'] / 100:.2f}"
    assert [row[1] for row in rows[1:]] == sorted((row[1] for row in rows[1:]), key=int)
    assert sum(int(row[5]) for row in rows[1:]) == 14


# The PDF


def pdf_text(body):
    reader = PdfReader(io.BytesIO(body))
    return [page.extract_text() for page in reader.pages]


def test_the_pdf_is_a_page_a_section_with_the_funds_figures(client, db, world):
    client.login("treasurer@example.com")
    fund_id = world["fund"].id

    response = client.get(f"/funds/{fund_id}/levies.pdf?from=2026-01-01&to=2026-12-31")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    pages = pdf_text(response.data)
    assert len(pages) == 4  # summary and chart, by product, by seller, by province
    first = pages[0]
    assert "บ้านเขว้า" in first and "ปี 2569" in first and "1 มกราคม 2569" in first
    assert "฿70.00" in first and "฿66.00" in first
    assert "ข้าวหอมมะลิ ถุง 5 กก." in pages[1] and "฿48.00" in pages[1]
    assert "วิสาหกิจชุมชนข้าวบ้านเขว้า" in pages[2]
    assert "ภูเก็ต" in pages[3] and "กรุงเทพมหานคร" in pages[3]
    for page in pages[1:]:
        assert "฿66.00" in page  # each section's totals row
        assert "ปี 2569" in page  # and the period, at the top and the foot
    assert not any("ภาพรวม" in page or "ดาวน์โหลด" in page for page in pages)


def test_the_pdf_reads_in_english_for_english_readers(client, db, world):
    client.login("treasurer@example.com")
    client.post("/language/en", data={"csrf_token": client.csrf_token()})

    response = client.get(f"/funds/{world['fund'].id}/levies.pdf?month=&year=2026")

    pages = pdf_text(response.data)
    assert "Ban Khwao Welfare Fund" in pages[0] and "Year 2026" in pages[0]
    assert "Jasmine rice, 5 kg bag" in pages[1]


def test_only_the_funds_treasurers_get_its_pdf_and_auditors_copy(client, db, world):
    other = FundTreasurerFactory(user__email="other@example.com")
    db.session.commit()
    client.login("other@example.com")
    fund_id = world["fund"].id

    for url in (f"/funds/{fund_id}/levies.pdf", f"/funds/{fund_id}/levies/items.csv"):
        assert client.get(url).status_code == 403, url
    assert client.get(f"/funds/{other.fund_id}/levies.pdf").status_code == 200


def test_the_pdf_reads_nothing_but_static_files(app):
    from marketplace.funds import pdf

    fetch = pdf._fetcher(app.static_folder)
    static = fetch.fetch(f"file://{app.static_folder}/css/report-pdf.css")
    assert static.read().startswith(b"/*")
    assert fetch.fetch("sarabun:400").read()[:4] in (b"\x00\x01\x00\x00", b"OTTO", b"true")
    for url in (
        "http://127.0.0.1/secret",
        "file:///etc/passwd",
        f"file://{app.static_folder}/../config.py",
        "sarabun:900",
    ):
        with pytest.raises(ValueError):
            fetch.fetch(url)
