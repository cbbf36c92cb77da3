"""Buying across provinces: cart, checkout, shipments, payment by transfer, fulfilment."""

import io
import logging
import re
from datetime import timedelta

import pytest
import segno
from PIL import Image
from sqlalchemy import func, select

from marketplace.cart.models import CartItem
from marketplace.catalog.models import Product, ProductStatus
from marketplace.dbtypes import utcnow
from marketplace.i18n import to_bangkok
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderItem, OrderStatus, Shipment, ShipmentStatus
from marketplace.outbox.models import OutboxMessage
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.payments.promptpay import payload
from marketplace.shipping.models import ShippingRate
from tests.factories import (
    AdminFactory,
    ProductFactory,
    SellerFactory,
    SellerMemberFactory,
    UserFactory,
)

RAWAI = {"province": "83", "district": "8301", "subdistrict": "830107", "postal_code": "83130"}
KO_SAMUI = {"province": "84", "district": "8404", "subdistrict": "840401", "postal_code": "84140"}


def checkout_fields(place=RAWAI, **changes):
    data = {
        "ship_name": "สมศรี ใจดี",
        "ship_phone": "0812345678",
        "address_line": "45/2 หมู่ 3",
        "payment_method": "transfer",
        "action": "place",
        **place,
    }
    data.update(changes)
    return data


def count(db, model):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def buyer(client, db):
    user = UserFactory(email="buyer@example.com")
    db.session.commit()
    client.login("buyer@example.com")
    return user


def add(client, product, quantity=1):
    return client.submit("/cart/add", {"product_id": product.id, "quantity": str(quantity)})


def place(client, place=RAWAI, **changes):
    return client.submit("/checkout", checkout_fields(place, **changes))


def latest_order(db):
    db.session.rollback()
    return db.session.scalar(select(Order).order_by(Order.id.desc()))


# The cart


def test_cart_add_change_remove(client, db, buyer):
    rice = ProductFactory(name_th="ข้าวหอมมะลิ", stock=5)
    db.session.commit()

    assert add(client, rice, 2).status_code == 303
    assert add(client, rice, 1).status_code == 303
    assert db.session.scalar(select(CartItem.quantity)) == 3
    client.submit(f"/cart/{rice.id}", {"quantity": "5"})
    assert db.session.scalar(select(CartItem.quantity)) == 5
    page = client.get("/cart").get_data(as_text=True)
    assert "ข้าวหอมมะลิ" in page and "฿500.00" in page
    client.submit(f"/cart/{rice.id}/remove", {})
    assert count(db, CartItem) == 0


@pytest.mark.parametrize("quantity", ["0", "-1", "1000", "abc", "1.5", "6", ""])
def test_cart_refuses_bad_quantities_and_writes_nothing(client, db, buyer, quantity):
    rice = ProductFactory(stock=5)
    db.session.commit()

    response = add(client, rice, quantity)

    assert response.status_code == 303
    assert count(db, CartItem) == 0
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="flash flash-error"' in follow


def test_cart_refuses_unknown_archived_and_unverified_products(client, db, buyer):
    archived = ProductFactory(status=ProductStatus.ARCHIVED)
    hidden = ProductFactory(seller__verified=False)
    db.session.commit()

    for product_id in (archived.id, hidden.id, 999999):
        client.submit("/cart/add", {"product_id": product_id, "quantity": "1"})

    assert count(db, CartItem) == 0


def test_guest_cart_is_merged_at_login_capped_to_stock(client, db):
    rice = ProductFactory(stock=4)
    basket = ProductFactory(stock=10)
    user = UserFactory(email="buyer@example.com")
    db.session.add(CartItem(user_id=user.id, product_id=rice.id, quantity=3))
    db.session.commit()

    add(client, rice, 2)  # as a guest: kept in the session
    add(client, basket, 1)
    assert count(db, CartItem) == 1
    client.login("buyer@example.com")

    lines = dict(db.session.execute(select(CartItem.product_id, CartItem.quantity)).all())
    assert lines == {rice.id: 4, basket.id: 1}  # 3 + 2 capped to the 4 in stock


def test_cart_groups_lines_by_seller(client, db, buyer):
    first, second = SellerFactory(name_th="กลุ่มหนึ่ง"), SellerFactory(name_th="กลุ่มสอง")
    for seller in (first, first, second):
        add_product = ProductFactory(seller=seller)
        db.session.commit()
        add(client, add_product)

    page = client.get("/cart").get_data(as_text=True)

    assert page.count('class="panel seller-group"') == 2


