"""A buyer pays on a phone, and admins confirm the payment from the back office's overview,
in a real browser (tests/browser_kit.py): each page at 360 px and 1280 px."""

from sqlalchemy import select

from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus
from marketplace.payments.models import Payment, PaymentStatus
from tests.browser_kit import DESKTOP, check_page, new_page, sign_in
from tests.factories import AdminFactory, ProductFactory, SellerFactory, UserFactory

RAWAI = {
    "ship_name": "สมศรี ใจดี",
    "ship_phone": "0812345678",
    "ship_address_line": "45/2 หมู่ 3 ถนนวิเศษ",
    "ship_subdistrict_code": "830107",
    "ship_postal_code": "83130",
}


def _market(db):
    rice_group = SellerFactory(name_th="วิสาหกิจชุมชนข้าวหอมมะลิอินทรีย์บ้านเขว้า")
    basket_group = SellerFactory(
        name_th="กลุ่มจักสานคลุ้มบ้านนาทอน", subdistrict_code="910602", postal_code="91120"
    )
    rice = ProductFactory(
        seller=rice_group,
        name_th="ข้าวหอมมะลิอินทรีย์ ถุง 5 กก.",
        name_en="Organic jasmine rice, 5 kg bag",
        unit_label="ถุง",
        price_satang=35000,
        weight_grams=5050,
        stock=50,
    )
    basket = ProductFactory(
        seller=basket_group,
        name_th="ตะกร้าสานคลุ้ม ใบกลาง",
        name_en="Khlum reed basket, medium",
        unit_label="ใบ",
        price_satang=45000,
        weight_grams=800,
        stock=10,
    )
    UserFactory(email="buyer@example.com", name="สมศรี ใจดี", **RAWAI)
    AdminFactory(email="admin@example.com", name="ผู้ดูแลตลาด")
    db.session.commit()
    return rice, basket


def _reported_order(db, product, reference):
    """Another buyer's order whose transfer reference is sent (for the admin on a phone)."""
    buyer = UserFactory(**RAWAI)
    db.session.commit()
    address = {
        "name": RAWAI["ship_name"],
        "phone": RAWAI["ship_phone"],
        "address_line": RAWAI["ship_address_line"],
        "subdistrict_code": RAWAI["ship_subdistrict_code"],
        "postal_code": RAWAI["ship_postal_code"],
    }
    order = orders.place_order(buyer, [(product.id, 1)], address=address)
    db.session.flush()
    orders.submit_transfer_reference(buyer, order, reference)
    db.session.commit()
    return order


def _search_and_add(page, live, words, product_name):
    """Search from the header, open the product found, add one to the cart."""
    page.fill("#header-q", words)
    page.press("#header-q", "Enter")
    page.wait_for_load_state()
    assert product_name in page.locator("main").inner_text()
    check_page(page, f"buyer-search-{product_name[:4]}")
    page.get_by_role("link", name=product_name).first.click()
    page.wait_for_load_state()
    check_page(page, f"buyer-product-{product_name[:4]}")
    page.click("form.buy button[type=submit]")
    page.wait_for_load_state()


