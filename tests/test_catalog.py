import io

import pytest
from PIL import Image
from sqlalchemy import event, func, select

from marketplace.catalog.models import Category, Product, ProductImage, ProductStatus
from marketplace.catalog.services import search_text_for
from marketplace.extensions import db as _db
from tests.conftest import statements_during
from tests.factories import (
    AdminFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerFactory,
    SellerMemberFactory,
    agreed_levy,
)
from tests.pages import field_errors


def product_count(db):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Product))


def product_fields(db, **changes):
    rice = db.session.scalar(select(Category).where(Category.slug == "rice-grains"))
    data = {
        "name_th": "ข้าวหอมมะลิอินทรีย์ 5 กก.",
        "name_en": "Organic jasmine rice 5 kg",
        "category_id": str(rice.id),
        "unit_label": "ถุง 5 กก.",
        "price": "350",
        "stock": "120",
        "weight_grams": "5050",
        "description": "สีใหม่ทุกสัปดาห์",
        "status": "active",
    }
    data.update(changes)
    return data


@pytest.fixture
def member(client, db):
    membership = SellerMemberFactory(user__email="member@example.com")
    db.session.commit()
    client.login("member@example.com")
    return membership.seller


def test_member_lists_a_product_with_the_price_in_satang(client, db, member):
    response = client.submit(
        f"/sellers/{member.id}/products/new", product_fields(db, price="1,234.50")
    )

    assert response.status_code == 302
    product = db.session.scalar(select(Product))
    assert (product.seller_id, product.price_satang, product.stock, product.weight_grams) == (
        member.id,
        123450,
        120,
        5050,
    )
    assert product.status == ProductStatus.ACTIVE
    assert "มะลิ" in product.search_text and "jasmine" in product.search_text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"price": "12.345"}, "price", "ไม่เกินสองตำแหน่ง"),
        ({"price": "0"}, "price", "ราคาต้องมากกว่าศูนย์"),
        ({"price": "-5"}, "price", "ราคาต้องมากกว่าศูนย์"),
        ({"price": "abc"}, "price", "กรอกราคาเป็นบาท"),
        ({"price": "1e3"}, "price", "กรอกราคาเป็นบาท"),
        ({"price": "999999999"}, "price", "฿100,000.00"),
        ({"price": ""}, "price", "กรุณากรอกช่องนี้"),
        ({"stock": "-1"}, "stock", "จำนวนคงเหลือ"),
        ({"stock": "1.5"}, "stock", "จำนวนคงเหลือ"),
        ({"stock": "99999999999"}, "stock", "จำนวนคงเหลือ"),
        ({"weight_grams": "0"}, "weight_grams", "กรัม"),
        ({"category_id": "999999"}, "category_id", "เลือกหมวดหมู่"),
        ({"category_id": "rice"}, "category_id", "เลือกหมวดหมู่"),
        ({"name_th": ""}, "name_th", "กรุณากรอกช่องนี้"),
        ({"unit_label": ""}, "unit_label", "กรุณากรอกช่องนี้"),
        ({"status": "sold"}, "status", "ตัวเลือกไม่ถูกต้อง"),
    ],
)
def test_bad_product_input_is_shown_on_its_field_and_writes_nothing(
    client, db, member, changes, field, message
):
    response = client.submit(f"/sellers/{member.id}/products/new", product_fields(db, **changes))

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    errors = field_errors(page, field)
    assert any(message in error for error in errors), errors
    if field in ("price", "stock", "weight_grams"):
        assert f'value="{changes[field]}"' in page  # shown again as typed
    assert product_count(db) == 0


def test_a_refused_edit_keeps_the_product_as_it_was(client, db, member):
    product = ProductFactory(seller=member, price_satang=35000, stock=7)
    db.session.commit()

    response = client.submit(
        f"/sellers/{member.id}/products/{product.id}/edit",
        product_fields(db, price="12.345", stock="3"),
    )

    assert response.status_code == 400
    db.session.refresh(product)
    assert (product.price_satang, product.stock) == (35000, 7)


