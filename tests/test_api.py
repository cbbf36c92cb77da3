"""JSON API v1: contract, errors, idempotency and authorisation."""

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import PendingRegistration
from marketplace.api.models import ApiToken, IdempotencyKey
from marketplace.catalog.models import Product
from marketplace.dbtypes import utcnow
from marketplace.orders.models import Order
from tests.conftest import PASSWORD, statements_during
from tests.factories import (
    AdminFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)

SHIPPING = {
    "name": "สมศรี ใจดี",
    "phone": "0812345678",
    "address_line": "45/2 หมู่ 3",
    "subdistrict_code": "830107",
    "postal_code": "83130",
}


def token_for(client, email, password=PASSWORD):
    response = client.post("/api/v1/tokens", json={"email": email, "password": password})
    assert response.status_code == 201, response.json
    return response.json["token"]


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status, code=None, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json["error"]
    assert set(body) == {"code", "message", "fields"} and body["message"]
    if code:
        assert body["code"] == code
    if field:
        assert field in body["fields"], body


@pytest.fixture
def market(db):
    """Two sellers (one member each), two funds (one treasurer each), buyers and an admin."""
    member_a = SellerMemberFactory(user__email="a@example.com")
    member_b = SellerMemberFactory(user__email="b@example.com")
    fund_a = FundTreasurerFactory(user__email="ta@example.com")
    fund_b = FundTreasurerFactory(user__email="tb@example.com")
    rice = ProductFactory(
        seller=member_a.seller,
        name_th="ข้าวหอมมะลิอินทรีย์",
        price_satang=35000,
        weight_grams=5050,
        stock=50,
    )
    basket = ProductFactory(
        seller=member_b.seller, name_th="ตะกร้าสาน", price_satang=45000, stock=20
    )
    agreed_levy(member_a, fund_a, rice)
    AdminFactory(email="admin@example.com")
    UserFactory(email="buyer@example.com")
    UserFactory(email="other@example.com")
    db.session.commit()
    return {
        "rice": rice.id,
        "basket": basket.id,
        "seller_a": member_a.seller_id,
        "seller_b": member_b.seller_id,
        "fund_a": fund_a.fund_id,
        "fund_b": fund_b.fund_id,
    }


def order_body(market, quantity=10, product="rice", **changes):
    body = {
        "items": [{"product_id": market[product], "quantity": quantity}],
        "shipping": dict(SHIPPING),
        "payment_method": "transfer",
    }
    body.update(changes)
    return body


def place(client, token, body, key="key-1"):
    return client.post("/api/v1/orders", json=body, headers={**auth(token), "Idempotency-Key": key})


# Accounts and tokens


def test_register_with_the_web_forms_rules(client, db):
    body = {"email": "New@Example.com", "password": "correct-horse-42", "name": "ใหม่"}

    started = client.post("/api/v1/users", json={**body, "language": "en"})

    assert started.status_code == 202
    assert started.json == {"email": "new@example.com", "status": "confirmation_sent"}
    assert db.session.scalar(select(func.count()).select_from(PendingRegistration)) == 1
    assert_error(
        client.post("/api/v1/users", json={"email": "x", "password": "short", "name": "x"}),
        400,
        field="email",
    )
    assert_error(
        client.post("/api/v1/users", json={**body, "password": "password123"}),
        400,
        field="password",
    )
    assert_error(client.post("/api/v1/users", json={"email": 5, "name": []}), 400, field="email")
    assert_error(client.post("/api/v1/users", data="not json"), 400)


def test_tokens_are_hashed_expire_and_can_be_revoked(client, db):
    UserFactory(email="buyer@example.com")
    db.session.commit()
    token = token_for(client, "buyer@example.com")

    stored = db.session.scalar(select(ApiToken))
    assert token not in stored.token_hash and len(stored.token_hash) == 64
    assert client.get("/api/v1/orders", headers=auth(token)).status_code == 200
    assert client.delete("/api/v1/tokens/current", headers=auth(token)).status_code == 204
    assert_error(client.get("/api/v1/orders", headers=auth(token)), 401, "unauthorized")

    second = token_for(client, "buyer@example.com")
    db.session.rollback()
    for row in db.session.scalars(select(ApiToken)):
        row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert_error(client.get("/api/v1/orders", headers=auth(second)), 401)
    assert_error(
        client.post(
            "/api/v1/tokens", json={"email": "buyer@example.com", "password": "wrong-one-1"}
        ),
        401,
    )


