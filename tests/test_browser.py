"""Journeys in a real browser: Playwright for Python driving Debian's Chromium
(/usr/bin/chromium; never a downloaded browser), against the app served on a free port.

Screenshots go to ``BROWSER_SHOTS`` when it names a directory (to look at the pages).
"""

import os
import shutil
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from marketplace.dbtypes import utcnow
from marketplace.grouporders.models import GroupOrder, GroupOrderStatus
from marketplace.i18n import to_bangkok
from marketplace.money import format_satang
from tests.conftest import PASSWORD, unavailable
from tests.factories import FundTreasurerFactory, ProductFactory, SellerMemberFactory, UserFactory
from tests.test_api_http import free_port

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        unavailable(f"Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-core)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def live(app):
    """The app over HTTP on a free port (threaded, like production's workers)."""
    port = free_port()
    httpd = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()


def shot(page, name):
    folder = os.environ.get("BROWSER_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def sign_in(page, base, email):
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide"


def test_organiser_opens_two_members_join_on_phones_organiser_closes_and_prints(
    app, db, live, browser
):
    member = SellerMemberFactory(seller__name_th="วิสาหกิจชุมชนข้าวอินทรีย์บ้านโนนสำราญ")
    rice = ProductFactory(
        seller=member.seller,
        name_th="ข้าวหอมมะลิอินทรีย์ 5 กก.",
        unit_label="ถุง",
        price_satang=35000,
        weight_grams=5050,
        stock=100,
    )
    seedling = ProductFactory(
        seller=member.seller, name_th="กล้ามังคุด", unit_label="ต้น", price_satang=12000, stock=50
    )
    treasurer = FundTreasurerFactory(
        user__email="organiser@example.com",
        user__name="สมศรี ใจดี",
        user__ship_name="สมศรี ใจดี",
        user__ship_phone="0812345678",
        user__ship_address_line="45/2 หมู่ 3 ถนนวิเศษ",
        user__ship_subdistrict_code="830107",
        user__ship_postal_code="83130",
    )
    UserFactory(email="member1@example.com", name="มานี มีนา")
    UserFactory(email="member2@example.com", name="ชูใจ ใจงาม")
    db.session.commit()
    seller_id, fund_name = member.seller_id, treasurer.fund.name

    # The organiser opens a group order (desktop)
    organiser = browser.new_context(viewport=DESKTOP, locale="th-TH").new_page()
    sign_in(organiser, live, "organiser@example.com")
    organiser.goto(f"{live}/group-orders")
    organiser.select_option("select#seller_id", str(seller_id))
    organiser.click("main form[action$='/group-orders/new'] button[type=submit]")
    organiser.fill("input[name=title]", "ข้าวสำหรับสมาชิกกองทุน ธันวาคม")
    closes = to_bangkok(utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    organiser.fill("input[name=closes_at]", closes)
    organiser.select_option("select[name=fund_id]", label=fund_name)
    shot(organiser, "group-new-1280")
    organiser.click("main form button[type=submit]")
    organiser.wait_for_load_state()
    join_link = organiser.input_value("#join-link")
    assert "/g/" in join_link and organiser.locator(".qr svg").count() == 1
    shot(organiser, "group-show-open-1280")

    # Two members join by the link on phones, signing in on the way
    for email, bags, trees in (("member1@example.com", 3, 2), ("member2@example.com", 2, 0)):
        phone = browser.new_context(viewport=PHONE, locale="th-TH", is_mobile=True, has_touch=True)
        page = phone.new_page()
        page.goto(join_link)
        assert page.locator("h1").inner_text() == "ข้าวสำหรับสมาชิกกองทุน ธันวาคม"
        assert fund_name in page.content()
        no_sideways_scroll(page)
        shot(page, "group-join-anonymous-360")
        page.click("main a[href^='/login?next=']")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(join_link)
        page.fill(f"input[name=q{rice.id}]", str(bags))
        page.fill(f"input[name=q{seedling.id}]", str(trees))
        page.click("form.pledge-form button[type=submit]")
        page.wait_for_load_state()
        share = page.locator("#share-title").locator("..")
        assert "฿" in share.inner_text()
        no_sideways_scroll(page)
        shot(page, f"group-join-pledged-{email.split('@')[0]}-360")
        phone.close()

    # The organiser sees the progress and closes (accepting the confirmation)
    organiser.reload()
    progress = organiser.locator("#progress-title").locator("..").inner_text()
    assert "5" in progress and "2" in progress
    organiser.on("dialog", lambda dialog: dialog.accept())
    organiser.click("form[action$='/close'] button[type=submit]")
    organiser.wait_for_load_state()
    group = db.session.scalar(select(GroupOrder))
    db.session.refresh(group)
    assert group.status == GroupOrderStatus.CLOSED
    assert sorted(item.quantity for item in group.order.items) == [2, 5]
    shot(organiser, "group-show-closed-1280")

    # … and prints the distribution sheet: names, amounts, no navigation in print
    organiser.goto(f"{live}/group-orders/{group.id}/sheet")
    sheet = organiser.locator("table.sheet-table").inner_text()
    assert "มานี มีนา" in sheet and "ชูใจ ใจงาม" in sheet
    assert format_satang(sum(p.total_satang for p in group.pledges)) in sheet
    organiser.emulate_media(media="print")
    assert organiser.locator(".site-header").is_hidden()
    pdf = organiser.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    shot(organiser, "group-sheet-print")