def test_the_edit_form_shows_the_price_in_baht(client, db, member):
    product = ProductFactory(seller=member, price_satang=123450, weight_grams=5050)
    db.session.commit()

    page = client.get(f"/sellers/{member.id}/products/{product.id}/edit").get_data(as_text=True)

    assert 'value="1234.50"' in page and 'value="5050"' in page


def test_members_manage_only_their_own_sellers_products(client, db, member):
    other = ProductFactory(name_th="ของกลุ่มอื่น")
    db.session.commit()
    edit_other_directly = f"/sellers/{other.seller_id}/products/{other.id}/edit"
    edit_other_via_own_seller = f"/sellers/{member.id}/products/{other.id}/edit"

    assert client.get(f"/sellers/{other.seller_id}/products").status_code == 403
    assert client.get(edit_other_directly).status_code == 403
    assert client.get(edit_other_via_own_seller).status_code == 404
    response = client.submit(edit_other_via_own_seller, product_fields(db, name_th="ถูกแก้"))

    assert response.status_code == 404
    db.session.refresh(other)
    assert other.name_th == "ของกลุ่มอื่น"


def test_member_edits_own_product(client, db, member):
    product = ProductFactory(seller=member)
    db.session.commit()

    response = client.submit(
        f"/sellers/{member.id}/products/{product.id}/edit",
        product_fields(db, price="0.10", stock="0", status="archived"),
    )

    assert response.status_code == 302
    db.session.refresh(product)
    assert (product.price_satang, product.stock, product.status) == (10, 0, ProductStatus.ARCHIVED)


def jpeg_with_exif(size=(1600, 1200)):
    image = Image.new("RGB", size, (200, 160, 60))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {2: (13.0, 45.0, 0.0)}  # GPS
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def upload(client, member, product, data, name="photo.jpg"):
    """Add a photo the way the product form does: with the product's other fields, in one
    multipart POST."""
    fields = product_fields(_db, name_th=product.name_th, status=product.status.value)
    return client.submit(
        f"/sellers/{member.id}/products/{product.id}/edit",
        {**fields, "photos": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_uploaded_picture_is_resized_and_stripped_of_exif(app, client, db, member):
    product = ProductFactory(seller=member)
    db.session.commit()
    original = jpeg_with_exif()
    assert b"SecretCam" in original

    response = upload(client, member, product, original)

    assert response.status_code == 302
    image = db.session.scalar(select(ProductImage))
    with client.get(f"/uploads/products/{image.display_name}") as response:
        served = response.data
    with client.get(f"/uploads/products/{image.thumb_name}") as response:
        thumb = response.data
    assert b"SecretCam" not in served and b"SecretCam" not in thumb
    with Image.open(io.BytesIO(served)) as shown, Image.open(io.BytesIO(thumb)) as small:
        assert max(shown.size) == 1200 and max(small.size) == 400
        assert not shown.getexif()
    assert image.display_name != "photo.jpg" and len(image.display_name) > 30


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"this is not a picture at all", "photo.jpg"),
        (b"%PDF-1.4 fake", "doc.pdf"),
        (b"", "empty.jpg"),
    ],
)
def test_non_images_are_refused(client, db, member, data, name):
    product = ProductFactory(seller=member)
    db.session.commit()

    response = upload(client, member, product, data, name)

    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ProductImage)) == 0


def test_oversized_upload_is_refused(make_app, db):
    app = make_app(MAX_IMAGE_BYTES=50_000)
    member = SellerMemberFactory(user__email="member@example.com")
    product = ProductFactory(seller=member.seller)
    db.session.commit()
    client = app.test_client()
    client.login("member@example.com")

    response = upload(client, member.seller, product, jpeg_with_exif((3000, 3000)) + b"\0" * 60_000)

    assert response.status_code in (400, 413)
    assert db.session.scalar(select(func.count()).select_from(ProductImage)) == 0


def encoded(size, image_format, **options):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 160, 60)).save(buffer, image_format, **options)
    return buffer.getvalue()


