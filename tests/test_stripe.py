"""Card and PromptPay payments through Stripe, offline: a real localstripe process stands in
for Stripe, and signed events built here go through the real webhook endpoint."""

import hashlib
import hmac
import json
import logging
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import stripe
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError
from werkzeug.serving import make_server

from config import ConfigError, load_config
from marketplace.extensions import db as _db
from marketplace.funds import reports
from marketplace.ledger.models import EntryKind, JournalEntry
from marketplace.ledger.verify import verify
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus, Refund
from marketplace.outbox.models import OutboxMessage
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment, PaymentIssue, PaymentStatus, StripeEvent
from tests.conftest import IN_CI, PASSWORD, statements_during
from tests.factories import (
    AdminFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)
from tests.test_levies import ADDRESS
from tests.test_orders import checkout_fields

SECRET_KEY = "sk_test_talat_secret_never_shown"
PUBLISHABLE_KEY = "pk_test_talat_publishable"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="session")
def localstripe():
    """A real localstripe server for the session; its data is flushed before each test."""
    port = free_port()
    binary = Path(sys.executable).parent / "localstripe"
    process = subprocess.Popen(
        [str(binary), "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if not wait_for_port(port):
        process.kill()
        if IN_CI:
            pytest.fail("localstripe did not start", pytrace=False)
        pytest.skip("localstripe did not start")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def _post(url, data=None, method="POST"):
    body = urllib.parse.urlencode(data or {}).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - localhost
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - localhost
        return response.status


@pytest.fixture
def stripe_app(make_app, localstripe):
    _post(f"{localstripe}/_config/data", method="DELETE")
    secret = f"whsec_{uuid.uuid4().hex}"
    app = make_app(
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_PUBLISHABLE_KEY=PUBLISHABLE_KEY,
        STRIPE_WEBHOOK_SECRET=secret,
        STRIPE_API_BASE=localstripe,
    )
    app.config["localstripe"] = localstripe
    return app


@pytest.fixture
def live_webhooks(stripe_app):
    """Serve the app for real, and have localstripe deliver its events to it."""
    port = free_port()
    server = make_server("127.0.0.1", port, stripe_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _post(
        f"{stripe_app.config['localstripe']}/_config/webhooks/talat",
        {
            "url": f"http://127.0.0.1:{port}/webhooks/stripe",
            "secret": stripe_app.config["STRIPE_WEBHOOK_SECRET"],
        },
    )
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


def stripe_client(app):
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": app.config["localstripe"]})


@pytest.fixture
def shop(db):
    """A rice seller, a fund with its ฿4 a bag levy, an admin and a buyer."""
    member = SellerMemberFactory()
    treasurer = FundTreasurerFactory()
    rice = ProductFactory(seller=member.seller, price_satang=35000, weight_grams=5050, stock=100)
    agreed_levy(member, treasurer, rice)
    AdminFactory(email="admin@example.com")
    UserFactory(email="buyer@example.com")
    db.session.commit()
    return {"rice": rice, "fund": treasurer.fund}


def order_by_card(app, shop, quantity=10):
    """Buyer checks out with Stripe and opens the order page (which makes the intent)."""
    client = app.test_client()
    client.login("buyer@example.com", PASSWORD)
    client.submit("/cart/add", {"product_id": shop["rice"].id, "quantity": str(quantity)})
    response = client.submit("/checkout", checkout_fields(payment_method="stripe"))
    assert response.status_code == 303, response.get_data(as_text=True)
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return client, order_id, page.get_data(as_text=True)


def intent_of(db, order_id):
    db.session.expire_all()
    return db.session.scalar(select(Payment).where(Payment.order_id == order_id))


def pay_with_test_card(app, intent_id):
    client = stripe_client(app)
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    client.v1.payment_intents.update(intent_id, params={"payment_method": method.id})
    return client.v1.payment_intents.confirm(intent_id)


def signed(app, event, timestamp=None, secret=None):
    payload = json.dumps(event).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    key = (secret or app.config["STRIPE_WEBHOOK_SECRET"]).encode()
    signature = hmac.new(key, f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={timestamp},v1={signature}"


def deliver(app, event, **kwargs):
    payload, header = signed(app, event, **kwargs)
    return app.test_client().post(
        "/webhooks/stripe",
        data=payload,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def succeeded_event(intent_id, amount, currency="thb", methods=("card",), event_id=None):
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:14]}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount,
                "currency": currency,
                "status": "succeeded",
                "payment_method_types": list(methods),
                "metadata": {},
            }
        },
    }


def levy_postings(db):
    db.session.expire_all()
    return db.session.scalar(
        select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == EntryKind.LEVY)
    )


def wait_until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


# The whole path, with localstripe delivering the webhook


def test_card_payment_end_to_end_through_localstripe(stripe_app, live_webhooks, db, shop):
    _client, order_id, page = order_by_card(stripe_app, shop)
    payment = intent_of(db, order_id)
    order = db.session.get(Order, order_id)
    assert payment.external_id.startswith("pi_") and payment.amount_satang == order.total_satang
    assert PUBLISHABLE_KEY in page and SECRET_KEY not in page
    assert stripe_app.config["STRIPE_WEBHOOK_SECRET"] not in page

    intent = pay_with_test_card(stripe_app, payment.external_id)
    assert intent.status == "succeeded"

    def paid():
        db.session.expire_all()
        return db.session.get(Order, order_id).status == OrderStatus.PAID

    assert wait_until(paid), "localstripe's payment_intent.succeeded never marked the order paid"
    assert wait_until(lambda: levy_postings(db) == 1)
    assert reports.balance(shop["fund"].id) == 4000
    assert intent_of(db, order_id).status == PaymentStatus.CONFIRMED
    assert verify().ok


