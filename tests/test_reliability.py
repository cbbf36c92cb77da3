"""The money survives faults: real PostgreSQL, a redis-server, gunicorn and Celery processes.

Each scenario starts what it needs (tests/stack.py) on free ports against the suite's own
PostgreSQL database and its own redis-server, breaks something for real (SIGKILL, Redis
stopped, a database connection terminated, a message published five times), and then
checks the outcome a treasurer cares about: every levy posted exactly once and
``flask ledger verify`` clean. Figures (recovery time, throughput) are printed; run with
``-s`` to see them, and README records them.
"""

import contextlib
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from marketplace.api import services as api_services
from marketplace.catalog.models import Product
from marketplace.demo.cli import DEFAULT_PASSWORD as DEMO_PASSWORD
from marketplace.extensions import db as _db
from marketplace.ledger import services as ledger
from marketplace.ledger.models import EntryKind, JournalEntry
from marketplace.levies.models import OrderItemLevy
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderItem, OrderStatus
from marketplace.outbox.models import OutboxMessage
from tests.conftest import PASSWORD
from tests.factories import (
    AdminFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)
from tests.stack import (
    Process,
    RedisServer,
    Stack,
    descendants,
    free_port,
    healthy,
    wait_until,
)

pytestmark = [pytest.mark.reliability, pytest.mark.postgres_only]

ADDRESS = {
    "name": "สมศรี ใจดี",
    "phone": "0812345678",
    "address_line": "45/2 หมู่ 3",
    "subdistrict_code": "830107",
    "postal_code": "83130",
}
#: The load scenario's size and the bound its routing must finish within.
LOAD_ORDERS = 2000
LOAD_BOUND_SECONDS = 300


# Fixtures


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def stack(database, redis_server, tmp_path, make_app):
    """Processes are stopped before ``make_app`` empties the tables."""
    running = Stack(database["url"], redis_server, tmp_path)
    yield running
    running.stop()


@pytest.fixture
def seed_app(make_app, redis_server):
    """An app in this process that publishes to the suite's Redis (as the web would)."""
    app = make_app(CELERY_BROKER_URL=redis_server.url)
    with app.app_context():
        yield app
        _db.session.rollback()


@pytest.fixture
def market(seed_app):
    """Three sellers and three funds: ฿4 a bag, 2% of baskets, ฿1.50 a kg of seedlings."""
    funds = [FundTreasurerFactory() for _ in range(3)]
    members = [SellerMemberFactory() for _ in range(3)]
    products = [
        ProductFactory(seller=members[0].seller, price_satang=35000, weight_grams=5050),
        ProductFactory(seller=members[1].seller, price_satang=45050, weight_grams=400),
        ProductFactory(seller=members[2].seller, price_satang=2533, weight_grams=1333),
    ]
    for product in products:
        product.stock = 1_000_000
    agreed_levy(members[0], funds[0], products[0], rate=400)
    agreed_levy(members[1], funds[1], products[1], kind="percent", rate=200)
    agreed_levy(members[2], funds[2], products[2], kind="per_kg", rate=150)
    admin = AdminFactory()
    buyer = UserFactory()
    _db.session.commit()
    return {"admin": admin, "buyer": buyer, "products": products, "funds": funds}


# Helpers


def place_paid_orders(market, count, batch=100):
    """``count`` orders of 1-3 lines, paid by transfer; committed (and published) per batch."""
    products = market["products"]
    ids = []
    for start in range(0, count, batch):
        for n in range(start, min(start + batch, count)):
            lines = [(products[(n + k) % 3].id, 1 + (n + k) % 4) for k in range(1 + n % 3)]
            order = orders.place_order(market["buyer"], lines, address=ADDRESS)
            orders.confirm_transfer(market["admin"], order, f"KTB {n}")
            ids.append(order.id)
        _db.session.commit()
    return ids


def expected_levies():
    """Levy lines of paid orders: what must be posted, once each."""
    return _db.session.scalar(
        select(func.count())
        .select_from(OrderItemLevy)
        .join(OrderItem, OrderItemLevy.order_item_id == OrderItem.id)
        .join(Order, OrderItem.order_id == Order.id)
        .where(Order.status == OrderStatus.PAID)
    )