def test_pictures_decode_within_the_pixel_budget(make_app, db):
    app = make_app(MAX_IMAGE_PIXELS=1_500_000)
    member = SellerMemberFactory(user__email="member@example.com")
    product = ProductFactory(seller=member.seller)
    db.session.commit()
    client = app.test_client()
    client.login("member@example.com")

    refused = {
        "PNG over the budget": encoded((1300, 1200), "PNG"),
        "progressive JPEG, decoded whole": encoded((2400, 2400), "JPEG", progressive=True),
    }
    for name, data in refused.items():
        response = upload(client, member.seller, product, data)
        assert response.status_code == 400, name
        errors = field_errors(response.get_data(as_text=True), "photos")
        assert any("1.5" in error for error in errors), name
    assert db.session.scalar(select(func.count()).select_from(ProductImage)) == 0

    # 5.76 million pixels, but a baseline JPEG decodes at half scale: 1200 × 1200.
    response = upload(client, member.seller, product, encoded((2400, 2400), "JPEG"))
    assert response.status_code == 302
    image = db.session.scalar(select(ProductImage))
    assert (image.width, image.height) == (1200, 1200)


def test_at_most_five_pictures(client, db, member):
    product = ProductFactory(seller=member)
    db.session.commit()
    small = jpeg_with_exif((50, 50))

    statuses = [upload(client, member, product, small).status_code for _ in range(6)]

    assert statuses == [302] * 5 + [400]
    assert db.session.scalar(select(func.count()).select_from(ProductImage)) == 5


def test_buyers_see_only_active_products_of_verified_sellers(client, db):
    shown = ProductFactory(name_th="ขายอยู่")
    draft = ProductFactory(name_th="ฉบับร่าง", status=ProductStatus.DRAFT)
    archived = ProductFactory(name_th="เลิกขาย", status=ProductStatus.ARCHIVED)
    hidden_seller = ProductFactory(name_th="ผู้ขายยังไม่ยืนยัน", seller__verified=False)
    db.session.commit()

    page = client.get("/products").get_data(as_text=True)

    assert "ขายอยู่" in page
    for name in ("ฉบับร่าง", "เลิกขาย", "ผู้ขายยังไม่ยืนยัน"):
        assert name not in page
    assert client.get(f"/products/{shown.id}").status_code == 200
    for product in (draft, archived, hidden_seller):
        assert client.get(f"/products/{product.id}").status_code == 404


def test_members_preview_their_draft(app, client, db, member):
    draft = ProductFactory(seller=member, name_th="ฉบับร่างของเรา", status=ProductStatus.DRAFT)
    db.session.commit()

    preview = client.get(f"/products/{draft.id}")

    assert preview.status_code == 200 and "ฉบับร่างของเรา" in preview.get_data(as_text=True)
    assert app.test_client().get(f"/products/{draft.id}").status_code == 404  # nobody else
    assert "ฉบับร่างของเรา" not in client.get("/products").get_data(as_text=True)


def test_thai_search_finds_a_word_inside_a_name(client, db, backend):
    ProductFactory(name_th="ข้าวหอมมะลิอินทรีย์", name_en="")
    ProductFactory(name_th="ตะกร้าสานคลุ้ม", name_en="Khlum basket")
    db.session.commit()

    found = client.get("/products?q=มะลิ").get_data(as_text=True)
    english = client.get("/products?q=BASKET").get_data(as_text=True)
    percent = client.get("/products?q=%25").get_data(as_text=True)

    assert "ข้าวหอมมะลิอินทรีย์" in found and "ตะกร้าสานคลุ้ม" not in found
    assert "ตะกร้าสานคลุ้ม" in english and "ข้าวหอมมะลิ" not in english
    assert "ข้าวหอม" not in percent  # a % is a character to look for, not a wildcard