def test_returning_from_stripe_never_marks_an_order_paid(stripe_app, db, shop):
    client, order_id, _page = order_by_card(stripe_app, shop)
    payment = intent_of(db, order_id)

    page = client.get(
        f"/orders/{order_id}?payment_intent={payment.external_id}&redirect_status=succeeded"
    )

    assert page.status_code == 200 and "refresh" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == OrderStatus.PENDING_PAYMENT


# Signed events through the real endpoint


def test_the_same_event_five_times_pays_once_and_posts_once(stripe_app, db, shop):
    _client, order_id, _page = order_by_card(stripe_app, shop)
    payment = intent_of(db, order_id)
    event = succeeded_event(payment.external_id, payment.amount_satang)

    outcomes = [deliver(stripe_app, event).get_json()["outcome"] for _ in range(5)]

    assert outcomes == ["paid"] + ["duplicate"] * 4
    assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 1
    assert levy_postings(db) == 1
    assert reports.balance(shop["fund"].id) == 4000


@pytest.mark.postgres_only
def test_the_same_event_five_times_at_once_pays_once(stripe_app, db, shop):
    _client, order_id, _page = order_by_card(stripe_app, shop)
    payment = intent_of(db, order_id)
    payload, header = signed(
        stripe_app, succeeded_event(payment.external_id, payment.amount_satang)
    )
    start, statuses = threading.Barrier(5), []

    def send():
        client = stripe_app.test_client()
        start.wait()
        response = client.post(
            "/webhooks/stripe", data=payload, headers={"Stripe-Signature": header}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert statuses == [200] * 5
    assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 1
    assert levy_postings(db) == 1
    assert intent_of(db, order_id).status == PaymentStatus.CONFIRMED


@pytest.mark.parametrize(
    "attack", ["tampered", "wrong_secret", "missing", "stale", "future", "garbage"]
)
def test_a_bad_signature_gets_400_and_writes_nothing(stripe_app, db, shop, attack):
    _client, order_id, _page = order_by_card(stripe_app, shop)
    payment = intent_of(db, order_id)
    event = succeeded_event(payment.external_id, payment.amount_satang)
    payload, header = signed(stripe_app, event)
    headers = {"Stripe-Signature": header}
    if attack == "tampered":
        payload = payload.replace(b'"status": "succeeded"', b'"status": "succeeded" ')
    elif attack == "wrong_secret":
        payload, headers["Stripe-Signature"] = signed(stripe_app, event, secret="whsec_wrong")
    elif attack == "missing":
        headers = {}
    elif attack == "stale":
        payload, headers["Stripe-Signature"] = signed(
            stripe_app, event, timestamp=int(time.time()) - 3600
        )
    elif attack == "future":  # signed beyond the tolerance ahead: as refused as a stale one
        payload, headers["Stripe-Signature"] = signed(
            stripe_app, event, timestamp=int(time.time()) + 3600
        )
    else:
        headers["Stripe-Signature"] = "t=abc,v1=zzz"

    response = stripe_app.test_client().post("/webhooks/stripe", data=payload, headers=headers)

    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 0
    assert db.session.get(Order, order_id).status == OrderStatus.PENDING_PAYMENT


def _misshapen(event, change):
    """The event with ``change`` applied: ``(path, value)``, value ``...`` to delete."""
    path, value = change
    *parents, name = path
    target = event
    for key in parents:
        target = target[key]
    if value is ...:
        del target[name]
    else:
        target[name] = value
    return event


def _refund_event(intent_id):
    return {
        "id": f"evt_{uuid.uuid4().hex[:14]}",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": "ch_1",
                "object": "charge",
                "payment_intent": intent_id,
                "refunds": {"data": [{"id": "re_1", "amount": 100, "status": "succeeded"}]},
            }
        },
    }


def _case(name, kind, path, value):
    return pytest.param(kind, (path, value), id=name)


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        _case("object-string", "paid", ("data", "object"), "pi_123"),
        _case("object-list", "paid", ("data", "object"), ["pi_123"]),
        _case("object-null", "paid", ("data", "object"), None),
        _case("object-number", "paid", ("data", "object"), 42),
        _case("object-missing", "paid", ("data", "object"), ...),
        _case("data-missing", "paid", ("data",), ...),
        _case("data-string", "paid", ("data",), "pi_123"),
        _case("data-null", "paid", ("data",), None),
        _case("id-number", "paid", ("id",), 123),
        _case("id-empty", "paid", ("id",), ""),
        _case("type-number", "paid", ("type",), 5),
        _case("type-null", "paid", ("type",), None),
        _case("object-id-object", "paid", ("data", "object", "id"), {"id": "pi_1"}),
        _case("metadata-string", "paid", ("data", "object", "metadata"), "order 1"),
        _case("amount-string", "paid", ("data", "object", "amount_received"), "35000"),
        _case("refunds-list", "refund", ("data", "object", "refunds"), []),
        _case("refunds-data-string", "refund", ("data", "object", "refunds", "data"), "re_1"),
        _case("refund-number", "refund", ("data", "object", "refunds", "data"), [1]),
        _case("intent-object", "refund", ("data", "object", "payment_intent"), {"id": "pi"}),
    ],
)
def test_a_signed_event_of_the_wrong_shape_gets_400_and_writes_nothing(
    stripe_app, db, shop, kind, change
):
    # An intent nobody knows: a well-shaped event would be flagged for admins (a write).
    event = succeeded_event("pi_unknown", 35000) if kind == "paid" else _refund_event("pi_unknown")

    response = deliver(stripe_app, _misshapen(event, change))

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "event_invalid"
    db.session.expire_all()
    for model in (StripeEvent, PaymentIssue, Payment, JournalEntry):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0


