"""Quantity price tiers: ฿350 a bag, ฿320 a bag from 50 bags in one order."""

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketplace.catalog import services as catalog
from marketplace.catalog import tiers
from marketplace.catalog.models import Category, Product, ProductPriceTier
from marketplace.catalog.tiers import NextTier, PriceTier
from marketplace.errors import DomainError
from marketplace.extensions import db as _db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderItem
from marketplace.payouts.arithmetic import fee_for_line
from tests.conftest import statements_during
from tests.factories import (
    FundTreasurerFactory,
    ProductFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)
from tests.pages import field_errors
from tests.test_api import SHIPPING, assert_error, auth, token_for

ADDRESS = {
    "name": "สมศรี ใจดี",
    "phone": "0812345678",
    "address_line": "45/2 หมู่ 3",
    "subdistrict_code": "830107",
    "postal_code": "83130",
}
RAWAI = {"province": "83", "district": "8301", "subdistrict": "830107", "postal_code": "83130"}


@pytest.fixture
def app(make_app, request):
    """The app, with the settings a test asks for (``@pytest.mark.parametrize("app",
    [{...}], indirect=True)``)."""
    return make_app(**getattr(request, "param", {}))


@pytest.fixture
def shop(db):
    """A rice group (one member) selling bags at ฿350, ฿319.99 from 50 and ฿299.50 from 100,
    a fund with a treasurer, and a buyer."""
    member = SellerMemberFactory(user__email="member@example.com")
    treasurer = FundTreasurerFactory(user__email="treasurer@example.com")
    rice = ProductFactory(
        seller=member.seller,
        name_th="ข้าวหอมมะลิอินทรีย์",
        unit_label="ถุง",
        price_satang=35000,
        weight_grams=1000,
        stock=500,
        price_tiers=[
            ProductPriceTier(min_quantity=100, price_satang=29950),
            ProductPriceTier(min_quantity=50, price_satang=31999),
        ],
    )
    buyer = UserFactory(email="buyer@example.com")
    db.session.commit()
    return {"member": member, "treasurer": treasurer, "rice": rice, "buyer": buyer}


def tier_count(db):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ProductPriceTier))


def place(shop, lines):
    order = orders.place_order(
        shop["buyer"], [(shop["rice"].id, q) for q in lines], address=dict(ADDRESS)
    )
    _db.session.commit()
    return order


# The arithmetic


def test_a_tier_applies_from_exactly_its_minimum_and_not_below():
    steps = [PriceTier(100, 29950), PriceTier(50, 31999)]  # any order

    assert tiers.unit_price(35000, steps, 1) == 35000
    assert tiers.unit_price(35000, steps, 49) == 35000
    assert tiers.unit_price(35000, steps, 50) == 31999
    assert tiers.unit_price(35000, steps, 99) == 31999
    assert tiers.unit_price(35000, steps, 100) == 29950
    assert tiers.unit_price(35000, steps, 999) == 29950
    assert tiers.unit_price(35000, (), 500) == 35000


def test_the_next_tier_says_how_many_more_units_reach_it():
    steps = [PriceTier(50, 31999), PriceTier(100, 29950)]

    assert tiers.next_tier(35000, steps, 1) == NextTier(50, 31999, 49)
    assert tiers.next_tier(35000, steps, 49) == NextTier(50, 31999, 1)
    assert tiers.next_tier(35000, steps, 50) == NextTier(100, 29950, 50)
    assert tiers.next_tier(35000, steps, 100) is None
    assert tiers.next_tier(35000, (), 3) is None


def test_the_catalog_service_prices_a_loaded_product_and_its_card(db, shop):
    rice = shop["rice"]
    card = catalog.card_of(catalog.visible_product(rice.id))

    for item in (rice, card):
        assert [catalog.unit_price(item, q) for q in (49, 50, 100)] == [35000, 31999, 29950]
        assert catalog.next_tier(item, 45) == NextTier(50, 31999, 5)
    assert card.price_tiers == (PriceTier(50, 31999), PriceTier(100, 29950))
    assert rice.unit_price(50) == 31999 and rice.next_tier(100) is None


# Ordinary orders