def test_filters_by_province_region_category_and_seller(client, db):
    chaiyaphum = SellerFactory(subdistrict_code="360201", postal_code="36170")
    satun = SellerFactory(subdistrict_code="910602", postal_code="91120")
    woven = db.session.scalar(select(Category).where(Category.slug == "woven-handicraft"))
    ProductFactory(seller=chaiyaphum, name_th="ข้าวชัยภูมิ")
    ProductFactory(seller=satun, name_th="ตะกร้าสตูล", category=woven)
    db.session.commit()

    def names(query):
        page = client.get(f"/products?{query}").get_data(as_text=True)
        return {name for name in ("ข้าวชัยภูมิ", "ตะกร้าสตูล") if name in page}

    assert names("province=36") == {"ข้าวชัยภูมิ"}
    assert names("region=south") == {"ตะกร้าสตูล"}
    assert names("region=northeast") == {"ข้าวชัยภูมิ"}
    assert names("category=woven-handicraft") == {"ตะกร้าสตูล"}
    assert names(f"seller={satun.id}") == {"ตะกร้าสตูล"}
    assert names("province=10") == set()


def test_sort_and_pagination(client, db):
    for price in (300, 100, 200):
        ProductFactory(name_th=f"ราคา{price}", price_satang=price * 100)
    db.session.commit()

    cheap_first = client.get("/products?sort=price_asc").get_data(as_text=True)
    dear_first = client.get("/products?sort=price_desc").get_data(as_text=True)
    page_two = client.get("/products?sort=price_asc&per_page=2&page=2").get_data(as_text=True)

    assert (
        cheap_first.index("ราคา100") < cheap_first.index("ราคา200") < cheap_first.index("ราคา300")
    )
    assert dear_first.index("ราคา300") < dear_first.index("ราคา100")
    assert "ราคา300" in page_two and "ราคา100" not in page_two
    # the pager keeps the sort and the page size
    assert 'href="/products?sort=price_asc&amp;per_page=2&amp;page=1"' in page_two


@pytest.mark.parametrize(
    ("query", "listed"),
    [
        # Values that cannot be a filter are ignored: the whole catalog is listed.
        ("page=abc", True),
        ("page=-3", True),
        ("per_page=0", True),
        ("per_page=100000", True),
        ("province=xx", True),
        ("province=999", True),
        ("sort=DROP", True),
        ("seller=abc", True),
        # Filters that match nothing list nothing (and change nothing).
        ("region=%27%3B+DROP+TABLE+products", False),
        ("category=" + "x" * 500, False),
        ("q=" + "ก" * 5000, False),
    ],
)
def test_odd_catalog_queries_never_fail(client, db, query, listed):
    ProductFactory(name_th="ข้าวเหนียวเขี้ยวงู")
    db.session.commit()

    response = client.get(f"/products?{query}")

    assert response.status_code == 200
    assert ("ข้าวเหนียวเขี้ยวงู" in response.get_data(as_text=True)) is listed
    assert product_count(db) == 1


def test_catalog_page_runs_the_same_number_of_queries_for_5_and_50_products(app, client, db):
    sellers = [SellerFactory(subdistrict_code=code) for code in ("360201", "910602", "800304")]
    for n in range(50):
        product = ProductFactory(seller=sellers[n % 3])
        product.images.append(
            ProductImage(display_name=f"{n}.jpg", thumb_name=f"{n}-t.jpg", width=1, height=1)
        )
    db.session.commit()

    def statements(url):
        count = 0

        def counter(*args):
            nonlocal count
            count += 1

        engine = db.engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        return count

    few = statements("/products?per_page=5")
    many = statements("/products?per_page=50")
    home = statements("/")

    assert few == many
    assert few <= 8 and home <= 12


def test_search_text_covers_both_names_and_unit():
    text = search_text_for(
        {"name_th": "ตะกร้า", "name_en": "Basket", "unit_label": "ใบ", "description": "สานมือ"}
    )
    assert text == "ตะกร้า basket ใบ สานมือ"


def test_product_page_shows_origin(client, db):
    product = ProductFactory(seller__subdistrict_code="910602", seller__postal_code="91120")
    db.session.commit()

    page = client.get(f"/products/{product.id}").get_data(as_text=True)

    assert "ตำบลนาทอน อำเภอทุ่งหว้า จังหวัดสตูล" in page
    assert "฿100.00" in page