@pytest.mark.parametrize(
    "order_id", ["²", "9" * 30, "9" * 5000], ids=["superscript-digit", "huge", "too-long"]
)
def test_an_odd_order_id_in_the_metadata_is_flagged_not_a_500(stripe_app, db, shop, order_id):
    event = succeeded_event("pi_unknown", 35000)
    event["data"]["object"]["metadata"] = {"order_id": order_id}

    response = deliver(stripe_app, event)

    assert response.status_code == 200
    db.session.expire_all()
    assert [issue.external_id for issue in db.session.scalars(select(PaymentIssue))] == [
        "pi_unknown"
    ]


def test_a_promptpay_payment_marks_the_order_paid(stripe_app, db, shop):
    _client, order_id, _page = order_by_card(stripe_app, shop)
    payment = intent_of(db, order_id)

    response = deliver(
        stripe_app,
        succeeded_event(payment.external_id, payment.amount_satang, methods=("promptpay",)),
    )

    assert response.get_json()["outcome"] == "paid"
    assert levy_postings(db) == 1


@pytest.mark.parametrize(("amount_delta", "currency"), [(-100, "thb"), (0, "usd")])
def test_an_amount_or_currency_mismatch_is_flagged_not_paid(
    stripe_app, db, shop, amount_delta, currency
):
    _client, order_id, _page = order_by_card(stripe_app, shop)
    payment = intent_of(db, order_id)

    deliver(
        stripe_app,
        succeeded_event(payment.external_id, payment.amount_satang + amount_delta, currency),
    )

    db.session.expire_all()
    assert db.session.get(Order, order_id).status == OrderStatus.PENDING_PAYMENT
    issue = db.session.scalar(select(PaymentIssue))
    assert issue.kind == "amount_mismatch" and issue.order_id == order_id
    assert levy_postings(db) == 0


def test_a_failed_payment_leaves_the_order_waiting(stripe_app, db, shop):
    _client, order_id, _page = order_by_card(stripe_app, shop)
    payment = intent_of(db, order_id)
    event = succeeded_event(payment.external_id, payment.amount_satang)
    event["type"] = "payment_intent.payment_failed"

    assert deliver(stripe_app, event).status_code == 200

    db.session.expire_all()
    assert db.session.get(Order, order_id).status == OrderStatus.PENDING_PAYMENT
    assert intent_of(db, order_id).status == PaymentStatus.FAILED


# Refunds


def test_refunding_3_of_10_bags_through_stripe_leaves_28_baht(stripe_app, db, shop):
    _client, order_id, _page = order_by_card(stripe_app, shop)
    payment = intent_of(db, order_id)
    pay_with_test_card(stripe_app, payment.external_id)
    deliver(stripe_app, succeeded_event(payment.external_id, payment.amount_satang))
    order = db.session.get(Order, order_id)
    item_id = order.items[0].id
    admin = stripe_app.test_client()
    admin.login("admin@example.com", PASSWORD)

    admin.submit(f"/admin/orders/{order_id}/refund", {f"qty-{item_id}": "3"})
    period = (date(2026, 1, 1), date(2030, 12, 31))
    assert reports.levy_report(shop["fund"].id, *period).net_satang == 2800
    refunds = stripe_client(stripe_app).v1.refunds.list(params={}).data
    assert [r.amount for r in refunds] == [3 * 35000]

    admin.submit(f"/admin/orders/{order_id}/refund", {f"qty-{item_id}": "7"})
    assert reports.levy_report(shop["fund"].id, *period).net_satang == 0
    assert verify().ok

    # Stripe's own refund events then arrive: already recorded, nothing changes.
    for refund in stripe_client(stripe_app).v1.refunds.list(params={}).data:
        event = {
            "id": f"evt_{uuid.uuid4().hex[:14]}",
            "type": "refund.created",
            "data": {
                "object": {
                    "id": refund.id,
                    "object": "refund",
                    "amount": refund.amount,
                    "status": "succeeded",
                    "payment_intent": payment.external_id,
                }
            },
        }
        assert "already recorded" in deliver(stripe_app, event).get_json()["outcome"]
    assert reports.levy_report(shop["fund"].id, *period).net_satang == 0
    assert verify().ok