# Checkout


def test_three_seller_order_makes_three_shipments_that_add_up_to_the_satang(client, db, buyer):
    chaiyaphum = SellerFactory(subdistrict_code="360201", postal_code="36170")
    satun = SellerFactory(subdistrict_code="910602", postal_code="91120", offers_pickup=True)
    nakhon = SellerFactory(subdistrict_code="800304", postal_code="80230")
    db.session.add_all(
        [
            ShippingRate(seller_id=nakhon.id, max_weight_grams=2000, fee_satang=3333),
            ShippingRate(seller_id=nakhon.id, max_weight_grams=10000, fee_satang=7777),
        ]
    )
    seed = ProductFactory(seller=chaiyaphum, price_satang=10, weight_grams=100, stock=50)
    rice = ProductFactory(seller=chaiyaphum, price_satang=35001, weight_grams=5050, stock=50)
    basket = ProductFactory(seller=satun, price_satang=45050, weight_grams=400, stock=50)
    seedling = ProductFactory(seller=nakhon, price_satang=8099, weight_grams=1500, stock=50)
    db.session.commit()
    add(client, seed, 3)  # ฿0.10 × 3
    add(client, rice, 1)
    add(client, basket, 2)
    add(client, seedling, 3)

    response = place(client, **{f"method-{satun.id}": "pickup"})

    assert response.status_code == 303, response.get_data(as_text=True)
    order = latest_order(db)
    shipments = {s.seller_id: s for s in order.shipments}
    assert set(shipments) == {chaiyaphum.id, satun.id, nakhon.id}
    # Chaiyaphum: 300 g + 5,050 g = 5,350 g, over 5 kg: platform tier up to 10 kg, ฿140.
    assert (shipments[chaiyaphum.id].weight_grams, shipments[chaiyaphum.id].shipping_satang) == (
        5350,
        14000,
    )
    assert shipments[chaiyaphum.id].subtotal_satang == 30 + 35001
    # Satun: picked up, free.
    assert (shipments[satun.id].method, shipments[satun.id].shipping_satang) == ("pickup", 0)
    # Nakhon Si Thammarat: its own table, 4,500 g in the 10 kg tier.
    assert shipments[nakhon.id].shipping_satang == 7777
    assert order.subtotal_satang == 30 + 35001 + 2 * 45050 + 3 * 8099 == 149428
    assert order.shipping_satang == 14000 + 0 + 7777
    assert order.total_satang == order.subtotal_satang + order.shipping_satang == 171205
    items = db.session.scalars(select(OrderItem)).all()
    assert sum(i.line_total_satang for i in items) == order.subtotal_satang
    assert all(i.line_total_satang == i.unit_price_satang * i.quantity for i in items)
    # Stock taken, cart emptied, payment waiting for the total.
    db.session.refresh(seed)
    assert seed.stock == 47
    assert count(db, CartItem) == 0
    payment = db.session.scalar(select(Payment))
    assert (payment.provider, payment.amount_satang, payment.status) == (
        "transfer",
        171205,
        PaymentStatus.PENDING,
    )
    assert order.number == f"TC-{order.id:06d}"


def test_remote_area_surcharge(client, db, buyer):
    product = ProductFactory(weight_grams=800)
    db.session.commit()
    add(client, product)

    place(client, KO_SAMUI)

    order = latest_order(db)
    assert order.shipping_satang == 4500 + 5000  # up to 1 kg, plus the island surcharge


def test_pickup_is_refused_for_a_seller_that_does_not_offer_it(app, db):
    product = ProductFactory()
    buyer = UserFactory()
    db.session.commit()
    from marketplace.errors import DomainError

    with pytest.raises(DomainError):
        orders.place_order(
            buyer,
            [(product.id, 1)],
            address={
                "name": "x",
                "phone": "0812345678",
                "address_line": "1",
                "subdistrict_code": "830107",
                "postal_code": "83130",
            },
            methods={product.seller_id: "pickup"},
        )