def test_picture_files_follow_the_transaction(app, db, member):
    from pathlib import Path

    from marketplace.catalog import services as catalog

    product = ProductFactory(seller=member)
    db.session.commit()
    folder = Path(app.config["UPLOAD_FOLDER"]) / "products"
    before = set(folder.glob("*")) if folder.exists() else set()
    user = member.members[0].user

    catalog.add_image(user, product, io.BytesIO(jpeg_with_exif((60, 40))))
    db.session.rollback()
    assert set(folder.glob("*")) == before  # the upload never landed: no files left behind

    image = catalog.add_image(user, product, io.BytesIO(jpeg_with_exif((60, 40))))
    db.session.commit()
    written = set(folder.glob("*")) - before
    assert len(written) == 2
    catalog.remove_image(user, product, image.id)
    db.session.rollback()
    assert written <= set(folder.glob("*"))  # removal undone: the files stay
    catalog.remove_image(user, product, image.id)
    db.session.commit()
    assert not (written & set(folder.glob("*")))


# The catalog cache: what every visitor sees, kept until a service changes it


@pytest.fixture
def cached_app(make_app):
    app = make_app(CACHE_TYPE="SimpleCache")
    with app.app_context():
        yield app
        _db.session.rollback()


def test_cached_catalog_shows_every_change_at_once(cached_app):
    membership = SellerMemberFactory(user__email="member@example.com")
    admin = AdminFactory(email="admin@example.com")
    rice = ProductFactory(seller=membership.seller, name_th="ข้าวหอมมะลิ", price_satang=35000)
    rice.stock = 10
    _db.session.commit()
    seller_id, product_id = membership.seller.id, rice.id
    member, visitor, boss = (cached_app.test_client() for _ in range(3))
    member.login("member@example.com")
    boss.login(admin.email)

    def listing():
        return visitor.get("/products").get_data(as_text=True)

    def served_from_the_cache():
        # The count, the cards and their levy badges are not read again: only stock is.
        return not any("count(" in s.lower() for s in statements_during(listing))

    assert "฿350.00" in listing() and "ข้าวหอมมะลิ" in listing()
    assert served_from_the_cache()

    # The seller edits the price and the name: the next visitor sees both.
    fields = product_fields(_db, name_th="ข้าวหอมมะลิใหม่", price="320", stock="10")
    member.submit(f"/sellers/{seller_id}/products/{product_id}/edit", fields)
    assert "฿320.00" in listing() and "ข้าวหอมมะลิใหม่" in listing()

    # Stock is never cached: sold out shows at once, however it happened.
    assert "สินค้าหมด" not in listing()
    _db.session.execute(Product.__table__.update().values(stock=0))
    _db.session.commit()
    assert "สินค้าหมด" in listing()

    # A new product is listed; a picture becomes its card's cover.
    member.submit(f"/sellers/{seller_id}/products/new", product_fields(_db, name_th="มังคุดคัดพิเศษ"))
    assert "มังคุดคัดพิเศษ" in listing() and "<img" not in listing()
    upload(member, membership.seller, rice, jpeg_with_exif((800, 600)))
    assert '<img src="/uploads/products/' in listing()

    # A levy agreed with a fund shows on the card at once, on the home page too; and goes
    # when the rule ends.
    treasurer = FundTreasurerFactory(user__email="treasurer@example.com")
    rule = agreed_levy(membership, treasurer, _db.session.get(Product, product_id))
    _db.session.commit()
    badge = "฿4.00"
    assert badge in listing() and badge in visitor.get("/").get_data(as_text=True)
    member.submit(f"/levy-rules/{rule.id}/end", {})
    assert badge not in listing() and badge not in visitor.get("/").get_data(as_text=True)

    # The admin withdraws the seller's verification: its products leave the catalog.
    boss.submit(f"/admin/sellers/{seller_id}/verify", {"verified": ""})
    assert "มังคุดคัดพิเศษ" not in listing() and "ข้าวหอมมะลิใหม่" not in listing()
    assert served_from_the_cache()  # and the cache is still in use after every change


