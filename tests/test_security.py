"""Security headers on every response, and pages the Content-Security-Policy lets run."""

import re

import pytest
from sqlalchemy import select

from config import ProductionConfig
from marketplace.orders.models import Order
from tests.factories import AdminFactory, FundTreasurerFactory, ProductFactory, UserFactory
from tests.test_orders import checkout_fields
from tests.test_stripe import localstripe, order_by_card, shop, stripe_app  # noqa: F401


def directives(response):
    policy = response.headers["Content-Security-Policy"]
    return {
        name: sources
        for name, *sources in (part.split() for part in policy.split(";") if part.strip())
    }


def assert_secure_headers(response):
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize(
    "url",
    ["/", "/products", "/login", "/static/css/site.css", "/no-such-page", "/api/v1/products"],
)
def test_every_response_carries_the_security_headers(client, url):
    with client.get(url) as response:
        assert_secure_headers(response)
        policy = directives(response)
    # Only the pages that load Stripe.js let anything come from another host.
    for name in ("script-src", "style-src", "img-src", "font-src", "connect-src"):
        assert policy[name] == ["'self'"], name
    assert policy["frame-src"] == ["'none'"]
    assert "Strict-Transport-Security" not in response.headers


def test_admin_buttons_cannot_be_framed(make_app, db):
    app = make_app()
    AdminFactory(email="admin@example.com")
    db.session.commit()
    client = app.test_client()
    client.login("admin@example.com")

    for url in ("/admin/", "/admin/orders"):
        response = client.get(url)
        assert response.status_code == 200
        assert_secure_headers(response)


def test_hsts_in_production_only():
    production = ProductionConfig(env={})
    assert production.HSTS_MAX_AGE == 365 * 86400
    assert ProductionConfig(env={"HSTS_MAX_AGE": "0"}).HSTS_MAX_AGE == 0


def test_hsts_header_when_configured(make_app):
    client = make_app(HSTS_MAX_AGE=31536000).test_client()

    response = client.get("/")

    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_stripe_js_is_allowed_on_the_payment_page_alone(stripe_app, shop):  # noqa: F811
    client, order_id, page = order_by_card(stripe_app, shop)
    assert 'src="https://js.stripe.com/v3/"' in page
    response = client.get(f"/orders/{order_id}")

    policy = directives(response)
    assert_secure_headers(response)
    assert "https://js.stripe.com" in policy["script-src"]
    assert "https://js.stripe.com" in policy["frame-src"]
    assert "https://api.stripe.com" in policy["connect-src"]
    assert policy["style-src"] == ["'self'"] and policy["img-src"] == ["'self'"]
    assert directives(client.get("/"))["script-src"] == ["'self'"]


#: What a strict policy refuses in a page: inline scripts, style attributes and <style>
#: elements, on… handlers, javascript: and data: URLs, and anything from another host
#: (Stripe.js aside, which the payment page alone allows).
INLINE = [
    re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I),
    re.compile(r"<style\b", re.I),
    re.compile(r"\sstyle=", re.I),
    re.compile(r"\son[a-z]+=", re.I),
    re.compile(r"javascript:", re.I),
    re.compile(r"""(?:src|href)=["']data:""", re.I),
    re.compile(r"""(?:src|href|action)=["']https?://(?!js\.stripe\.com/)""", re.I),
]


def assert_nothing_the_policy_blocks(page, url):
    for pattern in INLINE:
        match = pattern.search(page)
        assert match is None, f"{url}: {pattern.pattern} at {page[match.start() - 80 :][:200]}"


def test_pages_hold_nothing_the_policy_blocks(make_app, db):
    app = make_app()
    treasurer = FundTreasurerFactory(user__email="treasurer@example.com")
    rice = ProductFactory(name_th="ข้าวหอมมะลิ", stock=20)
    AdminFactory(email="admin@example.com")
    UserFactory(email="buyer@example.com")
    db.session.commit()
    buyer = app.test_client()
    buyer.login("buyer@example.com")
    buyer.submit("/cart/add", {"product_id": rice.id, "quantity": "2"})
    checkout = buyer.get("/checkout")
    placed = buyer.submit("/checkout", checkout_fields())
    assert placed.status_code == 303, placed.get_data(as_text=True)
    order = db.session.scalar(select(Order))
    admin = app.test_client()
    admin.login("admin@example.com")
    fund = app.test_client()
    fund.login("treasurer@example.com")

    pages = {
        "/": buyer.get("/"),
        "/products": buyer.get("/products"),
        f"/products/{rice.id}": buyer.get(f"/products/{rice.id}"),
        "/cart": buyer.get("/cart"),
        "/checkout": checkout,
        f"/orders/{order.id}": buyer.get(f"/orders/{order.id}"),
        "/account": buyer.get("/account"),
        "/admin/": admin.get("/admin/"),
        "/admin/orders": admin.get("/admin/orders"),
        f"/admin/orders/{order.id}": admin.get(f"/admin/orders/{order.id}"),
        "/admin/users": admin.get("/admin/users"),
        "/admin/categories": admin.get("/admin/categories"),
        f"/funds/{treasurer.fund_id}": fund.get(f"/funds/{treasurer.fund_id}"),
        "fund dashboard": fund.get(f"/funds/{treasurer.fund_id}/dashboard"),
        "levy report": fund.get(f"/funds/{treasurer.fund_id}/levies"),
    }
    for url, response in pages.items():
        assert response.status_code == 200, url
        assert_secure_headers(response)
        assert_nothing_the_policy_blocks(response.get_data(as_text=True), url)
    assert "<svg" in pages[f"/orders/{order.id}"].get_data(as_text=True)  # the PromptPay QR