def test_two_lines_for_one_product_are_summed_before_reserving(app, db):
    product = ProductFactory(stock=3)
    buyer = UserFactory()
    db.session.commit()
    address = {
        "name": "x",
        "phone": "0812345678",
        "address_line": "1",
        "subdistrict_code": "830107",
        "postal_code": "83130",
    }
    from marketplace.orders.services import OutOfStock

    with pytest.raises(OutOfStock):
        orders.place_order(buyer, [(product.id, 2), (product.id, 2)], address=address)
    db.session.rollback()
    order = orders.place_order(buyer, [(product.id, 2), (product.id, 1)], address=address)
    db.session.commit()

    assert [(i.product_id, i.quantity) for i in order.items] == [(product.id, 3)]
    db.session.refresh(product)
    assert product.stock == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"postal_code": "10110"},  # a postal code of Bangkok, not of Rawai
        {"subdistrict": "360201"},  # a subdistrict outside the district
        {"ship_phone": "123"},
        {"ship_name": ""},
        {"payment_method": "cash"},
    ],
)
def test_bad_checkout_input_writes_nothing(client, db, buyer, changes):
    product = ProductFactory(stock=5)
    db.session.commit()
    add(client, product, 2)

    response = place(client, **changes)

    assert response.status_code == 400
    assert count(db, Order) == 0 and count(db, Payment) == 0
    db.session.refresh(product)
    assert product.stock == 5
    assert count(db, CartItem) == 1


def test_out_of_stock_at_checkout_is_a_clean_409(client, db, buyer):
    product = ProductFactory(name_th="ของชิ้นสุดท้าย", stock=2)
    db.session.commit()
    add(client, product, 2)
    product.stock = 1  # someone else bought one meanwhile
    db.session.commit()

    response = place(client)

    assert response.status_code == 409
    assert "ของชิ้นสุดท้าย" in response.get_data(as_text=True)
    assert count(db, Order) == 0
    db.session.refresh(product)
    assert product.stock == 1


def test_checkout_preview_updates_fees_without_ordering(client, db, buyer):
    product = ProductFactory(weight_grams=800)
    db.session.commit()
    add(client, product)

    page = client.submit("/checkout", checkout_fields(KO_SAMUI, action="preview"))

    assert page.status_code == 200
    assert "฿95.00" in page.get_data(as_text=True)  # ฿45 + ฿50 remote surcharge
    assert count(db, Order) == 0


# Seeing orders


def test_buyer_sees_own_orders_only(client, db, buyer):
    product = ProductFactory()
    db.session.commit()
    add(client, product)
    place(client)
    mine = latest_order(db)
    other_buyer = UserFactory(email="other@example.com")
    db.session.commit()

    assert client.get(f"/orders/{mine.id}").status_code == 200
    assert mine.number in client.get("/orders").get_data(as_text=True)
    client.submit("/logout", {})
    client.login("other@example.com")
    assert client.get(f"/orders/{mine.id}").status_code == 404
    assert mine.number not in client.get("/orders").get_data(as_text=True)
    assert client.submit(f"/orders/{mine.id}/cancel", {}).status_code == 404
    assert other_buyer.id != mine.buyer_id


def test_order_page_shows_a_promptpay_qr_for_the_exact_amount(app, client, db, buyer):
    product = ProductFactory(price_satang=35010, weight_grams=500)
    db.session.commit()
    add(client, product)
    place(client)
    order = latest_order(db)

    page = client.get(f"/orders/{order.id}").get_data(as_text=True)

    assert f'src="/orders/{order.id}/promptpay.png"' in page
    assert "฿395.10" in page  # ฿350.10 + ฿45 shipping
    code = payload(app.config["PROMPTPAY_ID"], order.total_satang)
    assert "5406395.10" in code  # EMVCo tag 54: the amount
    assert crc16(code[:-4]) == code[-4:]


def qr_modules(png, size, scale=10, border=4):
    """The dark and light modules of the ``size``×``size`` QR code drawn in ``png`` as
    promptpay.png draws it (centred across, at the top, ``scale`` pixels a module)."""
    image = Image.open(io.BytesIO(png)).convert("L")
    left = (image.width - (size + 2 * border) * scale) // 2
    centre = scale // 2
    return [
        [
            image.getpixel((left + (border + x) * scale + centre, (border + y) * scale + centre))
            < 128
            for x in range(size)
        ]
        for y in range(size)
    ]