def test_workers_sharing_a_redis_cache_see_each_others_changes(make_app, redis_url):
    """Each worker keeps the pages it rendered in memory too; a change made through another
    worker still shows at once, because every request reads the catalog version first."""
    import uuid

    shared = {
        "CACHE_TYPE": "RedisCache",
        "CACHE_REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": f"test-{uuid.uuid4().hex}:",
    }
    one, two = make_app(**shared), make_app(**shared)
    with one.app_context():
        membership = SellerMemberFactory(user__email="member@example.com")
        rice = ProductFactory(seller=membership.seller, name_th="ข้าวเหนียว", stock=5)
        _db.session.commit()
        seller_id, product_id = membership.seller_id, rice.id
    visitor, member = one.test_client(), two.test_client()
    for _ in range(2):  # rendered, then served from worker one's memory
        assert "ข้าวเหนียว" in visitor.get("/products?sort=price_asc").get_data(as_text=True)

    member.login("member@example.com")
    with two.app_context():
        fields = product_fields(_db, name_th="ข้าวเหนียวดำ", price="90", stock="5")
        member.submit(f"/sellers/{seller_id}/products/{product_id}/edit", fields)

    page = visitor.get("/products?sort=price_asc").get_data(as_text=True)
    assert "ข้าวเหนียวดำ" in page and "฿90.00" in page


def test_searches_and_made_up_filters_stay_out_of_the_shared_cache(cached_app):
    """Pages a visitor can make up are kept in the worker's memory only (bounded), never
    in the shared cache; and they change as soon as the catalog does."""
    membership = SellerMemberFactory(user__email="member@example.com")
    rice = ProductFactory(seller=membership.seller, name_th="ข้าวหอมมะลิ", stock=3)
    _db.session.commit()
    client, member = cached_app.test_client(), cached_app.test_client()
    member.login("member@example.com")
    urls = (
        "/products?q=มะลิ",
        "/products?category=no-such-thing",
        "/products?region=atlantis",
        "/products?page=6",
        "/products?per_page=13",
    )
    for url in urls:
        for _ in range(2):
            assert client.get(url).status_code == 200
    backend = next(iter(cached_app.extensions["cache"].values()))
    shared = [k for k in backend._cache if "browse:" in k or "query:" in k or "html:" in k]
    assert not [k for k in shared if any(made_up in k for made_up in ("atlantis", "no-such"))]
    assert not [k for k in shared if "query:" in k]

    def search():
        return client.get("/products?q=มะลิ").get_data(as_text=True)

    assert "ข้าวหอมมะลิ" in search() and "สินค้าหมด" not in search()
    rice.stock = 0  # stock is read fresh even for a page kept in memory
    _db.session.commit()
    assert "สินค้าหมด" in search()
    fields = product_fields(_db, name_th="ข้าวหอมมะลิแดง")
    member.submit(f"/sellers/{membership.seller_id}/products/new", fields)
    assert "ข้าวหอมมะลิแดง" in search() and "สินค้าหมด" in search()


def test_catalog_without_its_cache_still_answers(make_app):
    app = make_app(
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL="redis://127.0.0.1:9/0",  # nothing listens there
        CACHE_OPTIONS={"socket_timeout": 0.2, "socket_connect_timeout": 0.2},
    )
    with app.app_context():
        ProductFactory(name_th="ตะกร้าสาน")
        _db.session.commit()
    client = app.test_client()
    for _ in range(3):
        response = client.get("/products")
        assert response.status_code == 200
        assert "ตะกร้าสาน" in response.get_data(as_text=True)


def test_cached_catalog_page_runs_the_same_statements_for_8_and_24_products(cached_app):
    for n in range(50):
        product = ProductFactory()
        product.images.append(
            ProductImage(display_name=f"{n}.jpg", thumb_name=f"{n}-t.jpg", width=1, height=1)
        )
    _db.session.commit()
    client = cached_app.test_client()

    def statements(url):
        responses = []
        count = len(statements_during(lambda: responses.append(client.get(url))))
        assert responses[0].status_code == 200
        return count

    statements("/products?sort=price_asc")  # the filters' choices are cached from here on
    first = [statements(f"/products?per_page={n}") for n in (8, 24)]
    again = [statements(f"/products?per_page={n}") for n in (8, 24)]
    assert first[0] == first[1]
    # the count, the cards and their levy badges come from the cache; the stock never does
    assert again == [1, 1]
