"""The unit of work (marketplace/transaction.py): each request, task or command commits once,
at its boundary; a GET writes nothing and commits nothing.

The walk over every GET route signs in as the people who see each page, with the real ids
of a marketplace that has orders paid by transfer and through Stripe, a shipped parcel,
refunds, a remittance, a picture, API tokens and links waiting in mails.
"""

import logging
import re
from contextlib import contextmanager
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select

from marketplace import transaction
from marketplace.catalog.models import ProductImage
from marketplace.dbtypes import utcnow
from marketplace.errors import DomainError
from marketplace.extensions import db as _db
from marketplace.orders.models import Order, OrderStatus, Refund, RefundStatus
from marketplace.outbox import dispatch
from marketplace.payments.models import Payment, PaymentStatus
from tests.conftest import PASSWORD
from tests.factories import (
    AdminFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)
from tests.test_accounts import mailed_link, registration
from tests.test_catalog import jpeg_with_exif, upload
from tests.test_orders import checkout_fields
from tests.test_stripe import (  # noqa: F401  (fixtures)
    deliver,
    localstripe,
    pay_with_test_card,
    stripe_app,
    succeeded_event,
)

#: Statements that change or lock rows.
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|UPSERT)\b", re.IGNORECASE)


@contextmanager
def watched(app):
    """Every SQL statement ``app``'s engine runs, and every commit, while the block runs."""
    seen = SimpleNamespace(statements=[], commits=0)
    with app.app_context():
        engine = _db.engine

    def statement(connection, cursor, text, parameters, context, executemany):
        seen.statements.append(text)

    def commit(connection):
        seen.commits += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def writes(seen):
    return [s for s in seen.statements if WRITE.match(s) or "FOR UPDATE" in s.upper()]


# The unit of work itself


def test_unit_of_work_commits_once_and_rolls_back_what_raises(app, db):
    with watched(app) as seen, transaction.unit_of_work():
        UserFactory(email="kept@example.com")
    assert seen.commits == 1

    with watched(app) as seen, pytest.raises(RuntimeError), transaction.unit_of_work():
        UserFactory(email="dropped@example.com")
        raise RuntimeError("boom")
    assert seen.commits == 0
    from marketplace.accounts.models import User

    assert db.session.scalars(select(User.email)).all() == ["kept@example.com"]


def test_attempt_commits_nothing_when_the_service_refuses(app, db):
    shown = []

    def refusing():
        UserFactory(email="half@example.com")
        raise DomainError("no", field="email")

    with watched(app) as seen:
        saved, error = transaction.attempt(refusing, shown.append)

    assert (saved, error.message, shown) == (False, "no", [error])
    assert seen.commits == 0
    assert transaction.attempt(lambda: 42) == (True, 42)


def test_end_reads_ends_a_read_and_refuses_after_a_write(app, db):
    UserFactory(email="reader@example.com")
    with pytest.raises(transaction.TransactionOpen):
        transaction.end_reads()  # a flushed insert is waiting for its commit
    db.session.rollback()

    db.session.scalars(select(Order)).all()
    assert db.session().in_transaction()
    transaction.end_reads()
    assert not db.session().in_transaction()
    transaction.require_no_transaction("a test call")
    db.session.scalars(select(Order)).all()
    with pytest.raises(transaction.TransactionOpen, match="a test call"):
        transaction.require_no_transaction("a test call")


# Writes that must happen once


def no_dispatch(monkeypatch):
    """From now on outbox rows stay in the outbox: the commits counted are the request's
    own, not those of the tasks that would run in-process after it."""
    monkeypatch.setattr(dispatch, "publish", lambda message: None)