def test_order_items_carry_the_tier_unit_price_and_the_sums_follow(db, shop):
    below = place(shop, [49])
    at = place(shop, [50])

    assert [(i.unit_price_satang, i.line_total_satang) for i in below.items] == [
        (35000, 49 * 35000)
    ]
    item = at.items[0]
    assert (item.unit_price_satang, item.quantity, item.line_total_satang) == (31999, 50, 1599950)
    assert at.shipments[0].subtotal_satang == at.subtotal_satang == 1599950
    assert at.total_satang == 1599950 + at.shipping_satang
    assert at.payments[0].amount_satang == at.total_satang


def test_two_lines_of_one_product_are_summed_to_reach_the_tier(db, shop):
    order = place(shop, [30, 20])

    db.session.expire_all()
    items = db.session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)).all()
    assert [(i.quantity, i.unit_price_satang, i.line_total_satang) for i in items] == [
        (50, 31999, 1599950)
    ]
    assert db.session.get(Product, shop["rice"].id).stock == 450


@pytest.mark.parametrize("app", [{"PLATFORM_FEE_BPS": 333}], indirect=True, ids=["fee"])
def test_levies_and_the_platform_fee_are_taken_from_the_tier_line_total(db, shop):
    agreed_levy(shop["member"], shop["treasurer"], shop["rice"], kind="percent", rate=250)
    other_fund = FundTreasurerFactory()
    agreed_levy(shop["member"], other_fund, kind="per_unit", rate=400)
    db.session.commit()

    order = place(shop, [53])

    item = order.items[0]
    assert (item.unit_price_satang, item.line_total_satang) == (31999, 1695947)
    amounts = sorted((levy.kind.value, levy.amount_satang) for levy in item.levies)
    # 2.5% of ฿16,959.47 = 423.98675 baht: 42,399 satang, half up; ฿4 a bag: 53 bags.
    assert amounts == [("per_unit", 21200), ("percent", 42399)]
    # 3.33% of it: 56,475.0351 satang.
    assert (item.platform_fee_bps, item.platform_fee_satang) == (333, 56475)
    assert fee_for_line(1695947, 333) == 56475


# The cart and checkout show what the order charges


@pytest.fixture
def buyer_client(client, shop):
    client.login("buyer@example.com")
    return client


def add_to_cart(client, product, quantity):
    response = client.submit("/cart/add", {"product_id": product.id, "quantity": str(quantity)})
    assert response.status_code == 303, response.get_data(as_text=True)


def test_the_cart_sums_its_additions_to_reach_the_tier_and_checkout_charges_it(
    buyer_client, db, shop
):
    client, rice = buyer_client, shop["rice"]
    agreed_levy(shop["member"], shop["treasurer"], rice, kind="percent", rate=250)
    db.session.commit()
    add_to_cart(client, rice, 30)
    add_to_cart(client, rice, 20)

    cart = client.get("/cart").get_data(as_text=True)
    checkout = client.get("/checkout").get_data(as_text=True)
    response = client.submit("/checkout", {**CHECKOUT, **RAWAI})

    assert "฿319.99" in cart and "฿15,999.50" in cart and "ราคาตามจำนวน" in cart
    assert "<s>฿350.00</s>" in cart
    # The levy preview is the same 2.5% of the tier line as the order's snapshot.
    assert "฿399.99" in cart  # 2.5% of 1,599,950 satang = 39,998.75: half up
    assert "× 50 @ ฿319.99" in checkout and "฿15,999.50" in checkout
    assert response.status_code == 303, response.get_data(as_text=True)
    order = db.session.scalar(select(Order).order_by(Order.id.desc()))
    assert order.subtotal_satang == 1599950
    assert [levy.amount_satang for levy in order.items[0].levies] == [39999]


CHECKOUT = {
    "ship_name": "สมศรี ใจดี",
    "ship_phone": "0812345678",
    "address_line": "45/2 หมู่ 3",
    "payment_method": "transfer",
    "action": "place",
}


