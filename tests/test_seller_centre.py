"""The seller centre (orders to ship, products, levies and fees, the balance) and the product
form with its photos, through the pages a seller member uses."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from marketplace.catalog.models import Category, Product, ProductImage, ProductStatus
from marketplace.dbtypes import utcnow
from marketplace.extensions import db as _db
from marketplace.orders import services as orders
from marketplace.orders.models import DeliveryMethod, ShipmentStatus
from marketplace.outbox.models import OutboxMessage
from tests.factories import (
    AdminFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)
from tests.pages import field_errors

ADDRESS = {
    "name": "สมศรี ใจดี",
    "phone": "0812345678",
    "address_line": "45/2 หมู่ 3 ถนนวิเศษ",
    "subdistrict_code": "830107",
    "postal_code": "83130",
}


@pytest.fixture
def app(make_app, request):
    """The app, with the settings a test asks for (``@pytest.mark.parametrize("app", ...)``)."""
    return make_app(**getattr(request, "param", {}))


@pytest.fixture
def shop(db, client):
    """A rice group with a signed-in member, its fund levy, two products, a buyer, an admin."""
    member = SellerMemberFactory(
        user__email="member@example.com", seller__name_th="วิสาหกิจชุมชนข้าวบ้านเขว้า"
    )
    treasurer = FundTreasurerFactory(fund__name_th="กองทุนสวัสดิการชุมชนราไวย์")
    rice = ProductFactory(
        seller=member.seller, name_th="ข้าวหอมมะลิ 5 กก.", unit_label="ถุง", stock=50
    )
    seedling = ProductFactory(
        seller=member.seller, name_th="กล้ามังคุด", unit_label="ต้น", stock=20, weight_grams=800
    )
    agreed_levy(member, treasurer, rice)
    shop = {
        "seller": member.seller,
        "member": member.user,
        "fund": treasurer.fund,
        "rice": rice,
        "seedling": seedling,
        "buyer": UserFactory(email="buyer@example.com", name="สมศรี ใจดี"),
        "admin": AdminFactory(email="admin@example.com"),
    }
    db.session.commit()
    client.login("member@example.com")
    return shop


def buy(shop, lines, *, paid=True, pickup=False, paid_at=None):
    """An order of ``[(product, quantity)]``, its payment confirmed (and its levies routed,
    in-process, once committed) unless ``paid`` is false."""
    seller = shop["seller"]
    if pickup:
        seller.offers_pickup = True
    order = orders.place_order(
        shop["buyer"],
        [(product.id, quantity) for product, quantity in lines],
        address=ADDRESS,
        methods={seller.id: DeliveryMethod.PICKUP} if pickup else None,
    )
    if paid:
        orders.confirm_transfer(shop["admin"], order)
        if paid_at is not None:
            order.paid_at = paid_at
    _db.session.commit()
    return order


def centre_url(shop):
    return f"/sellers/{shop['seller'].id}/centre"


def ship_fields(shipment, carrier="thailand-post", tracking="EF123456789TH", other=""):
    prefix = f"ship{shipment.id}-"
    return {
        f"{prefix}carrier": carrier,
        f"{prefix}other_carrier": other,
        f"{prefix}tracking_number": tracking,
    }


def section(page, element_id):
    """The HTML of the section with this id."""
    found = re.search(rf'<section id="{element_id}".*?</section>', page, re.S)
    assert found, f"no section {element_id}"
    return found.group(0)


# Orders to ship


def test_the_centre_lists_paid_parcels_to_ship_oldest_first_with_what_to_pack(client, db, shop):
    newer = buy(shop, [(shop["rice"], 2), (shop["seedling"], 3)])
    older = buy(shop, [(shop["seedling"], 1)], paid_at=utcnow() - timedelta(days=2))
    unpaid = buy(shop, [(shop["rice"], 1)], paid=False)
    shipped = buy(shop, [(shop["rice"], 4)])
    orders.ship(shop["member"], shipped.shipments[0], carrier="Kerry Express", tracking_number="K1")
    db.session.commit()

    page = client.get(centre_url(shop)).get_data(as_text=True)

    to_ship = section(page, "to-ship")
    assert 'class="pill pill-alert">2<' in to_ship
    assert to_ship.index(older.number) < to_ship.index(newer.number)
    assert unpaid.number not in to_ship and shipped.number not in to_ship
    newer_card = to_ship[to_ship.index(newer.number) :]
    assert "ข้าวหอมมะลิ 5 กก." in newer_card and "2 ×" in newer_card and "3 ×" in newer_card
    assert "สมศรี ใจดี" in newer_card and "45/2 หมู่ 3 ถนนวิเศษ" in newer_card
    assert "83130" in newer_card and "ตำบลราไวย์" in newer_card
    for carrier in ("ไปรษณีย์ไทย", "Kerry Express", "Flash Express", "J&amp;T Express"):
        assert carrier in to_ship
    for carrier in ("Ninja Van", "SCG Express", "Best Express", "DHL eCommerce"):
        assert carrier in to_ship


def test_a_member_ships_a_parcel_with_a_carrier_from_the_list(client, db, shop):
    order = buy(shop, [(shop["rice"], 2)])
    shipment = order.shipments[0]

    response = client.submit(
        f"{centre_url(shop)}/shipments/{shipment.id}/ship",
        ship_fields(shipment, carrier="flash", tracking=" th 0123 4567 89a "),
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{centre_url(shop)}#to-ship")
    db.session.refresh(shipment)
    assert shipment.status == ShipmentStatus.SHIPPED
    assert (shipment.carrier, shipment.tracking_number) == ("Flash Express", "TH0123456789A")
    told = db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.task == "tasks.notifications.shipment_shipped")
    )
    assert told == 1
    page = client.get(centre_url(shop)).get_data(as_text=True)
    assert order.number not in section(page, "to-ship")
    assert f"{order.number} ถูกบันทึกว่าส่งแล้ว" in page  # the flash, in Thai


def test_thailand_post_is_kept_by_its_name_and_shown_in_thai(client, db, shop):
    order = buy(shop, [(shop["rice"], 1)])
    shipment = order.shipments[0]

    client.submit(f"{centre_url(shop)}/shipments/{shipment.id}/ship", ship_fields(shipment))

    db.session.refresh(shipment)
    assert shipment.carrier == "Thailand Post"
    shipments = client.get(f"/sellers/{shop['seller'].id}/shipments").get_data(as_text=True)
    assert "ไปรษณีย์ไทย EF123456789TH" in shipments


def test_another_carrier_is_kept_by_the_name_typed(client, db, shop):
    order = buy(shop, [(shop["rice"], 1)])
    shipment = order.shipments[0]

    response = client.submit(
        f"{centre_url(shop)}/shipments/{shipment.id}/ship",
        ship_fields(shipment, carrier="other", other="  ขนส่งชุมชนบ้านเขว้า ", tracking="BK-77"),
    )

    assert response.status_code == 303
    db.session.refresh(shipment)
    assert (shipment.carrier, shipment.tracking_number) == ("ขนส่งชุมชนบ้านเขว้า", "BK-77")


def test_a_ship_form_with_problems_shows_them_on_its_parcel_and_ships_nothing(client, db, shop):
    first = buy(shop, [(shop["rice"], 1)]).shipments[0]
    second = buy(shop, [(shop["seedling"], 1)]).shipments[0]

    response = client.submit(
        f"{centre_url(shop)}/shipments/{second.id}/ship",
        ship_fields(second, carrier="other", other="", tracking="  "),
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    prefix = f"ship{second.id}-"
    assert field_errors(page, f"{prefix}other_carrier") == ["เขียนชื่อบริษัทขนส่ง"]
    assert field_errors(page, f"{prefix}tracking_number") == ["กรอกหมายเลขพัสดุจากใบรับของบริษัทขนส่ง"]
    assert field_errors(page, f"ship{first.id}-tracking_number") == []  # the other parcel
    assert '<option selected value="other">' in page  # the choice is kept
    for shipment in (first, second):
        db.session.refresh(shipment)
        assert shipment.status == ShipmentStatus.PREPARING


def test_a_pickup_is_handed_over_instead_of_shipped(client, db, shop):
    order = buy(shop, [(shop["seedling"], 2)], pickup=True)
    shipment = order.shipments[0]

    page = client.get(centre_url(shop)).get_data(as_text=True)
    card = section(page, "to-ship")
    assert "ส่งมอบให้ผู้ซื้อแล้ว" in card and f"ship{shipment.id}-carrier" not in card

    response = client.submit(f"{centre_url(shop)}/shipments/{shipment.id}/handed-over", {})

    assert response.status_code == 303
    db.session.refresh(shipment)
    assert shipment.status == ShipmentStatus.DELIVERED


def test_shipping_twice_leaves_the_first_and_says_why(client, db, shop):
    order = buy(shop, [(shop["rice"], 1)])
    shipment = order.shipments[0]
    url = f"{centre_url(shop)}/shipments/{shipment.id}/ship"

    client.submit(url, ship_fields(shipment, tracking="EF1"))
    again = client.submit(url, ship_fields(shipment, carrier="kerry", tracking="K2"))

    assert again.status_code == 303
    db.session.refresh(shipment)
    assert (shipment.carrier, shipment.tracking_number) == ("Thailand Post", "EF1")
    assert "flash-error" in client.get(centre_url(shop)).get_data(as_text=True)


# Products: stock and status


def stock_rows(page):
    """``{product id: {field: value}}`` of the centre's product lines, as the page shows them."""
    rows = {}
    for index, product_id in re.findall(r'name="rows-(\d+)-product_id"[^>]*value="(\d+)"', page):
        values = dict(re.findall(rf'name="rows-{index}-(\w+)"[^>]*value="([^"]*)"', page))
        status = re.search(
            rf'name="rows-{index}-status".*?<option selected value="(\w+)"', page, re.S
        )
        values["status"] = status.group(1) if status else None
        rows[int(product_id)] = {"index": index, **values}
    return rows