def test_the_saved_qr_is_a_png_of_the_exact_amount_for_the_buyer_alone(app, client, db, buyer):
    product = ProductFactory(price_satang=35010, weight_grams=500)
    AdminFactory(email="admin@example.com")
    UserFactory(email="other@example.com")
    db.session.commit()
    add(client, product)
    place(client)
    order = latest_order(db)
    url = f"/orders/{order.id}/promptpay.png"

    shown = client.get(url)
    saved = client.get(f"{url}?download=1")

    assert shown.status_code == 200 and shown.mimetype == "image/png"
    assert shown.data.startswith(b"\x89PNG") and "attachment" not in shown.headers.get(
        "Content-Disposition", ""
    )
    assert saved.headers["Content-Disposition"] == (
        f'attachment; filename="promptpay-{order.number}.png"'
    )
    expected = segno.make(payload(app.config["PROMPTPAY_ID"], 39510), error="m")
    assert "5406395.10" in payload(app.config["PROMPTPAY_ID"], 39510)
    matrix = [[bool(bit) for bit in row] for row in expected.matrix]
    assert qr_modules(saved.data, len(matrix)) == matrix
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f'href="{url}?download=1" download="promptpay-{order.number}.png"' in page

    for email in ("other@example.com", "admin@example.com"):
        client.submit("/logout", {})
        client.login(email)
        assert client.get(url).status_code == 404
    client.submit("/logout", {})
    assert client.get(url).status_code == 302  # to sign in

    orders.mark_paid(latest_order(db))
    db.session.commit()
    client.login("buyer@example.com")
    assert client.get(url).status_code == 404  # paid: nothing left to pay


def test_a_sent_reference_turns_the_page_into_we_are_checking(client, db, buyer):
    product = ProductFactory()
    db.session.commit()
    add(client, product)
    place(client)
    order = latest_order(db)
    before = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "ฉันชำระเงินแล้ว" in before and "promptpay.png" in before  # "I have paid"

    sent = client.submit(f"/orders/{order.id}/reference", {"reference": "KBANK-0042"})
    page = client.get(sent.headers["Location"]).get_data(as_text=True)

    assert "เรากำลังตรวจสอบการชำระเงินของคุณ" in page  # "We are checking your payment"
    assert "กำลังตรวจสอบการชำระเงิน" in page  # the order's state
    assert "KBANK-0042" in page
    payment = db.session.scalar(select(Payment))
    assert payment.submitted_at is not None
    assert to_bangkok(payment.submitted_at).strftime("%H:%M") in page  # when it was sent
    assert "ฉันชำระเงินแล้ว" not in page and "promptpay.png" not in page
    assert f"/orders/{order.id}/cancel" not in page
    # The buyer cannot cancel an order they say they paid, and it does not expire.
    assert client.submit(f"/orders/{order.id}/cancel", {}).status_code == 303
    assert orders.expire_unpaid(now=utcnow() + timedelta(days=3)) == 0
    assert latest_order(db).status == OrderStatus.PENDING_PAYMENT


def test_an_empty_reference_is_refused_next_to_its_field(client, db, buyer):
    product = ProductFactory()
    db.session.commit()
    add(client, product)
    place(client)
    order = latest_order(db)

    response = client.submit(f"/orders/{order.id}/reference", {"reference": "  "})

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    step = page[page.index('id="pay-reference"') :]
    form = step[: step.index("</form>")]
    assert f'action="/orders/{order.id}/reference#pay-reference"' in form
    assert 'class="field has-error"' in form
    assert "กรอกเลขอ้างอิงจากสลิปโอนเงิน" in form  # the error, in the form
    assert "autofocus" in form
    assert db.session.scalar(select(Payment.status)) == PaymentStatus.PENDING


def test_parcels_wait_for_the_payment_and_follow_the_order(client, db, buyer):
    rice, basket = ProductFactory(), ProductFactory()
    db.session.commit()
    add(client, rice)
    add(client, basket)
    place(client)
    order = latest_order(db)

    def states():
        page = client.get(f"/orders/{order.id}").get_data(as_text=True)
        return re.findall(r'class="badge state state-(\w+)">([^<]+)<', page)

    assert states() == [("waiting", "รอชำระเงิน")] * 2  # not "preparing" before anyone paid
    orders.mark_paid(latest_order(db))
    db.session.commit()
    assert states() == [("preparing", "กำลังเตรียมสินค้า")] * 2
    AdminFactory(email="admin@example.com")
    db.session.commit()
    client.submit("/logout", {})
    client.login("admin@example.com")
    client.submit(f"/admin/orders/{order.id}/cancel", {"reason": "ผู้ซื้อขอยกเลิก"})
    client.submit("/logout", {})
    client.login("buyer@example.com")
    assert states() == [("cancelled", "ยกเลิกแล้ว")] * 2