def test_the_cart_says_how_many_more_reach_the_next_tier_when_close(buyer_client, db, shop):
    client, rice = buyer_client, shop["rice"]
    add_to_cart(client, rice, 2)
    far = client.get("/cart").get_data(as_text=True)
    client.submit(f"/cart/{rice.id}", {"quantity": "45"})
    close = client.get("/cart").get_data(as_text=True)

    assert "เพิ่มอีก" not in far  # 48 more for the first tier: not close
    assert "เพิ่มอีก 5 ได้ราคาหน่วยละ ฿319.99" in close
    assert re.search(r'name="quantity" value="50"', close)  # its button makes the line 50
    response = client.submit(f"/cart/{rice.id}", {"quantity": "50"})
    assert response.status_code == 303
    at_tier = client.get("/cart").get_data(as_text=True)
    assert "฿15,999.50" in at_tier and "เพิ่มอีก 50 ได้ราคาหน่วยละ ฿299.50" in at_tier


def test_no_hint_for_a_tier_the_stock_cannot_reach(buyer_client, db, shop):
    shop["rice"].stock = 48
    db.session.commit()
    add_to_cart(buyer_client, shop["rice"], 45)

    assert "เพิ่มอีก" not in buyer_client.get("/cart").get_data(as_text=True)


def test_the_product_page_and_its_card_show_the_quantity_prices(client, db, shop):
    page = client.get(f"/products/{shop['rice'].id}").get_data(as_text=True)
    listing = client.get("/products").get_data(as_text=True)

    assert "฿319.99 / ถุง เมื่อซื้อ 50 ขึ้นไป" in page
    assert "฿299.50 / ถุง เมื่อซื้อ 100 ขึ้นไป" in page
    assert "฿319.99 / ถุง เมื่อซื้อ 50 ขึ้นไป" in listing


def test_checkout_runs_as_many_statements_with_tiers_as_without(client, db, shop):
    plain = ProductFactory(seller=shop["member"].seller, stock=500)
    db.session.commit()
    token = token_for(client, "buyer@example.com")

    def placing(product, key):
        body = {
            "items": [{"product_id": product.id, "quantity": 60}],
            "shipping": dict(SHIPPING),
            "payment_method": "transfer",
        }
        answers = []
        statements = statements_during(
            lambda: answers.append(
                client.post(
                    "/api/v1/orders", json=body, headers={**auth(token), "Idempotency-Key": key}
                )
            )
        )
        assert answers[0].status_code == 201, answers[0].json
        return answers[0].json, len(statements)

    tiered, with_tiers = placing(shop["rice"], "tiered")
    _plain, without = placing(plain, "plain")

    assert tiered["subtotal_satang"] == 60 * 31999
    assert with_tiers == without <= 14


# Sellers set tiers on the product form


def product_fields(db, rows=(), **changes):
    rice = db.session.scalar(select(Category).where(Category.slug == "rice-grains"))
    data = {
        "name_th": "ข้าวหอมมะลิอินทรีย์ 5 กก.",
        "category_id": str(rice.id),
        "unit_label": "ถุง 5 กก.",
        "price": "350",
        "stock": "120",
        "weight_grams": "5050",
        "status": "active",
    }
    for n, (minimum, price) in enumerate(rows):
        data[f"price_tiers-{n}-min_quantity"] = minimum
        data[f"price_tiers-{n}-price"] = price
    data.update(changes)
    return data


@pytest.fixture
def member_client(client, shop):
    client.login("member@example.com")
    return client