def test_a_refund_event_before_its_payment_event_ends_consistent(stripe_app, db, shop):
    _client, order_id, _page = order_by_card(stripe_app, shop)
    payment = intent_of(db, order_id)
    pay_with_test_card(stripe_app, payment.external_id)  # succeeded in Stripe; no webhook here
    refund = stripe_client(stripe_app).v1.refunds.create(
        params={"payment_intent": payment.external_id, "amount": payment.amount_satang}
    )
    refund_event = {
        "id": "evt_refund_first",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": "ch_1",
                "object": "charge",
                "payment_intent": payment.external_id,
                "amount_refunded": payment.amount_satang,
                "refunds": {
                    "data": [
                        {
                            "id": refund.id,
                            "object": "refund",
                            "amount": payment.amount_satang,
                            "status": "succeeded",
                        }
                    ]
                },
            }
        },
    }

    first = deliver(stripe_app, refund_event).get_json()["outcome"]
    late = deliver(
        stripe_app, succeeded_event(payment.external_id, payment.amount_satang)
    ).get_json()

    assert "the whole order, recorded" in first
    assert late["outcome"] == "already paid"
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    assert order.paid_at is not None and order.refunded_satang == order.total_satang
    assert reports.balance(shop["fund"].id) == 0
    assert verify().ok


def test_a_part_refund_made_in_stripe_is_flagged_then_recorded_by_items(stripe_app, db, shop):
    _client, order_id, _page = order_by_card(stripe_app, shop)
    payment = intent_of(db, order_id)
    pay_with_test_card(stripe_app, payment.external_id)
    deliver(stripe_app, succeeded_event(payment.external_id, payment.amount_satang))
    refund = stripe_client(stripe_app).v1.refunds.create(
        params={"payment_intent": payment.external_id, "amount": 2 * 35000}
    )
    event = {
        "id": "evt_part",
        "type": "refund.created",
        "data": {
            "object": {
                "id": refund.id,
                "object": "refund",
                "amount": 2 * 35000,
                "status": "succeeded",
                "payment_intent": payment.external_id,
            }
        },
    }
    assert "flagged" in deliver(stripe_app, event).get_json()["outcome"]
    order = db.session.get(Order, order_id)
    admin = stripe_app.test_client()
    admin.login("admin@example.com", PASSWORD)

    admin.submit(
        f"/admin/orders/{order_id}/refund",
        {f"qty-{order.items[0].id}": "2", "provider_refund_id": refund.id},
    )

    assert len(stripe_client(stripe_app).v1.refunds.list(params={}).data) == 1  # not sent again
    assert reports.balance(shop["fund"].id) == 4000 - 800
    result = reconcile(stripe_app, "2026-01-01")
    assert result.exit_code == 0, result.output


def test_reconcile_prints_every_difference(stripe_app, db, shop):
    _client, order_id, _page = order_by_card(stripe_app, shop)
    payment = intent_of(db, order_id)
    pay_with_test_card(stripe_app, payment.external_id)
    deliver(stripe_app, succeeded_event(payment.external_id, payment.amount_satang))
    assert reconcile(stripe_app, "2026-01-01").exit_code == 0

    stranger = stripe_client(stripe_app).v1.payment_intents.create(
        params={"amount": 12345, "currency": "thb", "payment_method_types": ["card"]}
    )
    pay_with_test_card(stripe_app, stranger.id)
    stripe_client(stripe_app).v1.refunds.create(
        params={"payment_intent": payment.external_id, "amount": 100}
    )

    result = reconcile(stripe_app, "2026-01-01")

    assert result.exit_code == 1
    assert stranger.id in result.output and "is not recorded" in result.output
    assert reconcile(stripe_app, "someday").exit_code != 0


def reconcile(app, since):
    """Run the command in the Stripe app's own context (the test has another pushed)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=["stripe", "reconcile", "--since", since])


# Reconciliation, offline: what Stripe lists is given, the marketplace's rows are real


@pytest.fixture
def keyed_app(make_app):
    """Stripe configured, but never called: the tests give what its lists hold."""
    return make_app(
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_PUBLISHABLE_KEY=PUBLISHABLE_KEY,
        STRIPE_WEBHOOK_SECRET="whsec_offline",
    )


@pytest.fixture
def stripe_lists(monkeypatch):
    """What Stripe's payment intent and refund lists hold, as the gateway returns them."""
    lists = {"intents": [], "refunds": []}
    monkeypatch.setattr(
        stripe_gateway, "payment_intents_since", lambda since: list(lists["intents"])
    )
    monkeypatch.setattr(stripe_gateway, "refunds_since", lambda since: list(lists["refunds"]))
    return lists


def card_order(db, product, buyer, intent_id, *, paid=True, amount=None):
    """An order paid (or not) by the Stripe PaymentIntent ``intent_id``."""
    order = orders.place_order(buyer, [(product.id, 1)], address=ADDRESS)
    if paid:
        order.paid_at = datetime(2026, 2, 1, 5, tzinfo=UTC)
    db.session.add(
        Payment(
            order_id=order.id,
            provider="stripe",
            amount_satang=order.total_satang if amount is None else amount,
            external_id=intent_id,
        )
    )
    db.session.flush()
    return order


def intent(intent_id, amount, status="succeeded"):
    return {"id": intent_id, "status": status, "amount_received": amount, "currency": "thb"}


def stripe_refund(refund_id, amount, status="succeeded"):
    return {"id": refund_id, "status": status, "amount": amount, "payment_intent": None}


def our_refund(order, refund_id, amount):
    refund = Refund(
        order_id=order.id,
        amount_satang=amount,
        provider_refund_id=refund_id,
        created_at=datetime(2026, 2, 2, 5, tzinfo=UTC),
    )
    _db.session.add(refund)
    return refund


@pytest.fixture
def goods(db):
    rice = ProductFactory(price_satang=35000, stock=100)
    buyer = UserFactory()
    db.session.commit()
    return rice, buyer