def test_token_creation_still_answers_when_the_rate_limit_store_is_down(make_app):
    client = make_app(
        SIGN_IN_FAILURES_PER_ACCOUNT="3 per minute",
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",
    ).test_client()
    statuses = [
        client.post(
            "/api/v1/tokens", json={"email": "x@example.com", "password": "nope"}
        ).status_code
        for _ in range(4)
    ]
    # Counted in memory meanwhile: still limited, never a 500.
    assert statuses == [401, 401, 401, 429]


def test_failed_token_requests_are_limited_per_account(make_app, db):
    from tests.factories import UserFactory

    UserFactory(email="buyer@example.com")
    db.session.commit()
    client = make_app().test_client()

    answers = [
        client.post("/api/v1/tokens", json={"email": "buyer@example.com", "password": "guess"})
        for _ in range(30)
    ]

    statuses = [a.status_code for a in answers]
    assert 429 in statuses[:29] and statuses[-1] == 429
    assert set(statuses[: statuses.index(429)]) == {401}
    refused = answers[-1]
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert "รอ" in refused.get_json()["error"]["message"]  # Thai by default


def test_rate_limits_are_shared_in_redis_and_counted_per_client_behind_a_proxy(make_app, redis_url):
    import redis

    storage = redis_url.rsplit("/", 1)[0] + "/15"
    redis.Redis.from_url(storage).flushdb()
    settings = {
        "SIGN_IN_FAILURES_PER_ADDRESS": "3 per minute",
        "RATELIMIT_STORAGE_URI": storage,
        "TRUSTED_PROXIES": 1,
    }
    # Two web processes: the limit is counted once, in Redis, not once per process.
    first, second = make_app(**settings).test_client(), make_app(**settings).test_client()

    def attempt(client, address, email="x@example.com"):
        return client.post(
            "/api/v1/tokens",
            json={"email": email, "password": "nope"},
            headers={"X-Forwarded-For": address},
        ).status_code

    statuses = [
        attempt(c, "203.0.113.7", f"{n}@example.com")
        for n, c in enumerate((first, second, first, second))
    ]
    assert statuses == [401, 401, 401, 429]
    # Another client behind the same proxy has its own count.
    assert attempt(first, "198.51.100.20") == 401
    assert redis.Redis.from_url(storage).keys("LIMITS:*")


def test_a_cookie_session_never_authenticates_the_api(client, db, market):
    client.login("buyer@example.com")

    assert_error(client.get("/api/v1/orders"), 401)
    assert_error(place(client, "", order_body(market)), 401)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_api_errors_are_json_in_thai_or_english(client):
    thai = client.get("/api/v1/nothing-here")
    english = client.get("/api/v1/nothing-here", headers={"Accept-Language": "en"})

    assert_error(thai, 404)
    assert english.json["error"]["message"] == "This page does not exist."
    assert_error(client.delete("/api/v1/products"), 405)


# Products


def test_products_with_levies_filters_and_cursor(client, db, market):
    listing = client.get("/api/v1/products?q=มะลิ").json
    assert [p["id"] for p in listing["items"]] == [market["rice"]]
    rice = listing["items"][0]
    assert rice["price_satang"] == 35000 and rice["seller"]["province_code"] == "36"
    assert rice["levies"] == [
        {
            "fund_id": market["fund_a"],
            "fund_name": rice["levies"][0]["fund_name"],
            "beneficiary": "fund",
            "kind": "per_unit",
            "amount_satang": 400,
        }
    ]
    assert client.get("/api/v1/products?province=91").json["items"] == []
    assert {
        p["id"] for p in client.get(f"/api/v1/products?seller={market['seller_b']}").json["items"]
    } == {market["basket"]}
    for n in range(30):
        ProductFactory(name_th=f"ของ {n}")
    db.session.commit()
    first = client.get("/api/v1/products").json
    second = client.get(f"/api/v1/products?cursor={first['next_cursor']}").json
    assert len(first["items"]) == 24 and len(second["items"]) == 8 and second["next_cursor"] is None
    assert_error(client.get("/api/v1/products?cursor=%%%"), 400, field="cursor")
    assert_error(client.get("/api/v1/products?province=Bangkok"), 400, field="province")
    assert client.get(f"/api/v1/products/{market['rice']}").json["id"] == market["rice"]
    assert_error(client.get("/api/v1/products/99999999999"), 404)


