"""Stock never oversells: 50 buyers at once for 10 units on real PostgreSQL."""

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from marketplace.cart.models import CartItem
from marketplace.catalog.models import Product
from marketplace.orders.models import Order, OrderItem
from tests.factories import ProductFactory, UserFactory
from tests.test_orders import checkout_fields

BUYERS = 50
STOCK = 10


@pytest.mark.postgres_only
def test_fifty_concurrent_checkouts_sell_exactly_the_stock(app, db):
    product = ProductFactory(name_th="ข้าวหอมมะลิ ล็อตสุดท้าย", stock=STOCK)
    buyers = [UserFactory(email=f"buyer{n}@example.com") for n in range(BUYERS)]
    db.session.flush()
    db.session.add_all(CartItem(user_id=b.id, product_id=product.id, quantity=1) for b in buyers)
    db.session.commit()
    clients = []
    for buyer in buyers:
        client = app.test_client()
        client.login(buyer.email)
        clients.append((client, client.csrf_token()))

    start = threading.Barrier(BUYERS)
    statuses, bodies = [None] * BUYERS, [None] * BUYERS

    def checkout(n):
        client, token = clients[n]
        start.wait()
        response = client.post("/checkout", data={"csrf_token": token, **checkout_fields()})
        statuses[n], bodies[n] = response.status_code, response.get_data(as_text=True)

    threads = [threading.Thread(target=checkout, args=(n,)) for n in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert Counter(statuses) == {303: STOCK, 409: BUYERS - STOCK}, Counter(statuses)
    refused = [body for status, body in zip(statuses, bodies, strict=True) if status == 409]
    # Each refused buyer is told which product ran out (the page escapes the product's name).
    assert all("ข้าวหอมมะลิ ล็อตสุดท้าย สินค้าหมด" in body for body in refused)
    db.session.expire_all()
    assert db.session.scalar(select(Product.stock).where(Product.id == product.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(Order)) == STOCK
    assert db.session.scalar(select(func.sum(OrderItem.quantity))) == STOCK