def posted_levies():
    _db.session.rollback()  # a fresh snapshot
    return _db.session.scalar(
        select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == EntryKind.LEVY)
    )


def assert_posted_exactly_once(stack):
    duplicates = _db.session.execute(
        select(JournalEntry.key, func.count()).group_by(JournalEntry.key).having(func.count() > 1)
    ).all()
    assert duplicates == []
    assert posted_levies() == expected_levies()
    payments = _db.session.scalar(
        select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == EntryKind.PAYMENT)
    )
    assert payments == _db.session.scalar(
        select(func.count()).select_from(Order).where(Order.status == OrderStatus.PAID)
    )

    # Levies are routed in batches ahead of the mail the same payments queued: let the
    # worker finish those too, then nothing may be left undone.
    def undone():
        _db.session.rollback()
        return _db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.done_at.is_(None))
        )

    wait_until(lambda: undone() == 0, timeout=120, interval=0.5)
    assert undone() == 0
    verify = stack.flask("ledger", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "ledger OK" in verify.stdout


def wait_for_all_levies(stack, timeout):
    expected = expected_levies()
    assert wait_until(lambda: posted_levies() >= expected, timeout=timeout, interval=0.25), (
        f"{posted_levies()} of {expected} levies posted\n{stack.output()}"
    )


@contextlib.contextmanager
def held_account(account_id):
    """Hold a ledger account's row lock (as a long transaction would) until the block ends."""
    connection = _db.engine.connect()
    transaction = connection.begin()
    try:
        connection.execute(
            text("SELECT id FROM ledger_accounts WHERE id = :id FOR UPDATE"), {"id": account_id}
        )
        yield
    finally:
        transaction.rollback()
        connection.close()


def waiting_on_a_lock(application_name=None):
    """The pid of a session of this database waiting on a lock (a task held up), or None."""
    _db.session.rollback()
    query = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    if application_name:
        query += " AND application_name = :name"
    return _db.session.execute(text(query), {"name": application_name}).scalar()


def http(base, method, path, body=None, token=None, headers=None, timeout=30):
    request = urllib.request.Request(  # noqa: S310 - a local server
        f"{base}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def token(user):
    issued, _expires = api_services.issue_token(user.email, PASSWORD)
    _db.session.commit()
    return issued


# a. Oversell


def test_a_fifty_buyers_over_http_against_gunicorn_buy_exactly_the_stock(stack, seed_app):
    product = ProductFactory(name_th="ข้าวหอมมะลิ ล็อตสุดท้าย", stock=10)
    buyers = [UserFactory() for _ in range(50)]
    _db.session.commit()
    tokens = [token(buyer) for buyer in buyers]
    product_id = product.id
    _web, base = stack.web(workers=4)
    stack.worker()

    start, statuses = threading.Barrier(50), [None] * 50

    def buy(n):
        start.wait()
        try:
            statuses[n], _body = http(
                base,
                "POST",
                "/api/v1/orders",
                {
                    "items": [{"product_id": product_id, "quantity": 1}],
                    "shipping": ADDRESS,
                    "payment_method": "transfer",
                },
                tokens[n],
                {"Idempotency-Key": f"buyer-{n}"},
            )
        except Exception as error:  # noqa: BLE001 - counted, and shown, below
            statuses[n] = repr(error)

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert Counter(statuses) == {201: 10, 409: 40}, (Counter(statuses), stack.output())
    _db.session.rollback()
    assert _db.session.scalar(select(Product.stock).where(Product.id == product_id)) == 0
    assert _db.session.scalar(select(func.sum(OrderItem.quantity))) == 10


# b. A worker killed while routing


def test_b_worker_killed_mid_routing_then_every_levy_posted_once(stack, market, figures):
    place_paid_orders(market, 300)  # queued in Redis; nobody is consuming yet
    first = stack.worker("worker1")
    assert wait_until(lambda: posted_levies() >= 30, timeout=60), stack.output()

    first.kill()  # SIGKILL to the whole process group: tasks cut off mid-transaction
    stopped_at = posted_levies()
    assert stopped_at < expected_levies(), "the worker finished before it could be killed"
    stack.worker("worker2")
    stack.beat()  # its sweep re-sends what the killed worker had taken and not finished

    started = time.monotonic()
    wait_for_all_levies(stack, timeout=120)
    figures(
        f"[reliability b] killed after {stopped_at} of {expected_levies()} levies; "
        f"the rest posted {time.monotonic() - started:.1f}s after a new worker started"
    )
    assert_posted_exactly_once(stack)


# c. Redis down when an order is paid


@pytest.mark.parametrize("fault", ["stopped", "hung"])
def test_c_redis_down_when_paid_answers_fast_and_routes_once_redis_is_back(
    stack, market, redis_server, figures, fault
):
    """Stopped: connections refused. Hung (SIGSTOP): connections accepted by the kernel,
    nothing ever answered, the worse case for a publish."""
    order = orders.place_order(market["buyer"], [(market["products"][0].id, 10)], address=ADDRESS)
    _db.session.commit()
    admin = token(market["admin"])
    _web, base = stack.web(workers=2)
    stack.worker()
    stack.beat()

    if fault == "stopped":
        redis_server.stop()
    else:
        redis_server.pause()
    started = time.monotonic()
    status, body = http(
        base,
        "POST",
        f"/api/v1/orders/{order.id}/payment-confirmations",
        {"reference": "KTB"},
        admin,
    )
    answered_in = time.monotonic() - started
    assert status == 200 and body["status"] == "paid", (status, body, stack.output())
    assert answered_in < 2.0, f"the payment took {answered_in:.2f}s with Redis {fault}"
    time.sleep(2)
    assert posted_levies() == 0
    _db.session.rollback()
    kept = _db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.done_at.is_(None))
    )
    assert kept >= 1  # the outbox holds the work while the broker is away

    if fault == "stopped":
        redis_server.start()
    else:
        redis_server.resume()
    back = time.monotonic()
    wait_for_all_levies(stack, timeout=90)
    recovered_in = time.monotonic() - back
    figures(
        f"[reliability c] payment answered in {answered_in * 1000:.0f} ms with Redis {fault}; "
        f"levies routed {recovered_in:.1f}s after Redis came back"
    )
    time.sleep(4)  # a sweep or a late redelivery must not post it again
    assert_posted_exactly_once(stack)
    assert posted_levies() == 1