def test_members_create_and_patch_their_products(client, db, market):
    token = token_for(client, "a@example.com")
    body = {
        "name": "ข้าวกล้อง",
        "category": "rice-grains",
        "unit": "ถุง 1 กก.",
        "price_satang": 9550,
        "stock": 10,
        "weight_grams": 1020,
        "status": "active",
    }

    created = client.post("/api/v1/products", json=body, headers=auth(token))
    assert created.status_code == 201
    product_id = created.json["id"]
    patched = client.patch(
        f"/api/v1/products/{product_id}",
        json={"stock": 0, "status": "archived"},
        headers=auth(token),
    )
    assert (
        patched.status_code == 200
        and patched.json["stock"] == 0
        and patched.json["status"] == "archived"
    )
    product = db.session.get(Product, product_id)
    assert (product.price_satang, product.seller_id) == (9550, market["seller_a"])

    other = token_for(client, "b@example.com")
    assert_error(
        client.patch(f"/api/v1/products/{product_id}", json={"stock": 5}, headers=auth(other)), 404
    )
    assert_error(
        client.post(
            "/api/v1/products", json={**body, "seller_id": market["seller_a"]}, headers=auth(other)
        ),
        403,
    )
    for bad, field in (
        ({"price_satang": 0}, "price_satang"),
        ({"price_satang": 12.5}, "price_satang"),
        ({"category": "nope"}, "category"),
        ({"stock": -1}, "stock"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"unit": " "}, "unit"),
    ):
        response = client.post("/api/v1/products", json={**body, **bad}, headers=auth(token))
        assert_error(response, 400, field=field)
    assert_error(
        client.patch(f"/api/v1/products/{product_id}", json={"name": " "}, headers=auth(token)),
        400,
        field="name",
    )
    admin = token_for(client, "admin@example.com")
    assert_error(
        client.post("/api/v1/products", json=body, headers=auth(admin)), 400, field="seller_id"
    )
    assert (
        client.post(
            "/api/v1/products", json={**body, "seller_id": market["seller_b"]}, headers=auth(admin)
        ).status_code
        == 201
    )


# Orders


def test_orders_are_idempotent_per_key(client, db, market):
    token = token_for(client, "buyer@example.com")

    first = place(client, token, order_body(market))
    again = place(client, token, order_body(market))
    other_body = place(client, token, order_body(market, quantity=2))
    assert_error(place(client, token, order_body(market), key=""), 400, field="Idempotency-Key")

    assert first.status_code == 201 and again.status_code == 200
    assert again.json["id"] == first.json["id"]
    assert_error(other_body, 409, "conflict")
    order = first.json
    assert (order["subtotal_satang"], order["levy_total_satang"]) == (350000, 4000)
    assert order["total_satang"] == order["subtotal_satang"] + order["shipping_satang"]
    assert order["payment"] == {"provider": "transfer", "status": "pending"}
    line = order["shipments"][0]["items"][0]
    assert line["levies"] == [{"fund_id": market["fund_a"], "amount_satang": 4000}]
    db.session.expire_all()
    assert db.session.get(Product, market["rice"]).stock == 40