def test_reconcile_says_so_when_stripe_and_the_marketplace_agree(
    keyed_app, db, stripe_lists, goods
):
    order = card_order(db, *goods, "pi_agree")
    our_refund(order, "re_agree", 1000)
    db.session.commit()
    stripe_lists["intents"] = [
        intent("pi_agree", order.total_satang),
        intent("pi_x", 5, "canceled"),
    ]
    stripe_lists["refunds"] = [stripe_refund("re_agree", 1000), stripe_refund("re_y", 9, "failed")]

    result = reconcile(keyed_app, "2026-01-01")

    assert result.exit_code == 0, result.output
    assert result.output == "Stripe and the marketplace agree since 2026-01-01\n"


def test_reconcile_prints_each_kind_of_difference_and_exits_1(keyed_app, db, stripe_lists, goods):
    fine = card_order(db, *goods, "pi_fine")
    unpaid = card_order(db, *goods, "pi_unpaid", paid=False)
    short = card_order(db, *goods, "pi_short", amount=36000)
    lost = card_order(db, *goods, "pi_lost")
    our_refund(fine, "re_differs", 2000)
    our_refund(fine, "re_ours_only", 300)
    db.session.commit()
    stripe_lists["intents"] = [
        intent("pi_fine", fine.total_satang),
        intent("pi_unpaid", unpaid.total_satang),
        intent("pi_short", 35000),
        intent("pi_stranger", 12345),
        intent("pi_lost", lost.total_satang, "requires_payment_method"),
    ]
    stripe_lists["refunds"] = [stripe_refund("re_differs", 2500), stripe_refund("re_theirs", 100)]

    result = reconcile(keyed_app, "2026-01-01")

    assert result.exit_code == 1
    found = [line for line in result.output.splitlines() if line.startswith("DIFFERENCE: ")]
    assert found == [
        f"DIFFERENCE: Stripe payment pi_unpaid succeeded but order {unpaid.number} is not paid",
        f"DIFFERENCE: Stripe payment pi_short received 35000 satang; order {short.number} is 36000",
        "DIFFERENCE: Stripe payment pi_stranger (12345 satang) is not ours",
        f"DIFFERENCE: order {lost.number} is paid but Stripe has no succeeded payment pi_lost",
        "DIFFERENCE: refund re_differs: Stripe 2500 satang, ours 2000",
        "DIFFERENCE: Stripe refund re_theirs (100 satang) is not recorded",
        "DIFFERENCE: refund re_ours_only of 300 satang is not in Stripe",
    ]
    assert "7 differences since 2026-01-01" in result.output


def test_reconcile_leaves_out_what_was_paid_or_refunded_before_the_day(
    keyed_app, db, stripe_lists, goods
):
    old = card_order(db, *goods, "pi_january")
    old.paid_at = datetime(2026, 1, 15, 5, tzinfo=UTC)
    our_refund(old, "re_january", 500).created_at = datetime(2026, 1, 16, 5, tzinfo=UTC)
    db.session.commit()

    result = reconcile(keyed_app, "2026-02-01")

    assert result.exit_code == 0, result.output


def test_reconcile_reads_the_same_statements_for_2_and_20_payments(
    keyed_app, db, stripe_lists, goods
):
    def statements(count):
        for n in range(count):
            order = card_order(db, *goods, f"pi_{count}_{n}")
            our_refund(order, f"re_{count}_{n}", 100)
            stripe_lists["intents"].append(intent(f"pi_{count}_{n}", order.total_satang))
            stripe_lists["refunds"].append(stripe_refund(f"re_{count}_{n}", 100))
        db.session.commit()
        results = []
        with keyed_app.app_context():  # the command's own app, engine and statements
            run = statements_during(lambda: results.append(reconcile(keyed_app, "2026-01-01")))
        assert results[0].exit_code == 0, results[0].output
        return [s for s in run if s.lstrip().upper().startswith("SELECT")]

    few, many = statements(2), statements(18)

    assert len(few) == len(many) == 2, many


@pytest.mark.parametrize("since", ["someday", "2026-13-01", "01/02/2026", ""])
def test_reconcile_wants_a_day(keyed_app, db, stripe_lists, since):
    result = reconcile(keyed_app, since)

    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_reconcile_needs_stripe_configured(app, db):
    result = reconcile(app, "2026-01-01")

    assert result.exit_code == 1
    assert "Stripe is not configured" in result.output


# No Stripe call with a transaction open, no half refund


@dataclass
class StripeCall:
    what: str
    #: The calling session had a transaction open.
    in_transaction: bool
    #: PostgreSQL: the app's connections sitting idle inside a transaction.
    idle_in_transaction: int = 0
    #: PostgreSQL: tables with a row some transaction holds locked (FOR UPDATE NOWAIT fails).
    locked: tuple = ()


LOCKABLE = ("products", "orders", "order_items", "payments", "refunds", "shipments")


def _probe(engine, app_pids):
    """From a connection of its own: how many of the app's connections sit in a
    transaction, and which tables have a row some transaction holds locked."""
    with engine.connect() as connection:
        idle = connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids) "
                "AND state LIKE 'idle in transaction%'"
            ),
            {"pids": sorted(app_pids)},
        )
        locked = []
        for table in LOCKABLE:
            try:
                connection.execute(text(f"SELECT id FROM {table} FOR UPDATE NOWAIT"))  # noqa: S608
            except OperationalError:
                locked.append(table)
    return idle, tuple(locked)


