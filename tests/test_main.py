import re

from sqlalchemy import select

from marketplace.icons import icon
from marketplace.sellers.models import Seller
from tests.factories import FundFactory, SellerFactory, UserFactory


def test_home_lists_verified_sellers_and_funds_only(client, db):
    SellerFactory(name_th="วิสาหกิจชุมชนข้าวหอมมะลิทดสอบ")
    SellerFactory(name_th="กลุ่มที่ยังไม่ได้ยืนยัน", verified=False)
    FundFactory(name_th="กองทุนสวัสดิการชุมชนตำบลทดสอบ")
    db.session.commit()

    page = client.get("/").get_data(as_text=True)

    assert "วิสาหกิจชุมชนข้าวหอมมะลิทดสอบ" in page
    assert "ชัยภูมิ" in page  # the seller's province
    assert "กองทุนสวัสดิการชุมชนตำบลทดสอบ" in page
    assert "กลุ่มที่ยังไม่ได้ยืนยัน" not in page


def test_pages_credit_geothai(client):
    assert "GeoThai" in client.get("/").get_data(as_text=True)
    assert "CC BY 4.0" in client.get("/about").get_data(as_text=True)


def test_the_header_and_bottom_bar_icons_are_drawn_inline_and_hidden_from_screen_readers(
    client,
):
    page = client.get("/").get_data(as_text=True)
    icons = re.findall(r"<svg class=\"icon\"[^>]*>.*?</svg>", page)
    assert len(icons) >= 8  # search, cart, menu; home, products, group orders, cart, orders
    assert all('aria-hidden="true" focusable="false"' in drawn for drawn in icons)
    assert all("<path" in drawn or "<circle" in drawn for drawn in icons)
    # Each control around an icon is named by its text, not by the picture.
    assert 'aria-label="ค้นหา">' + str(icon("search")) + "</button>" in page


def test_an_icon_with_a_label_is_an_image_named_for_screen_readers():
    named = str(icon("cart", 'ตะกร้า "2" <ชิ้น>'))
    assert 'role="img" aria-label="ตะกร้า &#34;2&#34; &lt;ชิ้น&gt;"' in named
    assert "aria-hidden" not in named
    assert str(icon("nope")).endswith('focusable="false"></svg>')  # an unknown name: a frame