def test_placing_an_order_runs_a_fixed_set_of_statements_plus_one_stock_update_a_product(
    client, db, market
):
    """Products are loaded at once and each takes its stock with one UPDATE, last."""
    seller = db.session.get(Product, market["rice"]).seller
    more = [ProductFactory(seller=seller, stock=30).id for _ in range(2)]
    db.session.commit()
    token = token_for(client, "buyer@example.com")
    responses = []

    def placing(products, key):
        body = order_body(market, items=[{"product_id": p, "quantity": 2} for p in products])
        return statements_during(lambda: responses.append(place(client, token, body, key)))

    one = placing([market["rice"]], "one")
    three = placing([market["rice"], *more], "three")

    assert [r.status_code for r in responses] == [201, 201]
    assert responses[1].json["subtotal_satang"] == 2 * 35000 + 2 * sum(
        db.session.get(Product, p).price_satang for p in more
    )
    updates = [s for s in three if s.startswith("UPDATE products")]
    assert len(updates) == 3

    def per_item(statement):
        return statement.startswith(("UPDATE products", "INSERT INTO order_items"))

    def kinds(statements):  # without the parameters (an IN list grows with the products)
        return [s.split("WHERE")[0] for s in statements if not per_item(s)]

    assert kinds(three) == kinds(one)
    assert len(one) <= 14
    if db.engine.dialect.name == "postgresql":  # its items go in one multi-row INSERT
        assert len(three) == len(one) + 2
    # the stock is taken last: nothing but the idempotency key's order follows it
    last = max(n for n, statement in enumerate(three) if statement in updates)
    after = three[last + 1 :]
    assert all("products" not in s.lower() for s in after), after
    db.session.expire_all()
    assert [db.session.get(Product, p).stock for p in more] == [28, 28]


@pytest.mark.parametrize("quantity", [10, 50], ids=["some-stock", "all-stock"])
def test_five_concurrent_orders_with_one_key_make_one_order(app, client, db, market, quantity):
    """Retries that race the first request replay it, even when it took the last unit."""
    token = token_for(client, "buyer@example.com")
    stock = db.session.get(Product, market["rice"]).stock
    start, results = threading.Barrier(5), []

    def send():
        local = app.test_client()
        start.wait()
        body = order_body(market, quantity=quantity)
        results.append(place(local, token, body, key="same-key").status_code)

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == [200, 200, 200, 200, 201]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    assert db.session.get(Product, market["rice"]).stock == stock - quantity


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"items": []}, "items"),
        ({"items": [{"product_id": 1, "quantity": 0}]}, "items[0].quantity"),
        ({"items": [{"product_id": 1, "quantity": "10"}]}, "items[0].quantity"),
        ({"items": [{"product_id": 1, "quantity": 10**6}]}, "items[0].quantity"),
        ({"items": ["x"]}, "items[0].item"),
        ({"shipping": {**SHIPPING, "postal_code": "10110"}}, "shipping.postal_code"),
        ({"shipping": "Phuket"}, "shipping"),
        ({"payment_method": "cash"}, "payment_method"),
    ],
)
def test_bad_orders_get_400_naming_the_field_and_write_nothing(client, db, market, changes, field):
    token = token_for(client, "buyer@example.com")

    response = place(client, token, order_body(market, **changes))

    assert_error(response, 400, field=field)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_a_failed_order_leaves_its_key_free_for_a_retry(client, db, market):
    token = token_for(client, "buyer@example.com")

    assert_error(place(client, token, order_body(market, quantity=60)), 409, "out_of_stock")
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
    db.session.get(Product, market["rice"]).stock = 100
    db.session.commit()
    retried = place(client, token, order_body(market, quantity=60))

    assert retried.status_code == 201, retried.json
    assert retried.json["subtotal_satang"] == 60 * 35000
    db.session.expire_all()
    assert db.session.get(Product, market["rice"]).stock == 40


def test_service_field_names_come_back_as_the_api_names_them(client, db, market):
    token = token_for(client, "buyer@example.com")
    wrong_place = {**SHIPPING, "subdistrict_code": "999999"}
    no_name = {**SHIPPING, "name": "  "}

    assert_error(
        place(client, token, order_body(market, shipping=wrong_place), "k1"),
        400,
        field="shipping.subdistrict_code",
    )
    assert_error(
        place(client, token, order_body(market, shipping=no_name), "k2"),
        400,
        field="shipping.name",
    )