@pytest.fixture
def stripe_calls(stripe_app, monkeypatch):
    """Every call the Stripe module makes, with the state of the database as it is made."""
    calls = []
    url = stripe_app.config["SQLALCHEMY_DATABASE_URI"]
    probe = app_pids = None
    if url.startswith("postgresql"):
        probe, app_pids = create_engine(url, isolation_level="AUTOCOMMIT"), set()
        with stripe_app.app_context():
            engine = _db.engine
        engine.dispose()  # from here on every connection of the app is known by its pid

        @event.listens_for(engine, "connect")
        def remember(dbapi_connection, record):
            app_pids.add(dbapi_connection.info.backend_pid)

    real_call = stripe_gateway._call

    def observed(what, *args, **kwargs):
        call = StripeCall(what, _db.session().in_transaction())
        if probe is not None:
            call.idle_in_transaction, call.locked = _probe(probe, app_pids)
        calls.append(call)
        return real_call(what, *args, **kwargs)

    monkeypatch.setattr(stripe_gateway, "_call", observed)
    yield calls
    if probe is not None:
        probe.dispose()


def clean(call):
    return not call.in_transaction and not call.idle_in_transaction and not call.locked


def quiet(db):
    """End the test's own read, so that only the app's connections are looked at."""
    db.session.rollback()


def paid_by_card(app, db, shop, quantity=10):
    _client, order_id, _page = order_by_card(app, shop, quantity)
    payment = intent_of(db, order_id)
    pay_with_test_card(app, payment.external_id)
    quiet(db)
    assert (
        deliver(app, succeeded_event(payment.external_id, payment.amount_satang)).get_json()[
            "outcome"
        ]
        == "paid"
    )
    return order_id, payment.external_id


def test_stripe_is_never_called_with_a_transaction_open_or_a_row_locked(
    stripe_app, db, shop, stripe_calls
):
    order_id, intent_id = paid_by_card(stripe_app, db, shop)
    item_id = db.session.get(Order, order_id).items[0].id
    admin = stripe_app.test_client()
    admin.login("admin@example.com", PASSWORD)
    quiet(db)
    admin.submit(f"/admin/orders/{order_id}/refund", {f"qty-{item_id}": "3"})
    # An order through the API: its intent is made after the order's commit too.
    token = stripe_app.test_client().post(
        "/api/v1/tokens", json={"email": "buyer@example.com", "password": PASSWORD}
    )
    quiet(db)
    created = stripe_app.test_client().post(
        "/api/v1/orders",
        json={
            "items": [{"product_id": shop["rice"].id, "quantity": 1}],
            "shipping": {
                "name": "สมศรี",
                "phone": "0812345678",
                "address_line": "45/2",
                "subdistrict_code": "830107",
                "postal_code": "83130",
            },
            "payment_method": "stripe",
        },
        headers={"Authorization": f"Bearer {token.get_json()['token']}", "Idempotency-Key": "k1"},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    # A refund whose event comes before its payment's: the intent is read before the event's
    # transaction.
    _client, early, _page = order_by_card(stripe_app, shop, 1)
    early_intent = intent_of(db, early)
    pay_with_test_card(stripe_app, early_intent.external_id)
    refund = stripe_client(stripe_app).v1.refunds.create(
        params={"payment_intent": early_intent.external_id, "amount": early_intent.amount_satang}
    )
    quiet(db)
    event = {
        "id": "evt_refund_first",
        "type": "refund.created",
        "data": {
            "object": {
                "id": refund.id,
                "object": "refund",
                "amount": early_intent.amount_satang,
                "status": "succeeded",
                "payment_intent": early_intent.external_id,
            }
        },
    }
    assert "the whole order, recorded" in deliver(stripe_app, event).get_json()["outcome"]
    assert reconcile(stripe_app, "2026-01-01").exit_code == 0

    kinds = {call.what for call in stripe_calls}
    assert {
        "create payment intent",
        "read payment intent",
        "create refund",
        "list payment intents",
        "list refunds",
    } <= kinds
    assert [call for call in stripe_calls if not clean(call)] == []
    db.session.expire_all()
    assert intent_of(db, created.get_json()["id"]).external_id.startswith("pi_")
    assert reports.balance(shop["fund"].id) == 4000 - 1200  # the early order: +400 -400
    assert verify().ok


@pytest.mark.postgres_only
def test_the_intent_is_made_while_another_transaction_holds_the_stock_row(
    stripe_app, db, shop, stripe_calls
):
    stripe_app.config["STRIPE_API_BASE"] = "http://127.0.0.1:1"  # Stripe down at checkout
    buyer, by_page, _page = order_by_card(stripe_app, shop, 2)
    _buyer, by_task, _page = order_by_card(stripe_app, shop, 3)
    stripe_app.config["STRIPE_API_BASE"] = stripe_app.config["localstripe"]
    quiet(db)
    assert intent_of(db, by_page).external_id is None
    page = buyer.get(f"/orders/{by_page}").get_data(as_text=True)
    assert f'action="/orders/{by_page}/payment"' in page  # "Continue to payment"
    stripe_calls.clear()
    holder = create_engine(stripe_app.config["SQLALCHEMY_DATABASE_URI"])
    with holder.connect() as locker:
        # Another checkout of rice, mid-way: it holds the product's row.
        locker.execute(
            text("SELECT id FROM products WHERE id = :id FOR UPDATE"), {"id": shop["rice"].id}
        )

        steps = {
            "the buyer's 'Continue to payment'": lambda: buyer.submit(
                f"/orders/{by_page}/payment", {}
            ),
            "the outbox task": lambda: sweep(stripe_app),
        }
        for name, step in steps.items():
            done = []
            worker = threading.Thread(
                target=lambda step=step, done=done: done.append(step()), daemon=True
            )
            worker.start()
            worker.join(timeout=60)
            assert done, f"{name} waited on the locked stock row"
        locker.rollback()
    holder.dispose()

    quiet(db)
    assert intent_of(db, by_page).external_id.startswith("pi_")
    assert intent_of(db, by_task).external_id.startswith("pi_")
    made = [call for call in stripe_calls if call.what == "create payment intent"]
    assert len(made) == 2
    # While Stripe was asked, the app held nothing; the product stayed locked by the other.
    assert all(c.locked == ("products",) for c in made)
    assert not any(c.in_transaction or c.idle_in_transaction for c in made)
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.done_at.is_(None))
        )
        == 0
    )