def test_huge_ids_are_not_found_not_errors(client, db):
    huge = "99999999999999999999"
    for url in (f"/sellers/{huge}", f"/funds/{huge}", f"/products/{huge}"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/orders/{huge}").status_code == 302  # sign in first
    UserFactory(email="buyer@example.com")
    db.session.commit()
    client.login("buyer@example.com")
    assert client.get(f"/orders/{huge}").status_code == 404


def test_nul_bytes_are_refused_before_the_database(client):
    token = client.csrf_token()
    assert client.get("/products?q=%00").status_code == 400
    assert client.get("/geo/districts/%00/subdistricts").status_code == 400
    login = client.post("/login", data={"csrf_token": token, "email": "a\x00@b.c", "password": "x"})
    assert login.status_code == 400


def language_return(page):
    import re

    return re.search(r'action="/language/\w+\?next=([^"]*)"', page.get_data(as_text=True)).group(1)


def test_language_switch_after_a_refused_post_lands_on_a_page(client, db):
    from tests.factories import UserFactory

    UserFactory(email="buyer@example.com")
    db.session.commit()
    token = client.csrf_token()

    refused_login = client.post("/login", data={"csrf_token": token, "email": "", "password": ""})
    assert language_return(refused_login) == "/login"  # /login answers GET too
    client.login("buyer@example.com")
    refused_profile = client.submit("/account/profile", {"name": "", "language": "th"})
    assert refused_profile.status_code == 400
    assert language_return(refused_profile) == "/"  # POST-only: back to the home page
    assert language_return(client.get("/products?q=x")) == "/products?q%3Dx"


def web_form_urls(app):
    """Every URL of the web pages that takes a POST (ids 1, which need not exist)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule.startswith(("/api/", "/webhooks/")):
            continue
        values = {name: "en" if name == "lang" else 1 for name in rule.arguments}
        urls.append(app.url_map.bind("localhost").build(rule.endpoint, values))
    return urls


def test_a_body_too_large_gets_413_on_every_web_form(make_app, db):
    from io import BytesIO

    from tests.factories import UserFactory

    app = make_app(MAX_CONTENT_LENGTH=20_000, MAX_FORM_MEMORY_SIZE=5_000)
    UserFactory(email="buyer@example.com")
    db.session.commit()
    anonymous = app.test_client()
    signed_in = app.test_client()
    signed_in.login("buyer@example.com")
    urls = web_form_urls(app)
    assert "/login" in urls and "/sellers/1/products/1/edit" in urls  # photos go with it

    for client in (anonymous, signed_in):
        token = client.csrf_token()
        for url in urls:
            upload = {"csrf_token": token, "image": (BytesIO(b"\xff" * 30_000), "big.jpg")}
            response = client.post(url, data=upload, content_type="multipart/form-data")
            assert response.status_code == 413, url
            assert "<h1>413</h1>" in response.get_data(as_text=True), url
            # Within the body limit, but one text field over the form memory limit.
            response = client.post(url, data={"csrf_token": token, "description": "ก" * 6_000})
            assert response.status_code == 413, url


# No page lists an unbounded number of sellers or funds.


def _statements(db, client, url):
    from sqlalchemy import event

    count = 0

    def counter(*args):
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    assert response.status_code == 200
    return count, response.get_data(as_text=True)


def test_home_shows_a_few_sellers_and_funds_with_links_to_all(client, db):
    for n in range(30):
        SellerFactory(name_th=f"กลุ่มผู้ผลิต {n:02d}")
    for n in range(8):
        FundFactory(name_th=f"กองทุนสวัสดิการ {n:02d}")
    db.session.commit()

    statements, page = _statements(db, client, "/")

    assert page.count("กลุ่มผู้ผลิต ") == 6 and page.count("กองทุนสวัสดิการ ") == 6
    assert 'href="/sellers"' in page and "ผู้ขายทั้งหมด 30 ราย" in page
    assert 'href="/funds"' in page and "กองทุนทั้งหมด 8 กองทุน" in page
    # As many statements with 30 sellers as with 3.
    for _ in range(27):
        db.session.delete(db.session.scalars(select(Seller).limit(1)).one())
    db.session.commit()
    assert _statements(db, client, "/")[0] == statements


def test_sellers_and_funds_are_listed_a_page_at_a_time(client, db):
    for n in range(30):
        SellerFactory(name_th=f"กลุ่มผู้ผลิต {n:02d}")
    SellerFactory(name_th="กลุ่มที่ยังไม่ได้ยืนยัน", verified=False)
    FundFactory(name_th="กองทุนสวัสดิการ 00")
    db.session.commit()

    first_count, first = _statements(db, client, "/sellers")
    second_count, second = _statements(db, client, "/sellers?page=2")

    assert first.count("กลุ่มผู้ผลิต ") == 24 and "กลุ่มผู้ผลิต 00" in first
    assert second.count("กลุ่มผู้ผลิต ") == 6 and "กลุ่มผู้ผลิต 29" in second
    assert "กลุ่มที่ยังไม่ได้ยืนยัน" not in first + second
    assert "หน้า 1 จาก 2" in first and 'href="/sellers?page=2"' in first
    assert first_count == second_count
    # Odd page numbers: the first page, or the last one, never an error.
    for odd in ("abc", "0", "-1", "99999999999"):
        assert "กลุ่มผู้ผลิต 00" in client.get(f"/sellers?page={odd}").get_data(as_text=True)
    assert "กลุ่มผู้ผลิต 29" in client.get("/sellers?page=999").get_data(as_text=True)
    funds = client.get("/funds").get_data(as_text=True)
    assert "กองทุนสวัสดิการ 00" in funds