@pytest.mark.parametrize(
    ("request_args", "field"),
    [
        ({"data": '{"email": "\\ud800", "password": "x"}'}, "email"),
        ({"data": "[" * 100_000 + "]" * 100_000}, None),
        ({"data": '{"email": 1e400, "password": "x"}'}, "email"),
    ],
    ids=["lone-surrogate", "nested-deep", "huge-number"],
)
def test_strange_json_is_a_400_not_a_500(client, db, request_args, field):
    response = client.post("/api/v1/tokens", content_type="application/json", **request_args)
    assert_error(response, 400, field=field)


def test_strange_ids_and_keys_are_400s(client, db, market):
    token = token_for(client, "buyer@example.com")

    assert_error(client.get("/api/v1/products?seller=" + "9" * 5000), 400, field="seller")
    assert_error(client.get("/api/v1/orders?cursor=-1", headers=auth(token)), 400)
    body = {**order_body(market), "note": "\ud800"}
    response = client.post(
        "/api/v1/orders",
        data=json.dumps(body),
        content_type="application/json",
        headers={**auth(token), "Idempotency-Key": "two words"},
    )
    assert_error(response, 400, field="Idempotency-Key")
    assert_error(
        place(client, token, {**order_body(market), "shipping": {**SHIPPING, "name": "\ud800"}}),
        400,
        field="shipping.name",
    )
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_unknown_archived_and_sold_out_products(client, db, market):
    token = token_for(client, "buyer@example.com")
    archived = ProductFactory(status="archived")
    db.session.commit()

    assert_error(
        place(
            client,
            token,
            {**order_body(market), "items": [{"product_id": 999999, "quantity": 1}]},
            "k1",
        ),
        400,
    )
    assert_error(
        place(
            client,
            token,
            {**order_body(market), "items": [{"product_id": archived.id, "quantity": 1}]},
            "k2",
        ),
        400,
    )
    assert_error(place(client, token, order_body(market, quantity=51), "k3"), 409, "out_of_stock")