# d. One message, five times


def test_d_the_same_task_message_published_five_times_posts_once(stack, market, seed_app):
    [order_id] = place_paid_orders(market, 1)
    message = _db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.task == "tasks.levy.route_order")
    )
    celery = seed_app.extensions["celery"]
    for _ in range(4):  # the outbox published it once already: five in all
        celery.send_task(message.task, kwargs={**message.payload, "outbox_id": message.id})
    worker = stack.worker(concurrency=3)

    wait_for_all_levies(stack, timeout=60)

    def runs():
        return sum(
            "Task tasks.levy.route_order[" in line and "succeeded" in line
            for line in worker.log.read_text().splitlines()
        )

    assert wait_until(lambda: runs() >= 5, timeout=30), worker.output()
    time.sleep(1)
    assert_posted_exactly_once(stack)
    assert order_id and posted_levies() == expected_levies() >= 1


# e. The database connection drops during a task


def test_e_database_connection_dropped_mid_task_the_task_retries_and_succeeds(stack, market):
    fund_id = market["funds"][0].fund_id
    account_id = ledger.fund_payable(fund_id).id
    _db.session.commit()
    worker = stack.worker(concurrency=1, application_name="talat-worker-e")

    # Hold the fund's account so the routing task waits inside its transaction...
    with held_account(account_id):
        order = orders.place_order(
            market["buyer"], [(market["products"][0].id, 3)], address=ADDRESS
        )
        orders.confirm_transfer(market["admin"], order, "KTB")
        _db.session.commit()
        assert wait_until(lambda: waiting_on_a_lock("talat-worker-e"), timeout=30), worker.output()
        # ...then cut its connection, as a database restart or a network drop would.
        pid = waiting_on_a_lock("talat-worker-e")
        _db.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        _db.session.commit()

    wait_for_all_levies(stack, timeout=60)
    log = worker.log.read_text()
    retried = [line for line in log.splitlines() if "retry: Retry in" in line]
    assert retried and "OperationalError" in retried[0], worker.output()
    assert_posted_exactly_once(stack)
    assert posted_levies() == 1