def test_a_seller_adds_tiers_on_the_form_blank_rows_ignored(member_client, db, shop):
    seller_id = shop["member"].seller_id
    response = member_client.submit(
        f"/sellers/{seller_id}/products/new",
        product_fields(db, [("", ""), ("100", "300"), (" ", ""), ("50", "320.50")]),
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    product = db.session.scalar(select(Product).order_by(Product.id.desc()))
    assert [(t.min_quantity, t.price_satang) for t in product.price_tiers] == [
        (50, 32050),
        (100, 30000),
    ]
    form = member_client.get(f"/sellers/{seller_id}/products/{product.id}/edit")
    page = form.get_data(as_text=True)
    assert 'name="price_tiers-0-min_quantity" type="text" value="50"' in page
    assert 'name="price_tiers-0-price" type="text" value="320.50"' in page
    assert 'name="price_tiers-2-min_quantity" type="text" value=""' in page


def test_editing_replaces_the_tiers_and_empty_rows_remove_them(member_client, db, shop):
    seller_id, rice = shop["member"].seller_id, shop["rice"]
    url = f"/sellers/{seller_id}/products/{rice.id}/edit"

    swapped = member_client.submit(url, product_fields(db, [("100", "330"), ("200", "310")]))
    assert swapped.status_code == 302, swapped.get_data(as_text=True)
    db.session.expire_all()
    assert [(t.min_quantity, t.price_satang) for t in rice.price_tiers] == [
        (100, 33000),
        (200, 31000),
    ]
    cleared = member_client.submit(url, product_fields(db))
    assert cleared.status_code == 302
    assert tier_count(db) == 0


@pytest.mark.parametrize(
    ("rows", "errors"),
    [
        ([("50", "350")], {"price_tiers-0-price": "ต่ำกว่าราคาต่อหน่วย (฿350.00)"}),
        ([("50", "400")], {"price_tiers-0-price": "ต่ำกว่าราคาต่อหน่วย"}),
        (
            [("50", "300"), ("100", "320")],
            {"price_tiers-1-price": "ตั้งแต่ 50 หน่วยราคา ฿300.00 อยู่แล้ว"},
        ),
        ([("100", "300"), ("50", "300")], {"price_tiers-0-price": "จำนวนมากขึ้นต้องราคาต่ำลง"}),
        (
            [("50", "320"), ("50", "310")],
            {"price_tiers-1-min_quantity": "เริ่มจาก 50 หน่วยอยู่แล้ว"},
        ),
        ([("1", "320")], {"price_tiers-0-min_quantity": "ตั้งแต่ 2 หน่วยขึ้นไป"}),
        ([("0", "320")], {"price_tiers-0-min_quantity": "ตั้งแต่ 2 หน่วยขึ้นไป"}),
        ([("-5", "320")], {"price_tiers-0-min_quantity": "ตั้งแต่ 2 หน่วยขึ้นไป"}),
        ([("1000", "320")], {"price_tiers-0-min_quantity": "ไม่เกิน 999 หน่วย"}),
        ([("50", "-1")], {"price_tiers-0-price": "ราคาต้องมากกว่าศูนย์"}),
        ([("50", "0")], {"price_tiers-0-price": "ราคาต้องมากกว่าศูนย์"}),
        ([("50", "1.234")], {"price_tiers-0-price": "ไม่เกินสองตำแหน่ง"}),
        ([("5.5", "320")], {"price_tiers-0-min_quantity": "จำนวนเต็ม"}),
        ([("50", "")], {"price_tiers-0-price": "กรอกให้ครบทั้งสองช่อง"}),
        ([("", "320")], {"price_tiers-0-min_quantity": "กรอกให้ครบทั้งสองช่อง"}),
        (  # every problem at once, each on its row (row 1 left blank)
            [("1", "320"), ("", ""), ("100", "360"), ("abc", "300")],
            {
                "price_tiers-0-min_quantity": "ตั้งแต่ 2 หน่วยขึ้นไป",
                "price_tiers-2-price": "ต่ำกว่าราคาต่อหน่วย",
                "price_tiers-3-min_quantity": "จำนวนเต็ม",
            },
        ),
    ],
)
def test_bad_tiers_are_shown_on_their_rows_and_nothing_is_written(
    member_client, db, shop, rows, errors
):
    seller_id, rice = shop["member"].seller_id, shop["rice"]
    before = product_count(db), tier_count(db)

    created = member_client.submit(f"/sellers/{seller_id}/products/new", product_fields(db, rows))
    edited = member_client.submit(
        f"/sellers/{seller_id}/products/{rice.id}/edit", product_fields(db, rows, stock="3")
    )

    for response in (created, edited):
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        for field, message in errors.items():
            shown = field_errors(page, field)
            assert any(message in error for error in shown), (field, shown)
        assert page.count('role="alert"') == len(errors)
    assert (product_count(db), tier_count(db)) == before
    db.session.expire_all()
    assert (rice.stock, [t.min_quantity for t in rice.price_tiers]) == (500, [50, 100])


def test_lowering_the_price_below_a_tier_is_refused_on_the_tier(member_client, db, shop):
    seller_id, rice = shop["member"].seller_id, shop["rice"]

    response = member_client.submit(
        f"/sellers/{seller_id}/products/{rice.id}/edit",
        product_fields(db, [("50", "319.99"), ("100", "299.50")], price="310"),
    )

    assert response.status_code == 400
    assert (
        "ต่ำกว่าราคาต่อหน่วย (฿310.00)"
        in field_errors(response.get_data(as_text=True), "price_tiers-0-price")[0]
    )
    db.session.expire_all()
    assert rice.price_satang == 35000


def test_a_refusal_by_the_service_lands_on_the_rows_the_tiers_came_from(
    member_client, db, shop, monkeypatch
):
    """Should the service refuse what the form let through, its positions (blank rows
    left out) still find their rows."""
    from marketplace.catalog import forms

    monkeypatch.setattr(forms, "price_tier_problems", lambda price, tiers: [])
    seller_id = shop["member"].seller_id

    response = member_client.submit(
        f"/sellers/{seller_id}/products/new",
        product_fields(db, [("", ""), ("50", "300"), ("", ""), ("50", "290")]),
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "เริ่มจาก 50 หน่วยอยู่แล้ว" in field_errors(page, "price_tiers-3-min_quantity")[0]
    assert field_errors(page, "price_tiers-1-min_quantity") == []
    assert product_count(db) == 1


def product_count(db):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Product))


