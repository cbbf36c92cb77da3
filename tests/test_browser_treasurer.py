"""The fund treasurer in a real browser (tests/browser_kit.py), on a 360 px phone and a
1280 px desktop: the fund dashboard, the levy report chosen by month and Buddhist Era year
and by a range of days, the CSV and the PDF downloads, printing the report (Chromium's PDF:
one A4 page a section, no navigation or buttons), and the levies order by order."""

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from marketplace.levies.services import today
from tests.browser_kit import DESKTOP, PHONE, SHOTS, check_page, new_page, sign_in
from tests.test_fund_report import report_world

#: Words of the header, the menus, the fund's navigation, the chooser and the buttons: none
#: may be printed.
NOT_PRINTED = (
    "ตลาดชุมชน",
    "คำสั่งซื้อของฉัน",
    "สั่งซื้อรวม",
    "ภาพรวม",
    "การโอนเงินให้กองทุน",
    "บันทึกการตรวจสอบ",
    "ช่วงเวลา",
    "เลือกช่วงวันที่เอง",
    "พิมพ์",
    "ดาวน์โหลด",
)


def downloaded(page, selector):
    """The bytes of the file the link ``selector`` downloads."""
    with page.expect_download() as info:
        page.click(selector)
    return Path(info.value.path()).read_bytes()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_treasurer_reads_downloads_and_prints_the_levy_report(db, live, browser, viewport):
    world = report_world(db)
    fund_id, fund_name = world["fund"].id, world["fund"].name_th
    now = today()
    be_year = now.year + 543

    page = new_page(browser, live, viewport, accept_downloads=True)
    sign_in(page, live, "treasurer@example.com")

    # The dashboard: what the fund is owed, and the last twelve months drawn with values
    page.goto(f"{live}/funds/{fund_id}/dashboard")
    assert "฿66.00" in page.locator(".fund-stats").inner_text()
    assert page.locator("svg.levy-chart text", has_text="฿66.00").count() == 1
    check_page(page, "fund-dashboard")

    # The report of this month, then of the whole year from the selects
    page.click("a:has-text('เปิดรายงานเงินสมทบ')")
    page.wait_for_load_state()
    assert page.locator("#period-year option:checked").inner_text() == str(be_year)
    page.select_option("#period-month", "")
    page.click("form.period-month button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".report-of strong").inner_text() == f"ปี {be_year}"
    assert page.locator("input[type=date]").count() == 0
    for section in ("by-product", "by-seller", "by-province"):
        total = page.locator(f"section[aria-labelledby='{section}-title'] tfoot").inner_text()
        assert "฿70.00" in total and "฿4.00" in total and "฿66.00" in total, section
    check_page(page, "levy-report")

    # A range of days from day, month and year selects (Buddhist Era years)
    page.click(".custom-range summary")
    page.select_option("select[name=from_day]", "1")
    page.select_option("select[name=from_month]", "1")
    page.select_option("select[name=from_year]", label=str(be_year))
    page.select_option("select[name=to_day]", str(now.day))
    page.select_option("select[name=to_month]", str(now.month))
    page.select_option("select[name=to_year]", label=str(be_year))
    check_page(page, "levy-report-range-chooser")
    page.click(".custom-range button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".report-of strong").inner_text().startswith(f"1 ม.ค. {be_year} – ")
    assert "฿66.00" in page.locator(".sums-table").inner_text()

    # Downloads: the CSV as it always was, and the PDF, a page a section
    csv_body = downloaded(page, ".report-actions a[href*='levies.csv']").decode("utf-8")
    assert csv_body.startswith("\ufeff") and "66.00" in csv_body and fund_name in csv_body
    made = PdfReader(io.BytesIO(downloaded(page, ".report-actions a[href*='levies.pdf']")))
    assert len(made.pages) == 4
    assert "฿66.00" in made.pages[0].extract_text()

    # Printing: Chromium's PDF, one A4 page a section, with no navigation and no buttons
    page.emulate_media(media="print")
    for hidden in (".site-header", ".bottom-nav", ".subnav", ".period-chooser", ".report-actions"):
        assert page.locator(hidden).first.is_hidden(), hidden
    printed = PdfReader(io.BytesIO(page.pdf(format="A4")))
    sections = page.locator(".report-section").count()
    assert len(printed.pages) == sections == 4
    # (Chromium writes Thai and Latin letters as runs of their own: compare without spaces)
    texts = ["".join(printed_page.extract_text().split()) for printed_page in printed.pages]
    for word in NOT_PRINTED:
        assert not any(word in text for text in texts), word
    assert "฿66.00" in texts[0] and "ข้าวหอมมะลิถุง5กก.12฿52.00" in texts[1]
    assert all("บ้านเขว้า" in text for text in texts)  # every page names the fund
    page.screenshot(path=str(SHOTS / f"levy-report-print-{viewport['width']}.png"), full_page=True)
    page.emulate_media(media="screen")

    # Levies order by order, from the report
    page.click("a:has-text('เงินสมทบทุกรายการในช่วงนี้')")
    page.wait_for_load_state()
    assert "฿66.00" in page.locator("table.items-table tfoot").inner_text()
    assert "แฮช" not in page.locator("table.items-table").inner_text()
    check_page(page, "levy-items")
    page.context.close()