def test_registration_and_sign_in_commit_once(app, db, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="marketplace.mail")
    product_id = ProductFactory().id
    db.session.commit()
    client = app.test_client()
    client.submit("/cart/add", {"product_id": product_id, "quantity": "2"})
    assert client.submit("/register", registration()).status_code == 302
    link = mailed_link(caplog, "somying@example.com", "/register/confirm/")
    token = client.csrf_token(link)
    no_dispatch(monkeypatch)

    with watched(app) as seen:
        response = client.post(link, data={"csrf_token": token, "password": PASSWORD})

    assert response.status_code == 302
    assert seen.commits == 1  # the account, the sign-in and the guest's cart together
    assert "cart_items" in " ".join(writes(seen))  # the guest's cart came along in it
    assert "somying@example.com" in client.get("/account").get_data(as_text=True)


def test_sign_in_and_password_reset_commit_once(app, db, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="marketplace.mail")
    UserFactory(email="buyer@example.com")
    db.session.commit()
    client = app.test_client()
    token = client.csrf_token("/login")
    with watched(app) as seen:
        client.post(
            "/login", data={"csrf_token": token, "email": "buyer@example.com", "password": PASSWORD}
        )
    assert seen.commits == 1
    other = app.test_client()
    other.submit("/password/forgot", {"email": "buyer@example.com"})
    link = mailed_link(caplog, "buyer@example.com", "/password/reset/")
    token = other.csrf_token(link)
    no_dispatch(monkeypatch)

    with watched(app) as seen:
        response = other.post(
            link,
            data={
                "csrf_token": token,
                "new_password": "another-horse-77",
                "confirm": "another-horse-77",
            },
        )

    assert response.status_code == 302, response.get_data(as_text=True)
    assert seen.commits == 1


@pytest.fixture
def transfer_order(app, db):
    member = SellerMemberFactory()
    rice = ProductFactory(seller=member.seller, price_satang=35000, stock=50)
    UserFactory(email="buyer@example.com")
    db.session.commit()
    client = app.test_client()
    client.login("buyer@example.com")
    client.submit("/cart/add", {"product_id": rice.id, "quantity": "2"})
    response = client.submit("/checkout", checkout_fields())
    assert response.status_code == 303
    return client, int(response.headers["Location"].rsplit("/", 1)[1])


@pytest.mark.parametrize("reference", ["", "ab", "x" * 101, "KTB-REFUSED"])
def test_a_refused_reference_post_writes_and_commits_nothing(
    app, db, transfer_order, reference, monkeypatch
):
    client, order_id = transfer_order
    if reference == "KTB-REFUSED":  # valid form, refused by the service: a cancelled order
        client.submit(f"/orders/{order_id}/cancel", {"reason": "changed my mind"})
    token = client.csrf_token(f"/orders/{order_id}")
    no_dispatch(monkeypatch)

    with watched(app) as seen:
        response = client.post(
            f"/orders/{order_id}/reference", data={"csrf_token": token, "reference": reference}
        )

    assert response.status_code in (400, 409)
    assert seen.commits == 0
    assert not [s for s in seen.statements if WRITE.match(s)]
    db.session.expire_all()
    assert db.session.scalar(select(Payment.reference).where(Payment.order_id == order_id)) == ""


# Every GET route writes nothing