# f. Load


def test_f_two_thousand_paid_orders_routed_by_the_real_worker(stack, market, figures):
    started = time.monotonic()
    place_paid_orders(market, LOAD_ORDERS, batch=200)
    placed_in = time.monotonic() - started
    expected = expected_levies()

    routing_started = time.monotonic()
    stack.worker(concurrency=2)
    wait_for_all_levies(stack, timeout=LOAD_BOUND_SECONDS)
    routed_in = time.monotonic() - routing_started
    figures(
        f"[reliability f] {LOAD_ORDERS} orders placed and paid in {placed_in:.1f}s; "
        f"{expected} levies of them posted by one worker (2 processes) in {routed_in:.1f}s "
        f"= {LOAD_ORDERS / routed_in:.0f} orders/s (bound {LOAD_BOUND_SECONDS}s)"
    )
    assert routed_in < LOAD_BOUND_SECONDS
    assert_posted_exactly_once(stack)


# g. make up: the Procfile stack, stopped in the middle of routing


def test_g_make_up_serves_routes_and_loses_nothing_when_stopped(
    database, redis_server, tmp_path, seed_app
):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database["url"],
        "CELERY_BROKER_URL": redis_server.url,
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "OUTBOX_SWEEP_INTERVAL": "1",
        "OUTBOX_REDISPATCH_AFTER": "3",
        "SECRET_KEY": "reliability-suite",
        "UP_DEMO": "1",
    }
    base = f"http://127.0.0.1:{port}"
    up = Process("make-up", ["scripts/up"], env, tmp_path)
    verify = Stack(database["url"], redis_server, tmp_path)

    def start():
        up.start()
        assert wait_until(lambda: healthy(base), timeout=120), up.output()

    def stop():
        os.kill(up.popen.pid, signal.SIGINT)  # as Ctrl-C: honcho stops all three
        up.popen.wait(timeout=60)

    try:
        start()
        tokens = {
            who: http(
                base,
                "POST",
                "/api/v1/tokens",
                {"email": f"{who}@demo.local", "password": DEMO_PASSWORD},
            )[1]["token"]
            for who in ("buyer", "admin")
        }
        _status, listing = http(
            base, "GET", "/api/v1/products?q=%E0%B8%A1%E0%B8%B0%E0%B8%A5%E0%B8%B4"
        )
        rice = next(p for p in listing["items"] if p["levies"])
        # The fund's account held, so the worker is mid-task when make up is stopped.
        account_id = ledger.fund_payable(rice["levies"][0]["fund_id"]).id
        _db.session.commit()
        with held_account(account_id):
            for n in range(20):
                status, order = http(
                    base,
                    "POST",
                    "/api/v1/orders",
                    {
                        "items": [{"product_id": rice["id"], "quantity": 1}],
                        "shipping": ADDRESS,
                        "payment_method": "transfer",
                    },
                    tokens["buyer"],
                    {"Idempotency-Key": f"up-{n}"},
                )
                assert status == 201, order
                status, paid = http(
                    base,
                    "POST",
                    f"/api/v1/orders/{order['id']}/payment-confirmations",
                    {"reference": f"KTB {n}"},
                    tokens["admin"],
                )
                assert status == 200, paid
            assert wait_until(waiting_on_a_lock, timeout=30), up.output()
            assert posted_levies() == 0
            processes = descendants(up.popen.pid)  # honcho's web, worker and beat, and theirs
            stop()
        assert not up.running
        assert wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in processes))
        start()
        assert wait_until(lambda: posted_levies() == 20, timeout=60), up.output()
    finally:
        if up.running:
            with contextlib.suppress(Exception):
                stop()
            up.kill()
    result = verify.flask("ledger", "verify")
    assert result.returncode == 0 and "ledger OK" in result.stdout, result.stdout + result.stderr