def test_buyer_pays_two_sellers_by_transfer_on_a_phone_and_admins_confirm(app, db, live, browser):
    rice, basket = _market(db)

    # On a phone: the home page, a Thai search from the header, products of two sellers
    phone = new_page(browser, live)
    sign_in(phone, live, "buyer@example.com")
    phone.goto(live + "/")
    check_page(phone, "buyer-home")
    _search_and_add(phone, live, "ข้าวหอม", rice.name_th)
    _search_and_add(phone, live, "ตะกร้า", basket.name_th)
    phone.goto(live + "/cart")
    assert rice.name_th in phone.content() and basket.name_th in phone.content()
    check_page(phone, "buyer-cart")
    phone.click("main a[href='/checkout']")
    phone.wait_for_load_state()
    check_page(phone, "buyer-checkout")

    # The same pages on a computer (the cart is the account's)
    desk = new_page(browser, live, DESKTOP)
    sign_in(desk, live, "buyer@example.com")
    for name, path in (
        ("buyer-home", "/"),
        (f"buyer-search-{rice.name_th[:4]}", "/products?q=ข้าวหอม"),
        (f"buyer-product-{rice.name_th[:4]}", f"/products/{rice.id}"),
        ("buyer-cart", "/cart"),
        ("buyer-checkout", "/checkout"),
    ):
        desk.goto(live + path)
        check_page(desk, name)

    # Checks out paying by transfer: the order page starts with paying
    phone.select_option("select[name=payment_method]", "transfer")
    phone.click("button[name=action][value=place]")
    phone.wait_for_load_state()
    order = db.session.scalar(select(Order).order_by(Order.id.desc()))
    assert phone.url.endswith(f"/orders/{order.id}")
    assert len(order.shipments) == 2
    pay_box = phone.locator("#payment").bounding_box()
    assert pay_box["y"] < 400, pay_box  # first, not 1,450 px down
    check_page(phone, "buyer-order-pay")
    assert phone.locator(".badge.state-waiting").count() == 2  # parcels wait for the money

    # Saves the QR: a PNG download of this order's QR
    with phone.expect_download() as saving:
        phone.click("a.save-qr")
    download = saving.value
    assert download.suggested_filename == f"promptpay-{order.number}.png"
    with open(download.path(), "rb") as saved:
        assert saved.read(8) == b"\x89PNG\r\n\x1a\n"
    desk.goto(f"{live}/orders/{order.id}")
    check_page(desk, "buyer-order-pay")

    # An empty reference is refused at its field, in view
    phone.click("#pay-reference button[type=submit]")
    phone.wait_for_load_state()
    error = phone.locator("#pay-reference .error")
    assert error.is_visible() and error.inner_text().startswith("กรอกเลขอ้างอิง")
    assert 0 <= error.bounding_box()["y"] < 780  # on the screen, not at the page's bottom
    check_page(phone, "buyer-order-reference-refused")

    # Sends the reference: the page says the payment is being checked, with no form
    phone.fill("#pay-reference input[name=reference]", "KBANK 20261127-0042")
    phone.click("#pay-reference button[type=submit]")
    phone.wait_for_load_state()
    checking = phone.locator("#payment")
    assert "เรากำลังตรวจสอบการชำระเงินของคุณ" in checking.inner_text()
    assert "KBANK 20261127-0042" in checking.inner_text()
    assert phone.locator("#pay-reference").count() == 0
    assert phone.locator(".fix-reference input[name=reference]").is_hidden()
    check_page(phone, "buyer-order-checking")
    phone.goto(live + "/orders")
    assert "กำลังตรวจสอบการชำระเงิน" in phone.locator("main").inner_text()
    check_page(phone, "buyer-orders")
    for name, path in (
        ("buyer-order-checking", f"/orders/{order.id}"),
        ("buyer-orders", "/orders"),
    ):
        desk.goto(live + path)
        check_page(desk, name)

    # An admin on a computer confirms it from the overview
    other = _reported_order(db, basket, "SCB 7781")
    admin = new_page(browser, live, DESKTOP)
    admin.on("dialog", lambda dialog: dialog.accept())
    sign_in(admin, live, "admin@example.com")
    admin.goto(live + "/admin/")
    count = admin.locator("a[href='/admin/orders?waiting=payment'] .to-do-count")
    assert count.inner_text() == "2"
    check_page(admin, "admin-overview")
    mine = admin.locator(".reported", has_text="KBANK 20261127-0042")
    mine.locator("button[type=submit]").click()
    admin.wait_for_load_state()
    assert admin.url == f"{live}/admin/"
    assert count.inner_text() == "1"
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.PAID

    # … and an admin on a phone confirms the other one
    admin_phone = new_page(browser, live)
    admin_phone.on("dialog", lambda dialog: dialog.accept())
    sign_in(admin_phone, live, "admin@example.com")
    admin_phone.goto(live + "/admin/")
    check_page(admin_phone, "admin-overview")
    admin_phone.locator(".reported", has_text="SCB 7781").locator("button[type=submit]").click()
    admin_phone.wait_for_load_state()
    assert "ไม่มีงานรอคุณ" in admin_phone.locator("main").inner_text()
    check_page(admin_phone, "admin-overview-done")
    admin.reload()
    check_page(admin, "admin-overview-done")
    db.session.expire_all()
    assert db.session.get(Order, other.id).status == OrderStatus.PAID
    payments = db.session.scalars(select(Payment.status)).all()
    assert payments == [PaymentStatus.CONFIRMED, PaymentStatus.CONFIRMED]

    # The back office's order pages, on both screens
    for page in (admin_phone, admin):
        for name, path in (
            ("admin-orders", "/admin/orders"),
            ("admin-order", f"/admin/orders/{order.id}"),
            ("admin-users", "/admin/users"),
            ("admin-sellers", "/admin/sellers"),
            ("admin-categories", "/admin/categories"),
        ):
            page.goto(live + path)
            check_page(page, name)

    # The buyer sees the parcels being prepared
    phone.goto(f"{live}/orders/{order.id}")
    assert phone.locator(".badge.state-preparing").count() == 2
    check_page(phone, "buyer-order-paid")