def test_transfer_flow_with_levies_refunds_and_shipping(client, db, market):
    buyer = token_for(client, "buyer@example.com")
    admin = token_for(client, "admin@example.com")
    treasurer = token_for(client, "ta@example.com")
    member = token_for(client, "a@example.com")
    order = place(client, buyer, order_body(market)).json

    paid = client.post(
        f"/api/v1/orders/{order['id']}/payment-confirmations",
        json={"reference": "KTB"},
        headers=auth(admin),
    )
    assert paid.status_code == 200 and paid.json["status"] == "paid"
    report = client.get(
        f"/api/v1/funds/{market['fund_a']}/levy-report?from=2026-01-01&to=2030-12-31",
        headers=auth(treasurer),
    )
    assert report.json["accrued_satang"] == 4000

    item = order["shipments"][0]["items"][0]
    refund = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        json={"items": [{"order_item_id": item["id"], "quantity": 3}]},
        headers=auth(admin),
    )
    assert refund.status_code == 201 and refund.json["amount_satang"] == 3 * 35000
    report = client.get(
        f"/api/v1/funds/{market['fund_a']}/levy-report?from=2026-01-01&to=2030-12-31",
        headers=auth(treasurer),
    ).json
    assert (report["accrued_satang"], report["reversed_satang"], report["net_satang"]) == (
        4000,
        1200,
        2800,
    )
    assert report["by_product"][0]["product_id"] == market["rice"]
    assert report["by_buyer_province"][0]["name"] == "ภูเก็ต"
    in_english = client.get(
        f"/api/v1/funds/{market['fund_a']}/levy-report?from=2026-01-01&to=2030-12-31",
        headers={**auth(treasurer), "Accept-Language": "en"},
    ).json
    assert in_english["by_buyer_province"][0]["name"] == "Phuket"
    assert in_english["net_satang"] == 2800
    as_member = client.get(f"/api/v1/orders/{order['id']}", headers=auth(member)).json
    assert as_member["refunded_satang"] == 3 * 35000

    shipment_id = order["shipments"][0]["id"]
    shipped = client.post(
        f"/api/v1/shipments/{shipment_id}/ship",
        json={"carrier": "ไปรษณีย์ไทย", "tracking_number": "EF1TH"},
        headers=auth(member),
    )
    assert shipped.status_code == 200 and shipped.json["status"] == "shipped"
    fund = client.get(f"/api/v1/funds/{market['fund_a']}", headers=auth(treasurer)).json
    assert fund["balance_satang"] == 2800
    ledger = client.get(f"/api/v1/funds/{market['fund_a']}/ledger", headers=auth(treasurer)).json
    assert [e["levy_satang"] for e in ledger["items"]] == [4000, -1200]
    assert all(
        len(e["hash"]) == 64 and sum(line["amount_satang"] for line in e["lines"]) == 0
        for e in ledger["items"]
    )
    assert_error(
        client.post(
            f"/api/v1/orders/{order['id']}/refunds",
            json={"items": [{"order_item_id": item["id"], "quantity": 8}]},
            headers=auth(admin),
        ),
        409,
    )
    everything = client.post(f"/api/v1/orders/{order['id']}/refunds", json={}, headers=auth(admin))
    assert everything.status_code == 201
    assert everything.json["amount_satang"] == 7 * 35000 + order["shipping_satang"]
    assert_error(
        client.post(f"/api/v1/orders/{order['id']}/refunds", json={}, headers=auth(admin)),
        409,
        field="items",
    )
    report = client.get(
        f"/api/v1/funds/{market['fund_a']}/levy-report?from=2026-01-01&to=2030-12-31",
        headers=auth(treasurer),
    ).json
    assert (report["reversed_satang"], report["net_satang"]) == (4000, 0)
    assert_error(
        client.get(
            f"/api/v1/funds/{market['fund_a']}/levy-report?from=2026-05-01&to=2026-01-01",
            headers=auth(treasurer),
        ),
        400,
    )


def test_sellers_see_only_their_shipments_of_an_order(client, db, market):
    buyer = token_for(client, "buyer@example.com")
    body = order_body(market)
    body["items"].append({"product_id": market["basket"], "quantity": 1})
    order = place(client, buyer, body).json

    as_a = client.get(
        f"/api/v1/orders/{order['id']}", headers=auth(token_for(client, "a@example.com"))
    ).json
    as_buyer = client.get(f"/api/v1/orders/{order['id']}", headers=auth(buyer)).json

    assert [s["seller_id"] for s in as_a["shipments"]] == [market["seller_a"]] and as_a[
        "payment"
    ] is None
    assert len(as_buyer["shipments"]) == 2
    # The seller's figures add up over their own shipment only: no other seller's sales.
    mine = as_a["shipments"][0]
    assert as_a["subtotal_satang"] == 10 * 35000
    assert as_a["shipping_satang"] == mine["shipping_satang"]
    assert as_a["total_satang"] == 10 * 35000 + mine["shipping_satang"]
    assert as_buyer["subtotal_satang"] == 10 * 35000 + 45000
    assert as_a["levy_total_satang"] == as_buyer["levy_total_satang"] == 4000
    assert [o["id"] for o in client.get("/api/v1/orders", headers=auth(buyer)).json["items"]] == [
        order["id"]
    ]


def test_my_orders_come_a_page_at_a_time_newest_first(client, db, market, monkeypatch):
    from marketplace.api import views

    monkeypatch.setattr(views, "ORDERS_PAGE", 2)
    buyer = token_for(client, "buyer@example.com")
    placed = [
        place(client, buyer, order_body(market, quantity=1), f"k{n}").json["id"] for n in range(3)
    ]
    place(client, token_for(client, "other@example.com"), order_body(market, quantity=1))

    first = client.get("/api/v1/orders", headers=auth(buyer)).json
    second = client.get(f"/api/v1/orders?cursor={first['next_cursor']}", headers=auth(buyer)).json

    assert [o["id"] for o in first["items"]] == placed[::-1][:2]
    assert [o["id"] for o in second["items"]] == placed[:1] and second["next_cursor"] is None
    assert all(o["payment"]["provider"] == "transfer" for o in first["items"] + second["items"])


