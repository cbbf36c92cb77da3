"""The seller's side in a real browser (tests/browser_kit.py): a seller member on a 360 px
phone opens the seller centre, adds a product with a photo, sees it on sale, and ships a
paid order with a carrier from the list; each page checked at 360 px and 1280 px."""

import re

from PIL import Image
from sqlalchemy import select

from marketplace.catalog.models import Product, ProductStatus
from marketplace.orders import services as orders
from marketplace.orders.models import ShipmentStatus
from tests.browser_kit import DESKTOP, check_page, new_page, sign_in
from tests.factories import AdminFactory, ProductFactory, SellerMemberFactory, UserFactory

ADDRESS = {
    "name": "สมศรี ใจดี",
    "phone": "0812345678",
    "address_line": "45/2 หมู่ 3 ถนนวิเศษ",
    "subdistrict_code": "830107",
    "postal_code": "83130",
}


def a_photo(folder):
    """A small JPEG, as a phone's camera would leave one (with its maker in the EXIF)."""
    path = folder / "rice.jpg"
    exif = Image.Exif()
    exif[0x010F] = "PhoneCam"
    Image.new("RGB", (640, 480), (188, 150, 72)).save(path, "JPEG", exif=exif.tobytes())
    return path


def test_a_member_adds_a_product_with_a_photo_and_ships_an_order_on_a_phone(
    app, db, live, browser, tmp_path
):
    member = SellerMemberFactory(
        user__email="seller@example.com",
        user__name="บุญมี ขยันดี",
        seller__name_th="วิสาหกิจชุมชนข้าวอินทรีย์บ้านเขว้า",
    )
    rice = ProductFactory(
        seller=member.seller, name_th="ข้าวหอมมะลิ 5 กก.", unit_label="ถุง", stock=40
    )
    buyer = UserFactory(email="buyer@example.com", name="สมศรี ใจดี")
    admin = AdminFactory(email="admin@example.com")
    db.session.flush()
    order = orders.place_order(buyer, [(rice.id, 2)], address=ADDRESS)
    orders.confirm_transfer(admin, order)
    db.session.commit()
    seller_id, shipment_id, number = member.seller_id, order.shipments[0].id, order.number
    photo = a_photo(tmp_path)

    # From the public page to the seller centre: the order waits at the top
    page = new_page(browser, live)
    sign_in(page, live, "seller@example.com")
    page.goto(f"{live}/sellers/{seller_id}")
    page.click(f"main a[href='/sellers/{seller_id}/centre']")
    page.wait_for_url(re.compile(r"/centre$"))
    to_ship = page.locator("#to-ship")
    assert number in to_ship.inner_text() and "2 ×" in to_ship.inner_text()
    check_page(page, "seller-centre")

    # Add a product with a photo from the phone
    page.click(f"main a[href='/sellers/{seller_id}/products/new']")
    page.wait_for_load_state()
    assert page.is_checked("input[name=status][value=active]")  # on sale by default
    check_page(page, "seller-product-new")
    page.fill("input[name=name_th]", "ข้าวไรซ์เบอร์รี่อินทรีย์ 1 กก.")
    page.select_option("select[name=category_id]", label="ข้าวและธัญพืช")
    page.fill("input[name=unit_label]", "ถุง 1 กก.")
    page.fill("input[name=price]", "120")
    page.fill("input[name=stock]", "30")
    page.fill("input[name=weight_grams]", "1020")
    page.set_input_files("#photos", str(photo))
    page.locator(".photo-previews li").first.wait_for()
    assert "rice.jpg" in page.locator(".photo-previews").inner_text()
    check_page(page, "seller-product-photo-chosen")
    page.click("form.product-form button[type=submit]")
    page.wait_for_url(re.compile(r"/centre#product-\d+$"))

    product = db.session.scalar(select(Product).where(Product.name_th.startswith("ข้าวไรซ์")))
    assert product.status == ProductStatus.ACTIVE and len(product.images) == 1
    line = page.locator(f"#product-{product.id}")
    assert line.locator("img.stock-thumb").count() == 1
    assert line.locator("select").input_value() == "active"
    assert "วางขายสินค้าแล้ว" in page.locator(".flash-success").inner_text()
    check_page(page, "seller-centre-product-added")

    # Ship the paid order with a carrier from the list and a tracking number
    parcel = page.locator(f"#shipment-{shipment_id}")
    parcel.locator("select").select_option("kerry")
    parcel.locator("input[name$=tracking_number]").fill("KEX 1234 5678")
    parcel.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/centre#to-ship$"))
    assert "ส่งแล้ว" in page.locator(".flash-success").inner_text()
    assert page.locator(f"#shipment-{shipment_id}").count() == 0
    check_page(page, "seller-centre-shipped")
    shipment = order.shipments[0]
    db.session.refresh(shipment)
    assert shipment.status == ShipmentStatus.SHIPPED
    assert (shipment.carrier, shipment.tracking_number) == ("Kerry Express", "KEX12345678")

    # The buyers' product page shows it on sale
    page.goto(f"{live}/products/{product.id}")
    assert "ข้าวไรซ์เบอร์รี่อินทรีย์ 1 กก." in page.locator("h1").inner_text()
    page.context.close()

    # The same pages on a desktop screen
    desktop = new_page(browser, live, DESKTOP)
    sign_in(desktop, live, "seller@example.com")
    desktop.goto(f"{live}/sellers/{seller_id}/centre")
    check_page(desktop, "seller-centre")
    desktop.goto(f"{live}/sellers/{seller_id}/products/new")
    check_page(desktop, "seller-product-new")
    desktop.goto(f"{live}/sellers/{seller_id}/products/{product.id}/edit")
    assert desktop.locator(".photo-list img").count() == 1
    check_page(desktop, "seller-product-edit")
    desktop.goto(f"{live}/sellers/{seller_id}/shipments")
    check_page(desktop, "seller-shipments")
    desktop.context.close()


def test_every_problem_shows_at_once_on_a_phone(app, db, live, browser):
    member = SellerMemberFactory(user__email="seller@example.com")
    db.session.commit()
    page = new_page(browser, live)
    sign_in(page, live, "seller@example.com")
    page.goto(f"{live}/sellers/{member.seller_id}/products/new")

    page.fill("input[name=price]", "-5")
    page.click("form.product-form button[type=submit]")
    page.wait_for_load_state()

    errors = page.locator(".field .error").all_inner_texts()
    assert "ราคาต้องมากกว่าศูนย์" in errors
    assert len(errors) >= 5  # name, category, unit, price, stock, weight: all at once
    check_page(page, "seller-product-errors")