# The service's own rules


def test_the_service_names_every_problem_by_the_tiers_position(db, shop):
    rice = shop["rice"]
    draft = catalog.ProductDraft.of(
        rice, price_tiers=(PriceTier(50, 30000), PriceTier(20, 29000), PriceTier(20, 36000))
    )

    with pytest.raises(catalog.InvalidPriceTiers) as refused:
        catalog.update_product(shop["member"].user, rice, draft)

    assert set(refused.value.fields) == {
        "price_tiers[0].price_satang",  # not below the tier from 20 units
        "price_tiers[2].min_quantity",  # 20 again
        "price_tiers[2].price_satang",  # not below ฿350
    }
    db.session.rollback()
    too_many = tuple(PriceTier(n, 30000 - n) for n in range(2, 7))
    with pytest.raises(DomainError, match="4"):
        catalog.check_price_tiers(35000, too_many)
    with pytest.raises(TypeError):
        catalog.ProductDraft.of(rice, price_tiers=((50, 30000),))
    with pytest.raises(TypeError):
        catalog.ProductDraft.of(rice, price_tiers=(PriceTier(50, 300.5),))


def test_the_database_refuses_a_tier_below_two_units_or_a_minimum_twice(db, shop):
    rice_id = shop["rice"].id
    for row in (
        ProductPriceTier(product_id=rice_id, min_quantity=1, price_satang=100),
        ProductPriceTier(product_id=rice_id, min_quantity=5, price_satang=0),
        ProductPriceTier(product_id=rice_id, min_quantity=50, price_satang=100),
    ):
        db.session.add(row)
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
    assert tier_count(db) == 2


# The API


def test_the_api_shows_price_tiers_in_lists_and_products(client, db, shop):
    ProductFactory(seller=shop["member"].seller, name_th="ไม่มีขั้นราคา")
    db.session.commit()

    listing = client.get("/api/v1/products").json["items"]
    one = client.get(f"/api/v1/products/{shop['rice'].id}").json

    tiered = [
        {"min_quantity": 50, "price_satang": 31999},
        {"min_quantity": 100, "price_satang": 29950},
    ]
    assert {p["name"]: p["price_tiers"] for p in listing} == {
        "ข้าวหอมมะลิอินทรีย์": tiered,
        "ไม่มีขั้นราคา": [],
    }
    assert one["price_tiers"] == tiered


def test_seller_members_write_price_tiers_through_the_api(client, db, shop):
    token = token_for(client, "member@example.com")
    body = {
        "name": "ข้าวกล้อง",
        "category": "rice-grains",
        "unit": "ถุง",
        "price_satang": 9550,
        "stock": 100,
        "weight_grams": 1020,
        "status": "active",
        "price_tiers": [
            {"min_quantity": 20, "price_satang": 8500},
            {"min_quantity": 10, "price_satang": 9000},
        ],
    }

    created = client.post("/api/v1/products", json=body, headers=auth(token))
    assert created.status_code == 201, created.json
    url = f"/api/v1/products/{created.json['id']}"
    assert created.json["price_tiers"] == [
        {"min_quantity": 10, "price_satang": 9000},
        {"min_quantity": 20, "price_satang": 8500},
    ]
    kept = client.patch(url, json={"stock": 80, "price_tiers": None}, headers=auth(token))
    assert kept.status_code == 200 and len(kept.json["price_tiers"]) == 2
    changed = client.patch(
        url, json={"price_tiers": [{"min_quantity": 10, "price_satang": 9100}]}, headers=auth(token)
    )
    assert changed.json["price_tiers"] == [{"min_quantity": 10, "price_satang": 9100}]
    removed = client.patch(url, json={"price_tiers": []}, headers=auth(token))
    assert removed.status_code == 200 and removed.json["price_tiers"] == []
    assert client.get(url).json["price_tiers"] == []
    other = token_for(client, "buyer@example.com")
    assert_error(client.patch(url, json={"price_tiers": []}, headers=auth(other)), 404)