def test_a_new_product_shows_the_levies_its_seller_agreed(client, db, market):
    member = SellerMemberFactory(user__email="c@example.com")
    treasurer = FundTreasurerFactory(user__email="tc@example.com")
    agreed_levy(member, treasurer, kind="percent", rate=200)
    db.session.commit()

    created = client.post(
        "/api/v1/products",
        json={
            "name": "ผ้าขาวม้า",
            "category": "woven-handicraft",
            "unit": "ผืน",
            "price_satang": 25000,
            "stock": 5,
            "weight_grams": 200,
            "status": "active",
        },
        headers=auth(token_for(client, "c@example.com")),
    )

    assert created.status_code == 201, created.json
    assert [(lv["fund_id"], lv["kind"], lv["basis_points"]) for lv in created.json["levies"]] == [
        (treasurer.fund_id, "percent", 200)
    ]


# Authorisation, role by endpoint


ROLES = {
    "anonymous": None,
    "buyer": "buyer@example.com",
    "other_buyer": "other@example.com",
    "member_a": "a@example.com",
    "member_b": "b@example.com",
    "treasurer_a": "ta@example.com",
    "treasurer_b": "tb@example.com",
    "admin": "admin@example.com",
}

#: endpoint -> expected status per role (ordered as ROLES).
TABLE = [
    ("GET", "/api/v1/orders/{order}", None, [401, 200, 404, 200, 404, 404, 404, 200]),
    ("GET", "/api/v1/orders", None, [401, 200, 200, 200, 200, 200, 200, 200]),
    (
        "POST",
        "/api/v1/orders/{order}/payment-confirmations",
        {},
        [401, 403, 403, 403, 403, 403, 403, 409],  # already paid
    ),
    (
        "POST",
        "/api/v1/orders/{order}/refunds",
        {"items": [{"order_item_id": "{item}", "quantity": 1}]},
        [401, 403, 403, 403, 403, 403, 403, 201],
    ),
    (
        "POST",
        "/api/v1/shipments/{shipment}/ship",
        {"carrier": "x", "tracking_number": "y"},
        [401, 404, 404, 200, 404, 404, 404, 409],
    ),
    ("PATCH", "/api/v1/products/{rice}", {"stock": 30}, [401, 404, 404, 200, 404, 404, 404, 200]),
    (
        "POST",
        "/api/v1/products",
        {
            "name": "x",
            "category": "other",
            "unit": "ชิ้น",
            "price_satang": 100,
            "stock": 1,
            "weight_grams": 1,
            "seller_id": "{seller_a}",
        },
        [401, 403, 403, 201, 403, 403, 403, 201],
    ),
    ("GET", "/api/v1/funds/{fund_a}", None, [401, 403, 403, 403, 403, 200, 403, 200]),
    ("GET", "/api/v1/funds/{fund_a}/levy-report", None, [401, 403, 403, 403, 403, 200, 403, 200]),
    ("GET", "/api/v1/funds/{fund_a}/ledger", None, [401, 403, 403, 403, 403, 200, 403, 200]),
    ("DELETE", "/api/v1/tokens/current", None, [401, 204, 204, 204, 204, 204, 204, 204]),
    ("GET", "/api/v1/products", None, [200] * 8),
    ("GET", "/api/v1/openapi.json", None, [200] * 8),
]