def stock_form(page, changes=None):
    """The centre's product form as the page holds it, with ``changes`` ({id: {field: v}})."""
    data = {}
    for product_id, row in stock_rows(page).items():
        values = {**row, **(changes or {}).get(product_id, {})}
        for name in ("product_id", "shown_stock", "shown_status", "stock", "status"):
            data[f"rows-{row['index']}-{name}"] = values[name]
    return data


def test_stock_and_status_of_several_products_are_saved_together(client, db, shop):
    rice, seedling = shop["rice"], shop["seedling"]
    page = client.get(centre_url(shop)).get_data(as_text=True)

    response = client.submit(
        f"{centre_url(shop)}/products",
        stock_form(page, {rice.id: {"stock": "75"}, seedling.id: {"status": "draft"}}),
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith("#products")
    db.session.refresh(rice)
    db.session.refresh(seedling)
    assert (rice.stock, rice.status) == (75, ProductStatus.ACTIVE)
    assert (seedling.stock, seedling.status) == (20, ProductStatus.DRAFT)


def test_a_line_left_as_shown_keeps_what_orders_did_to_the_stock_meanwhile(client, db, shop):
    rice, seedling = shop["rice"], shop["seedling"]
    page = client.get(centre_url(shop)).get_data(as_text=True)
    buy(shop, [(rice, 3)])  # a buyer takes 3 bags while the page is open

    client.submit(f"{centre_url(shop)}/products", stock_form(page, {seedling.id: {"stock": "9"}}))

    db.session.refresh(rice)
    db.session.refresh(seedling)
    assert (rice.stock, seedling.stock) == (47, 9)


def test_bad_stock_is_shown_on_its_line_and_nothing_is_saved(client, db, shop):
    rice, seedling = shop["rice"], shop["seedling"]
    page = client.get(centre_url(shop)).get_data(as_text=True)
    rows = stock_rows(page)

    response = client.submit(
        f"{centre_url(shop)}/products",
        stock_form(page, {rice.id: {"stock": "-3"}, seedling.id: {"stock": "5"}}),
    )

    assert response.status_code == 400
    shown = response.get_data(as_text=True)
    assert field_errors(shown, f"rows-{rows[rice.id]['index']}-stock") == [
        "จำนวนคงเหลือต้องเป็นจำนวนเต็มตั้งแต่ 0"
    ]
    assert 'value="-3"' in shown  # as typed
    db.session.refresh(rice)
    db.session.refresh(seedling)
    assert (rice.stock, seedling.stock) == (50, 20)


def test_another_sellers_product_cannot_be_slipped_into_the_stock_form(client, db, shop):
    theirs = ProductFactory(stock=8)
    db.session.commit()
    page = client.get(centre_url(shop)).get_data(as_text=True)
    data = stock_form(page)
    data.update(
        {
            "rows-9-product_id": str(theirs.id),
            "rows-9-shown_stock": "8",
            "rows-9-shown_status": "active",
            "rows-9-stock": "0",
            "rows-9-status": "active",
        }
    )

    response = client.submit(f"{centre_url(shop)}/products", data)

    assert response.status_code == 404
    db.session.refresh(theirs)
    assert theirs.stock == 8


# Who sees the centre


def test_only_members_and_admins_reach_the_centre(app, client, db, shop):
    other = SellerMemberFactory(user__email="other@example.com")
    order = buy(shop, [(shop["rice"], 1)])
    shipment = order.shipments[0]
    db.session.commit()
    anonymous = app.test_client()
    outsider = app.test_client()
    outsider.login("other@example.com")
    admin = app.test_client()
    admin.login("admin@example.com")

    assert anonymous.get(centre_url(shop)).status_code == 302  # to sign in
    assert outsider.get(centre_url(shop)).status_code == 403
    assert admin.get(centre_url(shop)).status_code == 200
    assert client.get("/sellers/999999/centre").status_code == 403
    refused = outsider.submit(
        f"{centre_url(shop)}/shipments/{shipment.id}/ship", ship_fields(shipment)
    )
    assert refused.status_code == 403
    # A member reaching another seller's parcel through their own seller: not found.
    sneaky = client.submit(
        f"/sellers/{shop['seller'].id}/centre/shipments/{shipment.id + 1000}/ship",
        ship_fields(shipment),
    )
    assert sneaky.status_code == 404
    own = outsider.get(f"/sellers/{other.seller_id}/centre")
    assert own.status_code == 200 and order.number not in own.get_data(as_text=True)
    db.session.refresh(shipment)
    assert shipment.status == ShipmentStatus.PREPARING


def test_the_public_page_gives_members_the_way_into_the_centre(app, client, db, shop):
    public = f"/sellers/{shop['seller'].id}"

    member_page = client.get(public).get_data(as_text=True)
    buyer_page = app.test_client().get(public).get_data(as_text=True)

    assert f'href="{centre_url(shop)}"' in member_page
    assert "/centre" not in buyer_page and "/statement" not in buyer_page


# Money


@pytest.mark.parametrize("app", [{"PLATFORM_FEE_BPS": 250}], indirect=True, ids=["fee"])
def test_the_centre_shows_levies_fees_and_the_balance_of_recent_sales(client, db, shop):
    buy(shop, [(shop["rice"], 10)])  # ฿4 a bag to the fund, 2.5% of ฿1,000 to the platform

    page = client.get(centre_url(shop)).get_data(as_text=True)

    money = section(page, "money")
    assert "กองทุนสวัสดิการชุมชนราไวย์" in money
    assert "฿40.00" in money  # the levy
    assert "฿25.00" in money  # the platform fee
    assert "฿65.00" in money  # taken in all
    pending = re.search(r"<span>รอดำเนินการ</span><strong>([^<]+)</strong>", money)
    assert pending and pending.group(1) != "฿0.00"
    assert f'href="/sellers/{shop["seller"].id}/statement"' in money


# The product form


def jpeg(size=(120, 90), colour=(200, 160, 60)):
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    Image.new("RGB", size, colour).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def product_fields(**changes):
    rice = _db.session.scalar(select(Category).where(Category.slug == "rice-grains"))
    fields = {
        "name_th": "ข้าวไรซ์เบอร์รี่ 1 กก.",
        "name_en": "Riceberry rice 1 kg",
        "category_id": str(rice.id),
        "unit_label": "ถุง 1 กก.",
        "price": "120",
        "stock": "40",
        "weight_grams": "1020",
        "description": "",
        "status": "active",
    }
    fields.update(changes)
    return fields


def post_product(client, url, fields, *photos):
    data = dict(fields)
    if photos:
        data["photos"] = [(io.BytesIO(content), name) for name, content in photos]
    return client.submit(url, data, content_type="multipart/form-data")


def uploaded_files(app):
    folder = Path(app.config["UPLOAD_FOLDER"]) / "products"
    return set(folder.glob("*")) if folder.exists() else set()


def test_a_new_product_of_a_verified_seller_is_on_sale_by_default(client, db, shop):
    page = client.get(f"/sellers/{shop['seller'].id}/products/new").get_data(as_text=True)

    assert re.search(
        r'<input checked id="status-0" name="status"[^>]*type="radio" value="active">', page
    )
    assert 'enctype="multipart/form-data"' in page
    assert re.search(
        r'<input[^>]*type="file"[^>]*accept="image/\*"[^>]*capture="environment"', page
    )
    assert re.search(r'<input[^>]*accept="image/\*"[^>]*multiple[^>]*name="photos"', page)


def test_an_unverified_sellers_new_product_starts_as_a_draft(client, db, shop):
    shop["seller"].verified = False
    db.session.commit()

    page = client.get(f"/sellers/{shop['seller'].id}/products/new").get_data(as_text=True)

    assert re.search(
        r'<input checked id="status-1" name="status"[^>]*type="radio" value="draft">', page
    )


def test_a_product_is_added_with_its_photos_in_one_post(app, client, db, shop):
    before = uploaded_files(app)

    response = post_product(
        client,
        f"/sellers/{shop['seller'].id}/products/new",
        product_fields(),
        ("front.jpg", jpeg()),
        ("back.jpg", jpeg(colour=(20, 90, 40))),
    )

    assert response.status_code == 302
    product = db.session.scalar(select(Product).where(Product.name_th == "ข้าวไรซ์เบอร์รี่ 1 กก."))
    assert response.headers["Location"].endswith(f"/centre#product-{product.id}")
    assert (product.status, product.price_satang, product.stock) == (
        ProductStatus.ACTIVE,
        12000,
        40,
    )
    assert len(product.images) == 2
    written = uploaded_files(app) - before
    assert len(written) == 4  # two sizes each
    assert all(b"SecretCam" not in path.read_bytes() for path in written)
    centre = client.get(centre_url(shop)).get_data(as_text=True)
    assert f'id="product-{product.id}"' in centre and product.images[0].thumb_name in centre
    assert client.get(f"/products/{product.id}").status_code == 200


def test_a_draft_is_kept_hidden_when_the_seller_chooses_it(app, client, db, shop):
    response = post_product(
        client, f"/sellers/{shop['seller'].id}/products/new", product_fields(status="draft")
    )

    assert response.status_code == 302
    product = db.session.scalar(select(Product).where(Product.name_th == "ข้าวไรซ์เบอร์รี่ 1 กก."))
    assert product.status == ProductStatus.DRAFT
    assert app.test_client().get(f"/products/{product.id}").status_code == 404


def test_every_problem_is_shown_at_once_and_nothing_is_written(app, client, db, shop):
    before_files = uploaded_files(app)
    before = db.session.scalar(select(func.count()).select_from(Product))

    response = post_product(
        client,
        f"/sellers/{shop['seller'].id}/products/new",
        product_fields(
            name_th="",
            category_id="999999",
            price="-5",
            stock="หนึ่ง",
            weight_grams="",
            **{"price_tiers-0-min_quantity": "1", "price_tiers-0-price": "100"},
        ),
        ("notes.jpg", b"this is not a picture"),
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    expected = {
        "name_th": "กรุณากรอกช่องนี้",
        "category_id": "เลือกหมวดหมู่",
        "price": "ราคาต้องมากกว่าศูนย์",
        "stock": "จำนวนคงเหลือ",
        "weight_grams": "กรุณากรอกช่องนี้",
        "price_tiers-0-min_quantity": "ตั้งแต่ 2 หน่วยขึ้นไป",
        "photos": "notes.jpg",
    }
    for name, message in expected.items():
        errors = field_errors(page, name)
        assert any(message in error for error in errors), (name, errors)
    assert "ทศนิยม" not in " ".join(field_errors(page, "price"))  # not "two decimals"
    assert "เลือกรูปใหม่อีกครั้ง" in page  # the photos are asked for again
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Product)) == before
    assert db.session.scalar(select(func.count()).select_from(ProductImage)) == 0
    assert uploaded_files(app) == before_files