def test_english_order_page_writes_the_address_as_an_envelope_does(client, db, buyer):
    product = ProductFactory()
    db.session.commit()
    add(client, product)
    place(client)
    order = latest_order(db)

    thai = client.get(f"/orders/{order.id}").get_data(as_text=True)
    client.post("/language/en", data={"csrf_token": client.csrf_token()})
    english = client.get(f"/orders/{order.id}").get_data(as_text=True)

    assert "45/2 หมู่ 3 ตำบลราไวย์ อำเภอเมืองภูเก็ต จังหวัดภูเก็ต 83130" in thai
    assert "45/2 หมู่ 3, Rawai, Mueang Phuket, Phuket 83130" in english
    assert "Subdistrict" not in english and "District " not in english


def crc16(data):
    """CRC-16/CCITT-FALSE, as EMVCo QR payloads end with it."""
    crc = 0xFFFF
    for byte in data.encode("ascii"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


# Payment, fulfilment, notifications


def test_transfer_paid_order_goes_all_the_way_to_completed(client, db, caplog):
    caplog.set_level(logging.INFO, logger="marketplace.mail")
    membership = SellerMemberFactory(user__email="member@example.com")
    product = ProductFactory(seller=membership.seller, stock=10)
    UserFactory(email="buyer@example.com")
    AdminFactory(email="admin@example.com")
    db.session.commit()
    client.login("buyer@example.com")
    add(client, product, 2)
    place(client)
    order = latest_order(db)
    shipment = order.shipments[0]

    reference = client.submit(f"/orders/{order.id}/reference", {"reference": "KBANK-0042"})
    assert reference.status_code == 303
    assert db.session.scalar(select(Payment.status)) == PaymentStatus.SUBMITTED
    # The seller cannot ship before the money is confirmed.
    client.submit("/logout", {})
    client.login("member@example.com")
    ship_fields = {
        f"ship{shipment.id}-carrier": "thailand-post",
        f"ship{shipment.id}-tracking_number": "EF123456789TH",
    }
    early = client.submit(
        f"/sellers/{membership.seller_id}/shipments/{shipment.id}/ship", ship_fields
    )
    assert early.status_code == 404  # unpaid orders are not the seller's to see yet

    client.submit("/logout", {})
    client.login("admin@example.com")
    confirmed = client.submit(f"/admin/orders/{order.id}/confirm-payment", {"reference": "stmt 7"})
    assert confirmed.status_code == 303
    order = latest_order(db)
    assert order.status == OrderStatus.PAID and order.paid_at is not None
    assert "to=member@example.com" in caplog.text  # told to ship, after the commit

    client.submit("/logout", {})
    client.login("member@example.com")
    assert "EF" not in client.get(f"/sellers/{membership.seller_id}/shipments").get_data(
        as_text=True
    )
    shipped = client.submit(
        f"/sellers/{membership.seller_id}/shipments/{shipment.id}/ship", ship_fields
    )
    assert shipped.status_code == 303
    assert "to=buyer@example.com" in caplog.text and "EF123456789TH" in caplog.text

    client.submit("/logout", {})
    client.login("buyer@example.com")
    client.submit(f"/orders/{order.id}/shipments/{shipment.id}/received", {})
    order = latest_order(db)
    assert order.status == OrderStatus.COMPLETED
    assert order.shipments[0].status == ShipmentStatus.DELIVERED
    messages = db.session.scalars(select(OutboxMessage)).all()
    assert {m.task for m in messages} >= {
        "tasks.notifications.shipment_paid",
        "tasks.notifications.shipment_shipped",
    }
    assert all(m.is_done for m in messages)


def test_sellers_see_only_their_own_shipments(client, db):
    mine = SellerMemberFactory(user__email="member@example.com")
    theirs = ProductFactory(name_th="ของกลุ่มอื่น")
    buyer = UserFactory()
    db.session.commit()
    order = orders.place_order(
        buyer,
        [(theirs.id, 1)],
        address={
            "name": "x",
            "phone": "0812345678",
            "address_line": "1",
            "subdistrict_code": "830107",
            "postal_code": "83130",
        },
    )
    orders.mark_paid(order)
    db.session.commit()
    shipment = order.shipments[0]
    client.login("member@example.com")

    assert client.get(f"/sellers/{theirs.seller_id}/shipments").status_code == 403
    assert "ของกลุ่มอื่น" not in client.get(f"/sellers/{mine.seller_id}/shipments").get_data(
        as_text=True
    )
    response = client.submit(
        f"/sellers/{mine.seller_id}/shipments/{shipment.id}/ship",
        {"carrier": "x", "tracking_number": "y"},
    )
    assert response.status_code == 404
    db.session.refresh(shipment)
    assert shipment.status == ShipmentStatus.PREPARING


def _placed_order(db, stock=5, quantity=2, now=None):
    product = ProductFactory(stock=stock)
    buyer = UserFactory()
    db.session.commit()
    order = orders.place_order(
        buyer,
        [(product.id, quantity)],
        address={
            "name": "x",
            "phone": "0812345678",
            "address_line": "1",
            "subdistrict_code": "830107",
            "postal_code": "83130",
        },
        now=now,
    )
    db.session.commit()
    return order, product, buyer


def test_unpaid_order_past_its_timeout_is_cancelled_by_the_beat_task(app, db):
    old, product, _buyer = _placed_order(db, now=utcnow() - timedelta(hours=25))
    fresh, fresh_product, _ = _placed_order(db)
    assert product.stock == 3

    result = app.extensions["celery"].tasks["tasks.orders.expire_unpaid"].apply()

    assert result.get() == 1
    db.session.expire_all()
    assert old.status == OrderStatus.CANCELLED and "expired" in old.cancel_reason
    assert product.stock == 5
    assert fresh.status == OrderStatus.PENDING_PAYMENT and fresh_product.stock == 3
    assert db.session.scalar(select(Payment.status).where(Payment.order_id == old.id)) == (
        PaymentStatus.CANCELLED
    )


def test_buyer_cancels_an_unpaid_order_and_stock_returns(client, db, buyer):
    product = ProductFactory(stock=5)
    db.session.commit()
    add(client, product, 2)
    place(client)
    order = latest_order(db)

    client.submit(f"/orders/{order.id}/cancel", {"reason": "เปลี่ยนใจ"})

    db.session.expire_all()
    assert order.status == OrderStatus.CANCELLED
    assert product.stock == 5


def test_a_paid_order_is_cancelled_only_by_an_admin(app, db):
    order, product, buyer = _placed_order(db)
    admin = AdminFactory()
    orders.mark_paid(order)
    db.session.commit()
    from marketplace.errors import Conflict

    with pytest.raises(Conflict):
        orders.cancel_order(buyer, order)
    db.session.rollback()
    orders.cancel_order(admin, order, "ผู้ขายส่งไม่ได้")
    db.session.commit()

    db.session.expire_all()
    assert order.status == OrderStatus.CANCELLED and product.stock == 5


def test_illegal_transitions_are_refused(app, db):
    from marketplace.errors import Conflict
    from marketplace.orders.states import IllegalTransition

    order, _product, buyer = _placed_order(db)
    shipment = order.shipments[0]
    member = SellerMemberFactory(seller=shipment.seller).user
    db.session.commit()

    with pytest.raises(Conflict):  # not paid yet
        orders.ship(member, shipment, carrier="x", tracking_number="y")
    orders.mark_paid(order)
    with pytest.raises(IllegalTransition):
        orders.mark_paid(order)
    with pytest.raises(IllegalTransition):
        orders.confirm_delivery(buyer, shipment)  # not shipped yet
    orders.ship(member, shipment, carrier="x", tracking_number="y")
    with pytest.raises(IllegalTransition):
        orders.ship(member, shipment, carrier="x", tracking_number="z")
    db.session.rollback()


def test_shipped_parcels_count_as_delivered_after_the_configured_days(app, db):
    order, _product, _buyer = _placed_order(db)
    shipment = order.shipments[0]
    member = SellerMemberFactory(seller=shipment.seller).user
    orders.mark_paid(order)
    orders.ship(member, shipment, carrier="x", tracking_number="y")
    shipment.shipped_at = utcnow() - timedelta(days=15)
    db.session.commit()

    assert app.extensions["celery"].tasks["tasks.orders.auto_deliver"].apply().get() == 1

    db.session.expire_all()
    assert shipment.status == ShipmentStatus.DELIVERED and order.status == OrderStatus.COMPLETED


def test_seller_sets_own_rates_and_pickup(client, db):
    membership = SellerMemberFactory(user__email="member@example.com")
    db.session.commit()
    client.login("member@example.com")
    url = f"/sellers/{membership.seller_id}/shipping"
    fields = {"own_table": "y", "offers_pickup": "y", "pickup_note": "ที่ทำการกลุ่ม 8:00-17:00"}
    fields.update(
        {"tiers-0-max_kg": "2", "tiers-0-fee": "50", "tiers-1-max_kg": "0.5", "tiers-1-fee": "30"}
    )

    assert client.submit(url, fields).status_code == 303
    assert client.submit(url, {**fields, "tiers-1-fee": "3.555"}).status_code == 400

    rates = db.session.execute(
        select(ShippingRate.max_weight_grams, ShippingRate.fee_satang)
        .where(ShippingRate.seller_id == membership.seller_id)
        .order_by(ShippingRate.max_weight_grams)
    ).all()
    assert rates == [(500, 3000), (2000, 5000)]
    db.session.refresh(membership.seller)
    assert membership.seller.offers_pickup
    other = SellerFactory()
    db.session.commit()
    assert client.get(f"/sellers/{other.id}/shipping").status_code == 403


def test_stock_is_never_negative_in_the_database(db):
    from sqlalchemy.exc import IntegrityError

    product = ProductFactory(stock=1)
    db.session.commit()
    product.stock = -1
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_order_numbers_look_right(app, db):
    order, _product, _buyer = _placed_order(db)
    assert re.fullmatch(r"TC-\d{6}", order.number)
    assert db.session.scalar(select(func.count()).select_from(Shipment)) == 1
    assert db.session.scalar(select(Product.stock)) == 3


# An unpaid order's parcels never move; one bad order never stops the expiry of the rest.


def test_the_pickup_parcel_of_an_unpaid_order_cannot_be_received_or_handed_over(client, db, buyer):
    satun = SellerFactory(offers_pickup=True)
    basket = ProductFactory(seller=satun, stock=5)
    member = SellerMemberFactory(seller=satun)
    db.session.commit()
    add(client, basket, 2)
    place(client, **{f"method-{satun.id}": "pickup"})
    order = latest_order(db)
    shipment = order.shipments[0]

    response = client.submit(f"/orders/{order.id}/shipments/{shipment.id}/received", {})

    assert response.status_code == 303
    db.session.expire_all()
    assert shipment.status == ShipmentStatus.PREPARING and shipment.delivered_at is None
    assert order.status == OrderStatus.PENDING_PAYMENT
    # The same rule for the seller, wherever the call comes from.
    from marketplace.orders.states import IllegalTransition

    with pytest.raises(IllegalTransition):
        orders.hand_over(member.user, shipment)
    db.session.rollback()
    with pytest.raises(IllegalTransition):
        orders.ship(member.user, shipment, carrier="Kerry", tracking_number="K1")
    db.session.rollback()
    # The buyer can still cancel it, and the stock comes back.
    client.submit(f"/orders/{order.id}/cancel", {"reason": "เปลี่ยนใจ"})
    db.session.expire_all()
    assert order.status == OrderStatus.CANCELLED and basket.stock == 5


def test_expiry_expires_every_other_order_when_one_cannot_be_cancelled(app, db, caplog):
    expired = [_placed_order(db, now=utcnow() - timedelta(hours=25)) for _ in range(20)]
    frozen, frozen_product, _buyer = _placed_order(db, now=utcnow() - timedelta(hours=30))
    # A parcel marked delivered on an unpaid order (as the old received-button allowed).
    frozen.shipments[0].status = ShipmentStatus.DELIVERED
    frozen.shipments[0].delivered_at = utcnow()
    db.session.commit()

    with caplog.at_level(logging.ERROR, logger="marketplace.orders.services"):
        result = app.extensions["celery"].tasks["tasks.orders.expire_unpaid"].apply()

    assert result.get() == 20
    db.session.expire_all()
    assert all(order.status == OrderStatus.CANCELLED for order, _p, _b in expired)
    assert all(product.stock == 5 for _o, product, _b in expired)
    assert frozen.status == OrderStatus.PENDING_PAYMENT and frozen_product.stock == 3
    assert f"order {frozen.id} could not be expired" in caplog.text