class FlakyStripe:
    """Stripe's refunds as the Stripe module sees them, with Stripe's idempotency keys
    (localstripe has none), and, for the next calls, failures on demand: ``down`` (no
    answer and nothing made), ``lost`` (made, the answer lost: a timeout), ``refuse``."""

    def __init__(self, monkeypatch):
        self.made = {}
        self.next = []
        real_client = stripe_gateway._client

        def client():
            real = real_client()
            refunds = SimpleNamespace(
                create=lambda params, options: self.create(real, params, options),
                list=real.v1.refunds.list,
            )
            return SimpleNamespace(
                v1=SimpleNamespace(payment_intents=real.v1.payment_intents, refunds=refunds)
            )

        monkeypatch.setattr(stripe_gateway, "_client", client)

    def create(self, real, params, options):
        mode = self.next.pop(0) if self.next else None
        if mode == "down":
            raise stripe.APIConnectionError("no answer")
        if mode == "refuse":
            raise stripe.InvalidRequestError(
                "Charge has already been refunded.", "charge", code="charge_already_refunded"
            )
        key = options["idempotency_key"]
        if key not in self.made:
            self.made[key] = real.v1.refunds.create(params=params)
        if mode == "lost":
            raise stripe.APIConnectionError("timed out")
        return self.made[key]


def sweep(app):
    with app.app_context():
        return app.test_cli_runner().invoke(args=["outbox", "sweep", "--older-than", "0"])


def refund_state(db, order_id):
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    refunds = db.session.scalars(
        select(Refund).where(Refund.order_id == order_id).order_by(Refund.id)
    ).all()
    postings = db.session.scalar(
        select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == EntryKind.REFUND)
    )
    state = {
        "refunds": [r.status.value for r in refunds],
        "units": order.items[0].refunded_quantity,
        "refunded_satang": order.refunded_satang,
        "postings": postings,
    }
    db.session.rollback()
    return state


def test_a_stripe_timeout_during_a_refund_leaves_no_half_refund_and_no_lock(
    stripe_app, db, shop, stripe_calls, monkeypatch
):
    order_id, _intent = paid_by_card(stripe_app, db, shop)
    item_id = db.session.get(Order, order_id).items[0].id
    flaky = FlakyStripe(monkeypatch)
    flaky.next = ["lost"]  # Stripe makes the refund; its answer never comes
    admin = stripe_app.test_client()
    admin.login("admin@example.com", PASSWORD)
    quiet(db)

    response = admin.submit(f"/admin/orders/{order_id}/refund", {f"qty-{item_id}": "3"})

    assert response.status_code == 303
    # Pending: the units are taken (nothing refunded twice), the ledger has not seen it.
    assert refund_state(db, order_id) == {
        "refunds": ["pending"],
        "units": 3,
        "refunded_satang": 3 * 35000,
        "postings": 0,
    }
    assert reports.balance(shop["fund"].id) == 4000
    sending = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.task == "tasks.payments.send_refund")
    )
    assert sending.done_at is None and sending.failure_count == 1
    assert "StripeUnavailable" in sending.last_error
    assert verify().ok
    refund_calls = [c for c in stripe_calls if c.what == "create refund"]
    assert len(refund_calls) == 1 and clean(refund_calls[0])
    page = admin.get(f"/admin/orders/{order_id}").get_data(as_text=True)
    assert "กำลังคืนเงิน ฿1,050.00 ผ่าน Stripe" in page  # "being paid back through Stripe"
    assert f'action="/admin/orders/{order_id}/refund"' not in page  # one refund at a time
    quiet(db)
    again = admin.submit(f"/admin/orders/{order_id}/refund", {f"qty-{item_id}": "2"})
    assert again.status_code == 303
    assert refund_state(db, order_id)["refunds"] == ["pending"]  # one at a time

    assert sweep(stripe_app).exit_code == 0  # Stripe answers now: the same key, the same refund

    assert refund_state(db, order_id) == {
        "refunds": ["succeeded"],
        "units": 3,
        "refunded_satang": 3 * 35000,
        "postings": 1,
    }
    stripe_refunds = stripe_client(stripe_app).v1.refunds.list(params={}).data
    assert [(r.amount, r.metadata.to_dict().get("refund_id")) for r in stripe_refunds] == [
        (3 * 35000, str(sending.payload["refund_id"]))
    ]
    quiet(db)
    assert sweep(stripe_app).exit_code == 0
    assert len(stripe_client(stripe_app).v1.refunds.list(params={}).data) == 1
    period = (date(2026, 1, 1), date(2030, 12, 31))
    assert reports.levy_report(shop["fund"].id, *period).net_satang == 2800
    assert all(clean(call) for call in stripe_calls)
    assert verify().ok
    assert reconcile(stripe_app, "2026-01-01").exit_code == 0