def _order_id(response):
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _token(app, email):
    response = app.test_client().post("/api/v1/tokens", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["token"]


class _Mails(logging.Handler):
    """The mails sent (logged), kept on the mail logger itself: caplog's handler on the root
    logger is gone when this fixture is the first to migrate the test database."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def mails():
    logger, handler = logging.getLogger("marketplace.mail"), _Mails()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def world(stripe_app, db, mails):  # noqa: F811
    """A marketplace with something on every page, made through its own pages and API."""
    app = stripe_app
    AdminFactory(email="admin@example.com")
    member = SellerMemberFactory(user__email="member@example.com")
    treasurer = FundTreasurerFactory(user__email="treasurer@example.com")
    rice = ProductFactory(seller=member.seller, price_satang=35000, weight_grams=5050, stock=100)
    agreed_levy(member, treasurer, rice)
    UserFactory(email="buyer@example.com", fund_id=treasurer.fund_id)
    db.session.commit()
    clients = {name: app.test_client() for name in ("admin", "member", "treasurer", "buyer")}
    for name, client in clients.items():
        client.login(f"{name}@example.com")
    clients["anonymous"] = app.test_client()
    buyer, admin = clients["buyer"], clients["admin"]
    assert upload(clients["member"], member.seller, rice, jpeg_with_exif()).status_code == 302

    def place(quantity, method):
        buyer.submit("/cart/add", {"product_id": rice.id, "quantity": str(quantity)})
        return _order_id(buyer.submit("/checkout", checkout_fields(payment_method=method)))

    waiting = place(2, "transfer")
    buyer.submit(f"/orders/{waiting}/reference", {"reference": "KTB 1234"})
    shipped = place(10, "transfer")
    admin.submit(f"/admin/orders/{shipped}/confirm-payment", {"reference": "KTB 99"})
    shipment_id = db.session.get(Order, shipped).shipments[0].id
    clients["member"].submit(
        f"/sellers/{member.seller_id}/shipments/{shipment_id}/ship",
        {
            f"ship{shipment_id}-carrier": "thailand-post",
            f"ship{shipment_id}-tracking_number": "EF123456789TH",
        },
    )
    item_id = db.session.get(Order, shipped).items[0].id
    admin.submit(f"/admin/orders/{shipped}/refund", {f"qty-{item_id}": "1"})
    card_waiting = place(3, "stripe")
    card_paid = place(4, "stripe")
    intent_id = db.session.scalar(select(Payment.external_id).where(Payment.order_id == card_paid))
    pay_with_test_card(app, intent_id)
    amount = db.session.scalar(select(Payment.amount_satang).where(Payment.order_id == card_paid))
    assert deliver(app, succeeded_event(intent_id, amount)).get_json()["outcome"] == "paid"
    item_id = db.session.get(Order, card_paid).items[0].id
    admin.submit(f"/admin/orders/{card_paid}/refund", {f"qty-{item_id}": "1"})
    clients["treasurer"].submit(
        f"/funds/{treasurer.fund_id}/remittances",
        {"amount": "10.00", "remitted_on": date.today().isoformat(), "bank_reference": "KTB 7"},
    )
    buyer.submit("/cart/add", {"product_id": rice.id, "quantity": "1"})  # a cart to see
    anonymous = clients["anonymous"]
    anonymous.submit("/register", registration(email="newcomer@example.com"))
    anonymous.submit("/password/forgot", {"email": "buyer@example.com"})
    db.session.expire_all()
    refunds = db.session.scalars(select(Refund).order_by(Refund.id)).all()
    assert [r.status for r in refunds] == [RefundStatus.SUCCEEDED] * 2
    assert refunds[1].provider_refund_id  # paid back through Stripe
    assert db.session.get(Order, card_waiting).status == OrderStatus.PENDING_PAYMENT
    assert db.session.scalar(select(Payment.external_id).where(Payment.order_id == card_waiting))
    ids = {
        "seller": member.seller_id,
        "fund": treasurer.fund_id,
        "product": rice.id,
        "image": db.session.scalar(select(ProductImage.display_name)),
        "waiting": waiting,
        "shipped": shipped,
        "card_waiting": card_waiting,
        "card_paid": card_paid,
        "confirm_link": mailed_link(mails, "newcomer@example.com", "/register/confirm/"),
        "reset_link": mailed_link(mails, "buyer@example.com", "/password/reset/"),
    }
    tokens = {
        name: _token(app, f"{name}@example.com")
        for name in ("buyer", "member", "treasurer", "admin")
    }
    run = anonymous.post(
        "/api/v1/payout-runs", headers={"Authorization": f"Bearer {tokens['admin']}"}, json={}
    )
    assert run.status_code == 201, run.get_json()
    ids["run"] = run.get_json()["id"]
    ids.update(_group_orders(anonymous, tokens, member.seller_id, treasurer.fund_id, rice.id))
    db.session.rollback()
    return SimpleNamespace(app=app, clients=clients, ids=ids, tokens=tokens)


def _group_orders(client, tokens, seller_id, fund_id, product_id):
    """A group order open with a pledge, and one closed (its shares fixed)."""
    organiser = {"Authorization": f"Bearer {tokens['treasurer']}"}
    member = {"Authorization": f"Bearer {tokens['buyer']}"}
    made = {}
    for name in ("group", "closed_group"):
        opened = client.post(
            "/api/v1/group-orders",
            headers=organiser,
            json={
                "seller_id": seller_id,
                "title": name,
                "closes_at": (utcnow() + timedelta(days=1)).isoformat(),
                "product_ids": [product_id],
                "shipping": GROUP_SHIPPING,
                "fund_id": fund_id,
            },
        )
        assert opened.status_code == 201, opened.get_json()
        group = opened.get_json()
        pledged = client.put(
            f"/api/v1/group-orders/{group['id']}/pledge",
            headers=member,
            json={
                "join_code": group["join_code"],
                "items": [{"product_id": product_id, "quantity": 2}],
            },
        )
        assert pledged.status_code == 200, pledged.get_json()
        made[name], made[f"{name}_code"] = group["id"], group["join_code"]
    closed = client.post(f"/api/v1/group-orders/{made['closed_group']}/close", headers=organiser)
    assert closed.status_code == 201, closed.get_json()
    return made


GROUP_SHIPPING = {
    "name": "สมศรี",
    "phone": "0812345678",
    "address_line": "1 หมู่ 2",
    "subdistrict_code": "830107",
    "postal_code": "83130",
}


def _get_routes(world):
    """``(endpoint, who, url)`` for every GET route: pages as the people who see them."""
    i = world.ids
    seller, fund, product = i["seller"], i["fund"], i["product"]
    period = "from=2026-01-01&to=2030-12-31"
    return [
        ("main.home", "anonymous", "/"),
        ("main.about", "anonymous", "/about"),
        ("main.healthz", "anonymous", "/healthz"),
        ("static", "anonymous", "/static/css/site.css"),
        ("accounts.login", "anonymous", "/login"),
        ("accounts.register", "anonymous", "/register"),
        ("accounts.registration_sent", "anonymous", "/register/sent"),
        ("accounts.confirm_registration", "anonymous", i["confirm_link"]),
        ("accounts.forgot_password", "anonymous", "/password/forgot"),
        ("accounts.reset_sent", "anonymous", "/password/forgot/sent"),
        ("accounts.reset_password", "anonymous", i["reset_link"]),
        ("accounts.account", "buyer", "/account"),
        ("geo.districts", "anonymous", "/geo/provinces/36/districts"),
        ("geo.subdistricts", "anonymous", "/geo/districts/3602/subdistricts"),
        ("catalog.browse", "buyer", "/products?q=%E0%B8%AA%E0%B8%B4%E0%B8%99"),
        ("catalog.browse", "anonymous", "/products"),
        ("catalog.product", "buyer", f"/products/{product}"),
        ("catalog.upload", "anonymous", f"/uploads/products/{i['image']}"),
        ("cart.show", "buyer", "/cart"),
        ("orders.checkout", "buyer", "/checkout"),
        ("orders.history", "buyer", "/orders"),
        ("orders.show", "buyer", f"/orders/{i['waiting']}"),
        ("orders.show", "buyer", f"/orders/{i['shipped']}"),
        ("orders.show", "buyer", f"/orders/{i['card_waiting']}"),
        ("orders.show", "buyer", f"/orders/{i['card_waiting']}?payment_intent=pi_x"),
        ("orders.show", "buyer", f"/orders/{i['card_paid']}"),
        ("orders.promptpay_qr", "buyer", f"/orders/{i['waiting']}/promptpay.png"),
        ("orders.promptpay_qr", "buyer", f"/orders/{i['waiting']}/promptpay.png?download=1"),
        ("sellers.index", "anonymous", "/sellers"),
        ("sellers.show", "anonymous", f"/sellers/{seller}"),
        ("sellers.edit", "member", f"/sellers/{seller}/edit"),
        ("sellers.levies", "member", f"/sellers/{seller}/levies?{period}"),
        ("sellers.centre", "member", f"/sellers/{seller}/centre"),
        ("audit.seller_trail", "member", f"/sellers/{seller}/audit"),
        ("levies.seller_rules", "member", f"/sellers/{seller}/levy-rules"),
        ("catalog.manage", "member", f"/sellers/{seller}/products"),
        ("catalog.new_product", "member", f"/sellers/{seller}/products/new"),
        ("catalog.edit_product", "member", f"/sellers/{seller}/products/{product}/edit"),
        ("orders.seller_shipments", "member", f"/sellers/{seller}/shipments"),
        ("shipping.seller_settings", "member", f"/sellers/{seller}/shipping"),
        ("funds.index", "anonymous", "/funds"),
        ("funds.show", "anonymous", f"/funds/{fund}"),
        ("funds.dashboard", "treasurer", f"/funds/{fund}/dashboard"),
        ("funds.edit", "treasurer", f"/funds/{fund}/edit"),
        ("funds.levy_report", "treasurer", f"/funds/{fund}/levies?{period}"),
        ("funds.levy_report_csv", "treasurer", f"/funds/{fund}/levies.csv?{period}"),
        ("funds.levy_report", "treasurer", f"/funds/{fund}/levies?month=1&year=2026"),
        ("funds.levy_report_pdf", "treasurer", f"/funds/{fund}/levies.pdf?{period}"),
        ("funds.levy_items", "treasurer", f"/funds/{fund}/levies/items?{period}"),
        ("funds.levy_items_audit_csv", "treasurer", f"/funds/{fund}/levies/items.csv?{period}"),
        ("levies.fund_rules", "treasurer", f"/funds/{fund}/levy-rules"),
        ("funds.remittances", "treasurer", f"/funds/{fund}/remittances"),
        ("audit.fund_trail", "treasurer", f"/funds/{fund}/audit"),
        ("admin.dashboard", "admin", "/admin/"),
        ("audit.admin_trail", "admin", "/admin/audit"),
        ("admin.categories", "admin", "/admin/categories"),
        ("admin.sellers_list", "admin", "/admin/sellers"),
        ("admin.sellers_new", "admin", "/admin/sellers/new"),
        ("admin.sellers_edit", "admin", f"/admin/sellers/{seller}"),
        ("admin.funds_list", "admin", "/admin/funds"),
        ("admin.funds_new", "admin", "/admin/funds/new"),
        ("admin.funds_edit", "admin", f"/admin/funds/{fund}"),
        ("levies.admin_rules", "admin", "/admin/levy-rules"),
        ("admin.orders", "admin", "/admin/orders"),
        ("admin.orders", "admin", "/admin/orders?waiting=payment"),
        ("admin.orders", "admin", "/admin/orders?waiting=refund"),
        ("admin.sellers_list", "admin", "/admin/sellers?verified=no"),
        ("admin.order", "admin", f"/admin/orders/{i['waiting']}"),
        ("admin.order", "admin", f"/admin/orders/{i['shipped']}"),
        ("admin.order", "admin", f"/admin/orders/{i['card_waiting']}"),
        ("admin.order", "admin", f"/admin/orders/{i['card_paid']}"),
        ("shipping.default_table", "admin", "/admin/shipping"),
        ("admin.users", "admin", "/admin/users?q=buyer"),
        ("api-docs.openapi_json", "anonymous", "/api/v1/openapi.json"),
        ("api.list_products", "anonymous", "/api/v1/products"),
        ("api.get_product", "buyer", f"/api/v1/products/{product}"),
        ("api.list_orders", "buyer", "/api/v1/orders"),
        ("api.get_order", "buyer", f"/api/v1/orders/{i['card_paid']}"),
        ("api.get_order", "member", f"/api/v1/orders/{i['shipped']}"),
        ("api.get_fund", "treasurer", f"/api/v1/funds/{fund}"),
        ("api.fund_levy_report", "treasurer", f"/api/v1/funds/{fund}/levy-report?{period}"),
        ("api.fund_ledger", "treasurer", f"/api/v1/funds/{fund}/ledger"),
        ("payouts.platform_fee", "admin", f"/admin/sellers/{seller}/platform-fee"),
        ("payouts.runs", "admin", "/admin/payouts"),
        ("payouts.run", "admin", f"/admin/payout-runs/{i['run']}"),
        ("payouts.transfers_csv", "admin", f"/admin/payout-runs/{i['run']}/transfers.csv"),
        ("payouts.statement", "member", f"/sellers/{seller}/statement?{period}"),
        ("payouts.statement_csv", "member", f"/sellers/{seller}/statement.csv?{period}"),
        ("api.seller_balance", "member", f"/api/v1/sellers/{seller}/balance"),
        ("api.get_payout_run", "admin", f"/api/v1/payout-runs/{i['run']}"),
        ("api.seller_statement", "member", f"/api/v1/sellers/{seller}/statement?{period}"),
        ("grouporders.index", "buyer", "/group-orders"),
        ("grouporders.new", "treasurer", f"/group-orders/new?seller_id={seller}"),
        ("grouporders.show", "treasurer", f"/group-orders/{i['group']}"),
        ("grouporders.show", "treasurer", f"/group-orders/{i['closed_group']}"),
        ("grouporders.join", "buyer", f"/g/{i['group_code']}"),
        ("grouporders.join", "anonymous", f"/g/{i['group_code']}"),
        ("grouporders.join", "buyer", f"/g/{i['closed_group_code']}"),
        ("grouporders.sheet", "treasurer", f"/group-orders/{i['closed_group']}/sheet"),
        ("grouporders.sheet_csv", "treasurer", f"/group-orders/{i['closed_group']}/sheet.csv"),
        ("api.get_group_order", "buyer", f"/api/v1/group-orders/{i['group']}"),
        ("api.get_group_order", "treasurer", f"/api/v1/group-orders/{i['closed_group']}"),
    ]


#: What each page shows when it renders with content (a few pages, checked by text).
SHOWN = {
    "/orders/{card_waiting}": "data-client-secret",
    "/orders/{waiting}": "KTB 1234",
    "/admin/": "KTB 1234",  # the reported payment waits on the overview
    "/admin/orders?waiting=payment": "KTB 1234",
    "/orders/{shipped}": "EF123456789TH",
}


def test_no_get_route_writes_or_commits(world):
    app = world.app
    routes = _get_routes(world)
    get_endpoints = {
        rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())
    }
    assert {endpoint for endpoint, _who, _url in routes} == get_endpoints

    offenders = []
    for endpoint, who, url in routes:
        client = world.clients[who]
        headers = {}
        if url.startswith("/api/v1/") and who in world.tokens:
            headers["Authorization"] = f"Bearer {world.tokens[who]}"
        with watched(app) as seen:
            response = client.get(url, headers=headers)
            body = response.get_data()
            response.close()
        if response.status_code != 200:
            offenders.append(f"{endpoint} {url}: {response.status_code}")
        if seen.commits or writes(seen):
            offenders.append(f"{endpoint} {url}: {seen.commits} commits, {writes(seen)}")
        for pattern, text in SHOWN.items():
            if url == pattern.format(**world.ids):
                assert text.encode() in body, f"{url} does not show {text}"

    assert offenders == []


def test_the_stripe_order_page_reads_the_intent_with_no_transaction_open(world, monkeypatch):
    from marketplace.payments import stripe_gateway

    states = []
    real_call = stripe_gateway._call

    def call(what, *args, **kwargs):
        states.append((what, _db.session().in_transaction()))
        return real_call(what, *args, **kwargs)

    monkeypatch.setattr(stripe_gateway, "_call", call)
    page = world.clients["buyer"].get(f"/orders/{world.ids['card_waiting']}")

    assert page.status_code == 200 and b"data-client-secret" in page.data
    assert states == [("read payment intent", False)]
    with world.app.app_context():
        payment = _db.session.scalar(
            select(Payment).where(Payment.order_id == world.ids["card_waiting"])
        )
        assert payment.status == PaymentStatus.PENDING