def _fill(value, ids):
    if isinstance(value, str):
        for key, number in ids.items():
            if value == "{" + key + "}":
                return number
            value = value.replace("{" + key + "}", str(number))
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), TABLE, ids=[f"{m} {p}" for m, p, _b, _e in TABLE]
)
def test_every_endpoint_checks_who_is_asking(client, db, market, method, path, body, expected):
    buyer = token_for(client, "buyer@example.com")
    order = place(client, buyer, order_body(market, quantity=1)).json
    client.post(  # a paid order: its seller has something to ship, the admin to refund
        f"/api/v1/orders/{order['id']}/payment-confirmations",
        json={},
        headers=auth(token_for(client, "admin@example.com")),
    )
    ids = {
        **market,
        "order": order["id"],
        "item": order["shipments"][0]["items"][0]["id"],
        "shipment": order["shipments"][0]["id"],
    }
    for (role, email), want in zip(ROLES.items(), expected, strict=True):
        headers = auth(token_for(client, email)) if email else {}
        response = client.open(
            _fill(path, ids), method=method, json=_fill(body, ids), headers=headers
        )
        assert response.status_code == want, (
            f"{role}: {response.status_code} {response.get_data(as_text=True)[:200]}"
        )


def test_the_openapi_document_describes_every_route(app, client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    documented = {
        (path, method.upper())
        for path, operations in doc["paths"].items()
        for method in operations
        if method != "parameters"
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint.startswith("api."):
            path = rule.rule.replace("<int:", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                served.add((path, method))
    assert served == documented
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            errors = {s: r for s, r in operation["responses"].items() if s.startswith("4")}
            assert "429" in errors, (path, method)
            for answer in errors.values():  # every error answer is the one envelope
                component = doc["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
                schema = component["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, method)
    assert set(doc["components"]["schemas"]["Error"]["properties"]) == {"error"}


def _documented_limits(schema):
    """What the document says each field accepts."""
    keys = ("maxLength", "minLength", "minimum", "maximum", "enum", "maxItems", "minItems")
    return {
        name: {
            key: [v for v in value if v is not None] if key == "enum" else value  # null: absent
            for key, value in spec.items()
            if key in keys
        }
        for name, spec in schema["properties"].items()
    }


def _enforced_limits(schema_class):
    """What the schema's validators enforce, in the document's words."""
    from marshmallow import validate

    limits = {}
    for name, field in schema_class().fields.items():
        found = {}
        is_list = field.__class__.__name__ == "ListOf"
        for validator in field.validators:
            if isinstance(validator, validate.Length):
                prefix = "Items" if is_list else "Length"
                if validator.max is not None:
                    found[f"max{prefix}"] = validator.max
                if validator.min is not None:
                    found[f"min{prefix}"] = validator.min
            elif isinstance(validator, validate.Range):
                found.update(minimum=validator.min, maximum=validator.max)
            elif isinstance(validator, validate.OneOf):
                found["enum"] = list(validator.choices)
        limits[field.data_key or name] = found
    return limits


def test_the_document_states_the_limits_the_api_enforces(client, db, market):
    from marketplace.api import schemas
    from marketplace.catalog.forms import ProductForm
    from marketplace.catalog.models import Product
    from marketplace.limits import length

    doc = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    for name in (
        "NewUser",
        "Credentials",
        "NewProduct",
        "ProductChanges",
        "NewOrder",
        "OrderLine",
        "ShippingAddress",
        "RefundLine",
        "ShipRequest",
    ):
        documented = _documented_limits(doc[name])
        for field, limits in _enforced_limits(getattr(schemas, name)).items():
            for key, value in limits.items():
                assert documented[field].get(key) == value, (name, field, key)
    # One limit, everywhere: the column, the page's form, the API document.
    name_length = length(Product.name_th)
    form_limit = next(v.max for v in ProductForm.name_th.kwargs["validators"] if hasattr(v, "max"))
    assert form_limit == name_length == doc["NewProduct"]["properties"]["name"]["maxLength"]
    # ...and the API holds to it: the longest name is taken, one more character is not.
    token = token_for(client, "a@example.com")
    body = {
        "name": "ข" * name_length,
        "category": "rice-grains",
        "unit": "ถุง",
        "price_satang": 100,
        "stock": 1,
        "weight_grams": 100,
    }
    created = client.post("/api/v1/products", json=body, headers=auth(token))
    assert created.status_code == 201, created.json
    assert created.json["name"] == "ข" * name_length
    too_long = client.post(
        "/api/v1/products", json={**body, "name": "ข" * (name_length + 1)}, headers=auth(token)
    )
    assert_error(too_long, 400, field="name")