def test_a_refund_stripe_refuses_goes_back_to_the_order(
    stripe_app, db, shop, stripe_calls, monkeypatch
):
    order_id, _intent = paid_by_card(stripe_app, db, shop)
    item_id = db.session.get(Order, order_id).items[0].id
    flaky = FlakyStripe(monkeypatch)
    flaky.next = ["refuse"]
    admin = stripe_app.test_client()
    admin.login("admin@example.com", PASSWORD)
    quiet(db)

    admin.submit(f"/admin/orders/{order_id}/refund", {f"qty-{item_id}": "3"})

    assert refund_state(db, order_id) == {
        "refunds": ["failed"],
        "units": 0,
        "refunded_satang": 0,
        "postings": 0,
    }
    issue = db.session.scalar(select(PaymentIssue))
    assert issue.kind == "refund_failed" and "charge_already_refunded" in issue.detail
    assert reports.balance(shop["fund"].id) == 4000
    assert verify().ok
    quiet(db)

    admin.submit(f"/admin/orders/{order_id}/refund", {f"qty-{item_id}": "3"})

    assert refund_state(db, order_id)["refunds"] == ["failed", "succeeded"]
    period = (date(2026, 1, 1), date(2030, 12, 31))
    assert reports.levy_report(shop["fund"].id, *period).net_satang == 2800
    assert verify().ok
    assert all(clean(call) for call in stripe_calls)


def test_stripes_refund_event_before_its_answer_settles_the_pending_refund(
    stripe_app, db, shop, monkeypatch
):
    order_id, intent_id = paid_by_card(stripe_app, db, shop)
    item_id = db.session.get(Order, order_id).items[0].id
    flaky = FlakyStripe(monkeypatch)
    flaky.next = ["down"]
    admin = stripe_app.test_client()
    admin.login("admin@example.com", PASSWORD)
    quiet(db)
    admin.submit(f"/admin/orders/{order_id}/refund", {f"qty-{item_id}": "3"})
    refund_id = db.session.scalar(select(Refund.id).where(Refund.order_id == order_id))
    # The call did reach Stripe after all; Stripe's event comes before any retry.
    made = stripe_client(stripe_app).v1.refunds.create(
        params={
            "payment_intent": intent_id,
            "amount": 3 * 35000,
            "metadata": {"refund_id": str(refund_id)},
        }
    )
    quiet(db)
    event = {
        "id": "evt_refund_answer_lost",
        "type": "refund.created",
        "data": {
            "object": {
                "id": made.id,
                "object": "refund",
                "amount": 3 * 35000,
                "status": "succeeded",
                "payment_intent": intent_id,
                "metadata": {"refund_id": str(refund_id)},
            }
        },
    }

    outcome = deliver(stripe_app, event).get_json()["outcome"]

    assert outcome == f"refund {refund_id}: paid back, recorded"
    flaky.made[f"talat-refund-{refund_id}"] = made  # what Stripe's key would return
    assert sweep(stripe_app).exit_code == 0
    assert refund_state(db, order_id)["refunds"] == ["succeeded"]
    assert db.session.get(Refund, refund_id).provider_refund_id == made.id
    assert len(stripe_client(stripe_app).v1.refunds.list(params={}).data) == 1
    period = (date(2026, 1, 1), date(2030, 12, 31))
    assert reports.levy_report(shop["fund"].id, *period).net_satang == 2800
    assert verify().ok


# Secrets


def test_secrets_reach_no_page_and_no_log_line(stripe_app, db, shop, caplog):
    caplog.set_level(logging.DEBUG)
    _client, order_id, page = order_by_card(stripe_app, shop)
    payment = intent_of(db, order_id)
    deliver(stripe_app, succeeded_event(payment.external_id, payment.amount_satang))
    broken = stripe_app.test_client()
    stripe_app.config["STRIPE_API_BASE"] = "http://127.0.0.1:1"  # Stripe down: errors are logged
    broken.login("buyer@example.com", PASSWORD)
    broken.get(f"/orders/{order_id}")

    for secret in (SECRET_KEY, stripe_app.config["STRIPE_WEBHOOK_SECRET"]):
        assert secret not in page
        assert secret not in caplog.text


def test_partial_stripe_configuration_is_refused():
    with pytest.raises(ConfigError, match="STRIPE_WEBHOOK_SECRET"):
        load_config(env={"STRIPE_SECRET_KEY": "sk", "STRIPE_PUBLISHABLE_KEY": "pk"})


def test_without_stripe_keys_there_is_no_card_payment_and_no_webhook(client, db, shop):
    assert client.post("/webhooks/stripe", data=b"{}").status_code == 404
    client.login("buyer@example.com", PASSWORD)
    client.submit("/cart/add", {"product_id": shop["rice"].id, "quantity": "1"})
    response = client.submit("/checkout", checkout_fields(payment_method="stripe"))
    assert response.status_code == 400
