"""Journeys in a real browser (tests/browser_kit.py): Playwright for Python driving Debian's
Chromium against the app served on a free port."""

from datetime import timedelta

from sqlalchemy import select

from marketplace.dbtypes import utcnow
from marketplace.grouporders.models import GroupOrder, GroupOrderStatus
from marketplace.i18n import to_bangkok
from marketplace.money import format_satang
from tests.browser_kit import DESKTOP, SHOTS, check_page, new_page, sign_in
from tests.conftest import PASSWORD
from tests.factories import FundTreasurerFactory, ProductFactory, SellerMemberFactory, UserFactory


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
    organiser = new_page(browser, live, DESKTOP)
    sign_in(organiser, live, "organiser@example.com")
    organiser.goto(f"{live}/group-orders")
    organiser.select_option("select#seller_id", str(seller_id))
    organiser.click("main form[action$='/group-orders/new'] button[type=submit]")
    organiser.fill("input[name=title]", "ข้าวสำหรับสมาชิกกองทุน ธันวาคม")
    closes = to_bangkok(utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    organiser.fill("input[name=closes_at]", closes)
    organiser.select_option("select[name=fund_id]", label=fund_name)
    check_page(organiser, "group-order-new")
    organiser.click("main form button[type=submit]")
    organiser.wait_for_load_state()
    join_link = organiser.input_value("#join-link")
    assert "/g/" in join_link and organiser.locator(".qr svg").count() == 1
    check_page(organiser, "group-order-open")

    # Two members join by the link on phones, signing in on the way
    for email, bags, trees in (("member1@example.com", 3, 2), ("member2@example.com", 2, 0)):
        page = new_page(browser, live)
        page.goto(join_link)
        assert page.locator("h1").inner_text() == "ข้าวสำหรับสมาชิกกองทุน ธันวาคม"
        assert fund_name in page.content()
        check_page(page, "group-order-join")
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
        check_page(page, "group-order-pledged")
        page.context.close()

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
    check_page(organiser, "group-order-closed")

    # … and prints the distribution sheet: names, amounts, no navigation in print
    organiser.goto(f"{live}/group-orders/{group.id}/sheet")
    check_page(organiser, "group-order-sheet")
    sheet = organiser.locator("table.sheet-table").inner_text()
    assert "มานี มีนา" in sheet and "ชูใจ ใจงาม" in sheet
    assert format_satang(sum(p.total_satang for p in group.pledges)) in sheet
    organiser.emulate_media(media="print")
    assert organiser.locator(".site-header").is_hidden()
    pdf = organiser.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    organiser.screenshot(path=str(SHOTS / "group-order-sheet-print.png"), full_page=True)