def test_a_photo_refused_after_the_fields_passed_keeps_nothing(app, client, db, shop):
    before_files = uploaded_files(app)
    truncated = jpeg((600, 400))[:400]  # a JPEG header, then nothing

    response = post_product(
        client,
        f"/sellers/{shop['seller'].id}/products/new",
        product_fields(),
        ("good.jpg", jpeg()),
        ("broken.jpg", truncated),
    )

    assert response.status_code == 400
    assert any(
        "broken.jpg" in error for error in field_errors(response.get_data(as_text=True), "photos")
    )
    db.session.rollback()
    assert db.session.scalar(select(Product).where(Product.name_th == "ข้าวไรซ์เบอร์รี่ 1 กก.")) is None
    assert uploaded_files(app) == before_files  # the good one's files went with the rollback


def test_editing_removes_and_adds_photos_with_the_other_changes(app, client, db, shop):
    rice = shop["rice"]
    url = f"/sellers/{shop['seller'].id}/products/{rice.id}/edit"
    post_product(client, url, product_fields(name_th=rice.name_th), ("a.jpg", jpeg()))
    db.session.refresh(rice)
    old_id, old_name = rice.images[0].id, rice.images[0].display_name

    response = post_product(
        client,
        url,
        {**product_fields(name_th=rice.name_th, stock="33"), "remove_image": str(old_id)},
        ("b.jpg", jpeg(colour=(10, 10, 200))),
    )

    assert response.status_code == 302
    db.session.expire_all()
    rice = db.session.get(Product, rice.id)
    assert rice.stock == 33
    assert [image.display_name for image in rice.images] != [old_name] and len(rice.images) == 1
    assert not (Path(app.config["UPLOAD_FOLDER"]) / "products" / old_name).exists()


def test_too_many_photos_are_refused_with_the_other_errors(client, db, shop):
    rice = shop["rice"]
    url = f"/sellers/{shop['seller'].id}/products/{rice.id}/edit"
    photos = [(f"p{n}.jpg", jpeg()) for n in range(6)]

    response = post_product(client, url, product_fields(name_th=rice.name_th, price="0"), *photos)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert any("ไม่เกิน 5 รูป" in error for error in field_errors(page, "photos"))
    assert field_errors(page, "price") == ["ราคาต้องมากกว่าศูนย์"]
    assert db.session.scalar(select(func.count()).select_from(ProductImage)) == 0