@pytest.mark.parametrize(
    ("price_tiers", "fields"),
    [
        ([{"min_quantity": 10, "price_satang": 9550}], {"price_tiers[0].price_satang"}),
        (
            [
                {"min_quantity": 10, "price_satang": 9000},
                {"min_quantity": 20, "price_satang": 9000},
            ],
            {"price_tiers[1].price_satang"},
        ),
        (
            [
                {"min_quantity": 10, "price_satang": 9000},
                {"min_quantity": 10, "price_satang": 8000},
            ],
            {"price_tiers[1].min_quantity"},
        ),
        ([{"min_quantity": 1, "price_satang": 9000}], {"price_tiers[0].min_quantity"}),
        ([{"min_quantity": 0, "price_satang": 9000}], {"price_tiers[0].min_quantity"}),
        ([{"min_quantity": 10, "price_satang": -100}], {"price_tiers[0].price_satang"}),
        ([{"min_quantity": 10, "price_satang": 90.5}], {"price_tiers[0].price_satang"}),
        ([{"min_quantity": 10}], {"price_tiers[0].price_satang"}),
        (["10:9000"], {"price_tiers[0].item"}),
        ({"min_quantity": 10}, {"price_tiers"}),
        ([{"min_quantity": n, "price_satang": 9000 - n} for n in range(2, 7)], {"price_tiers"}),
    ],
)
def test_bad_price_tiers_are_a_400_naming_each_and_write_nothing(
    client, db, shop, price_tiers, fields
):
    token = token_for(client, "member@example.com")
    body = {
        "name": "ข้าวกล้อง",
        "category": "rice-grains",
        "unit": "ถุง",
        "price_satang": 9550,
        "stock": 100,
        "weight_grams": 1020,
        "price_tiers": price_tiers,
    }
    before = product_count(db), tier_count(db)

    created = client.post("/api/v1/products", json=body, headers=auth(token))
    patched = client.patch(
        f"/api/v1/products/{shop['rice'].id}",
        json={"price_satang": 9550, "price_tiers": price_tiers},
        headers=auth(token),
    )

    for response in (created, patched):
        assert_error(response, 400, "invalid")
        assert set(response.json["error"]["fields"]) == fields, response.json
    assert (product_count(db), tier_count(db)) == before
    db.session.expire_all()
    assert db.session.get(Product, shop["rice"].id).price_satang == 35000


def test_an_api_price_below_the_tiers_is_refused_naming_the_tiers(client, db, shop):
    token = token_for(client, "member@example.com")

    response = client.patch(
        f"/api/v1/products/{shop['rice'].id}", json={"price_satang": 30000}, headers=auth(token)
    )

    assert_error(response, 400, "invalid")
    assert set(response.json["error"]["fields"]) == {"price_tiers[0].price_satang"}


def test_an_api_order_is_charged_the_tier_price(client, db, shop):
    token = token_for(client, "buyer@example.com")
    body = {
        "items": [
            {"product_id": shop["rice"].id, "quantity": 60},
            {"product_id": shop["rice"].id, "quantity": 40},
        ],
        "shipping": dict(SHIPPING),
        "payment_method": "transfer",
    }

    response = client.post(
        "/api/v1/orders", json=body, headers={**auth(token), "Idempotency-Key": "tiers-1"}
    )

    assert response.status_code == 201, response.json
    item = response.json["shipments"][0]["items"][0]
    assert (item["quantity"], item["unit_price_satang"], item["line_total_satang"]) == (
        100,
        29950,
        2995000,
    )
    assert response.json["subtotal_satang"] == 2995000
