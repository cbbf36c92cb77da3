"""``make bench``: the performance figures of issue 11, each beside its floor, in one run.

It creates a PostgreSQL database (``TEST_POSTGRES_URL``), builds the data set
(benchmarks/dataset.py, ``BENCH_SCALE``), starts the production topology (gunicorn with 2
sync workers, a Celery worker, a redis-server of its own: tests/stack.py) and the floor
apps (benchmarks/floor.py), loads them with ``wrk -t2 -c32`` for ``BENCH_SECONDS`` (10)
each, and prints one ``name=value`` line per figure (units in the name). Lines starting
with ``#`` are commentary. The database is dropped at the end.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import flask_migrate
from sqlalchemy import event, func, select, text

from benchmarks import dataset, levy_report
from marketplace import create_app
from marketplace.extensions import db

ROOT = Path(__file__).resolve().parent.parent
WRK_DIR = Path(__file__).resolve().parent / "wrk"
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = 32
BUYERS = 8
ROUTING_ORDERS = int(os.environ.get("BENCH_ROUTING_ORDERS", "2000"))
NOOP_TASKS = 5000
#: Requests to the home page in all, for home_errors (issue 11: no crash in 10,000).
HOME_REQUESTS = int(os.environ.get("BENCH_HOME_REQUESTS", "10000"))


def log(message):
    print(f"# {message}", flush=True)


def emit(figures, name, value):
    figures[name] = value
    print(f"{name}={value}", flush=True)


# wrk


def wrk(url, connections=CONNECTIONS, seconds=SECONDS, script=None, args=()):
    """Load ``url`` with wrk; return requests/s, p95 ms and errors (non-2xx and socket)."""
    lua = (WRK_DIR / "report.lua").read_text()
    if script:
        lua = (WRK_DIR / script).read_text() + "\n" + lua
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(lua)
    try:
        threads = min(2, connections)
        argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", handle.name]
        result = subprocess.run(
            [*argv, url, *(["--", *args] if args else [])],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
    finally:
        os.unlink(handle.name)
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("BENCH "))
    values = dict(part.split("=") for part in line.split()[1:])
    seconds_taken = int(values["duration_us"]) / 1e6
    return {
        "rps": round(int(values["requests"]) / seconds_taken, 1),
        "p95_ms": round(int(values["p95_us"]) / 1000, 1),
        "errors": int(values["non2xx"]) + int(values["socket_errors"]),
        "requests": int(values["requests"]),
    }


# SQL statements per request, counted in this process


def statements_per_request(app, method, path, **kwargs):
    count = [0]

    def counter(*_args, **_kwargs):
        count[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        response = app.test_client().open(path, method=method, **kwargs)
        assert response.status_code < 400, (path, response.status_code, response.data[:500])
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return count[0]


# The market the checkout and routing figures use


def market(app):
    """The demo buyer and admin with API tokens, and a demo product with a levy."""
    from marketplace.accounts import services as accounts
    from marketplace.api import services as api
    from marketplace.catalog.models import Product
    from marketplace.levies.models import LevyRule

    with app.app_context():
        tokens = {}
        for role, email in (("buyer", "buyer@demo.local"), ("admin", "admin@demo.local")):
            tokens[role], _expires = api.issue_token(email, dataset.DEMO_PASSWORD)
        rule = db.session.scalars(select(LevyRule).order_by(LevyRule.id)).first()
        query = select(Product).where(Product.status == "active")
        if rule is not None and rule.product_id:
            query = query.where(Product.id == rule.product_id)
        elif rule is not None:
            query = query.where(Product.seller_id == rule.seller_id)
        product = db.session.scalars(query.order_by(Product.id)).first()
        product.stock = 10_000_000
        subdistrict, postal = db.session.execute(
            text("SELECT subdistrict_code, postal_code FROM subdistrict_postal_codes LIMIT 1")
        ).one()
        buyer = accounts.get_by_email("buyer@demo.local")
        db.session.commit()
        return {
            "buyer": tokens["buyer"],
            "admin": tokens["admin"],
            "buyer_id": buyer.id,
            "product_id": product.id,
            "subdistrict": subdistrict,
            "postal": postal,
        }


def paid_and_routed(app):
    """(paid orders, of them with their payment posted to the ledger)."""
    from marketplace.ledger.models import EntryKind, JournalEntry
    from marketplace.orders.models import Order

    with app.app_context():
        paid = db.session.scalar(
            select(func.count()).select_from(Order).where(Order.paid_at.is_not(None))
        )
        routed = db.session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.kind == EntryKind.PAYMENT)
        )
        return paid, routed


def wait_routed(app, baseline, timeout=600):
    """True once every order paid since ``baseline`` (a ``paid_and_routed``) is routed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        paid, routed = paid_and_routed(app)
        if routed - baseline[1] >= paid - baseline[0]:
            return True
        time.sleep(0.2)
    return False


def last_outbox_id(app):
    from marketplace.outbox.models import OutboxMessage

    with app.app_context():
        return db.session.scalar(select(func.max(OutboxMessage.id))) or 0


def wait_drained(app, since, timeout=300):
    """Wait until the outbox rows written after ``since`` are done (the mail tasks after
    the payments), so that the next figure's worker starts on an empty queue."""
    from marketplace.outbox.models import OutboxMessage

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            waiting = db.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.id > since, OutboxMessage.done_at.is_(None))
            )
        if not waiting:
            return
        time.sleep(0.2)
    log(f"{waiting} outbox rows still waiting after {timeout} s; going on")


def place_paid_orders(app, buyer_id, product_id, count, address):
    """``count`` orders placed and confirmed paid in this process (published per batch)."""
    from marketplace.accounts import services as accounts
    from marketplace.orders import services as orders

    with app.app_context():
        buyer = db.session.get(accounts.User, buyer_id)
        admin = accounts.get_by_email("admin@demo.local")
        for start in range(0, count, 200):
            for n in range(start, min(start + 200, count)):
                order = orders.place_order(buyer, [(product_id, 1)], address=address)
                orders.confirm_transfer(admin, order, f"bench routing {n}")
            db.session.commit()


def noop_floor(app, worker_start, worker_stop, redis_url):
    """Celery's own floor: no-op tasks a second through the same broker and worker."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete("bench:noop")
    with app.app_context():
        celery = app.extensions["celery"]
        for _ in range(NOOP_TASKS):
            celery.send_task("tasks.bench.noop")
    started = time.monotonic()
    worker = worker_start()
    try:
        while int(client.get("bench:noop") or 0) < NOOP_TASKS:
            if time.monotonic() - started > 300:
                raise RuntimeError("no-op tasks did not finish in 300 s")
            time.sleep(0.05)
        return NOOP_TASKS / (time.monotonic() - started)
    finally:
        worker_stop(worker)


# The run


def main():
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (apt-get install wrk); `make bench` installs it")
    from tests.conftest import make_config
    from tests.stack import Process, RedisServer, Stack, free_port, wait_until

    figures = {}
    log(f"BENCH_SCALE={SCALE} BENCH_SECONDS={SECONDS}, wrk -t2 -c{CONNECTIONS}")
    url, name = levy_report.create_database()
    logs = Path(tempfile.mkdtemp(prefix="talat-bench-"))
    redis_server = RedisServer(logs).start()
    stack = Stack(url, redis_server, logs, WEB_CONCURRENCY=2, LOG_LEVEL="INFO")
    try:
        app = create_app(make_config(url, CELERY_BROKER_URL=redis_server.url))
        with app.app_context():
            flask_migrate.upgrade()
            began = time.monotonic()
            counts = dataset.build(SCALE, log)
            log(f"built in {time.monotonic() - began:.0f} s: {counts}")
        shop = market(app)
        with app.app_context():
            province = db.session.scalar(text("SELECT min(code) FROM provinces"))
            category = db.session.scalar(
                text("SELECT slug FROM categories WHERE active ORDER BY position LIMIT 1")
            )
            product_id = db.session.scalar(
                text("SELECT max(id) FROM products WHERE name_en LIKE '% lot %'")
            )

        # SQL statements per request, in this process
        emit(figures, "sql_per_catalog_page", statements_per_request(app, "GET", "/products"))
        emit(
            figures,
            "sql_per_catalog_page_48",
            statements_per_request(app, "GET", "/products?per_page=48"),
        )
        emit(
            figures,
            "sql_per_checkout",
            statements_per_request(
                app,
                "POST",
                "/api/v1/orders",
                json={
                    "items": [{"product_id": shop["product_id"], "quantity": 1}],
                    "payment_method": "transfer",
                    "shipping": {
                        "name": "ผู้ซื้อ",
                        "phone": "0812345678",
                        "address_line": "1 หมู่ 1",
                        "subdistrict_code": shop["subdistrict"],
                        "postal_code": shop["postal"],
                    },
                },
                headers={
                    "Authorization": f"Bearer {shop['buyer']}",
                    "Idempotency-Key": "bench-sql-count",
                },
            ),
        )

        # The floors and the pages
        floor_port = free_port()
        floor = Process(
            "floor",
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{floor_port}",
                "benchmarks.floor:app",
            ],
            {**os.environ, "FLOOR_DATABASE_URL": url},
            logs,
        ).start()
        stack.processes.append(floor)  # stopped with the rest, whatever happens
        floor_base = f"http://127.0.0.1:{floor_port}"
        if not wait_until(lambda: _answers(f"{floor_base}/ok"), timeout=30):
            raise RuntimeError(floor.output())
        web, base = stack.web(workers=2)
        wrk(f"{floor_base}/catalog", seconds=2)  # warm up both
        wrk(f"{base}/products", seconds=2)
        bare = wrk(f"{floor_base}/ok")
        emit(figures, "bare_flask_rps", bare["rps"])
        catalog_floor = wrk(f"{floor_base}/catalog")
        emit(figures, "catalog_floor_rps", catalog_floor["rps"])
        emit(figures, "catalog_floor_p95_ms", catalog_floor["p95_ms"])
        pages = {
            "catalog": "/products",
            "catalog_filtered": f"/products?category={category}&province={province}",
            "search": "/products?q=" + quote("มะลิ"),
            "product": f"/products/{product_id}",
            "api_products": f"/api/v1/products?province={province}",
            "home": "/",
        }
        for key, path in pages.items():
            result = wrk(base + path)
            emit(figures, f"{key}_rps", result["rps"])
            emit(figures, f"{key}_p95_ms", result["p95_ms"])
            if key in ("catalog", "search", "catalog_filtered"):
                emit(figures, f"{key}_ratio", round(result["rps"] / catalog_floor["rps"], 3))
            if key == "home":
                # At least HOME_REQUESTS requests in all; a worker that dies is an error.
                served, errors = result["requests"], result["errors"]
                while served < HOME_REQUESTS:
                    more = wrk(
                        base + path,
                        seconds=max(2, int((HOME_REQUESTS - served) / max(result["rps"], 1)) + 1),
                    )
                    served, errors = served + more["requests"], errors + more["errors"]
                crashed = web.log.read_text().count("Worker (pid")  # killed or died
                emit(figures, "home_requests", served)
                emit(figures, "home_errors", errors + crashed)

        # Checkout: 8 buyers at once
        checkout_args = [
            shop["buyer"],
            "-",
            str(shop["product_id"]),
            shop["subdistrict"],
            shop["postal"],
        ]
        checkout = wrk(f"{base}/api/v1/orders", BUYERS, script="checkout.lua", args=checkout_args)
        emit(figures, "checkout_p95_ms", checkout["p95_ms"])
        emit(figures, "checkout_orders_per_s", checkout["rps"])
        emit(figures, "checkout_errors", checkout["errors"])

        # Placed and paid, end to end, with the real worker routing the money
        worker = stack.worker(concurrency=2)
        paid_since = last_outbox_id(app)
        before = paid_and_routed(app)
        began = time.monotonic()
        paying = wrk(
            f"{base}/api/v1/orders",
            BUYERS,
            script="checkout.lua",
            args=[checkout_args[0], shop["admin"], *checkout_args[2:]],
        )
        if not wait_routed(app, before):
            raise RuntimeError("the worker did not route every paid order\n" + stack.output())
        paid_after, _routed = paid_and_routed(app)
        emit(
            figures,
            "paid_orders_per_s",
            round((paid_after - before[0]) / (time.monotonic() - began), 1),
        )
        emit(figures, "paid_errors", paying["errors"])
        wait_drained(app, since=paid_since)
        worker.stop()
        web.stop()
        floor.stop()

        # Routing: paid orders waiting, then one worker (2 processes) routes them
        before = paid_and_routed(app)
        routing_since = last_outbox_id(app)
        place_paid_orders(
            app,
            shop["buyer_id"],
            shop["product_id"],
            ROUTING_ORDERS,
            {
                "name": "ผู้ซื้อ",
                "phone": "0812345678",
                "address_line": "1 หมู่ 1",
                "subdistrict_code": shop["subdistrict"],
                "postal_code": shop["postal"],
            },
        )
        began = time.monotonic()
        worker = stack.worker(name="router", concurrency=2)
        if not wait_routed(app, before):
            raise RuntimeError("routing did not finish\n" + stack.output())
        routing = ROUTING_ORDERS / (time.monotonic() - began)
        wait_drained(app, since=routing_since)  # the payments' mail, before the no-ops
        worker.stop()
        emit(figures, "routing_orders_per_s", round(routing, 1))
        floor_tasks = noop_floor(
            app,
            lambda: stack.worker(name="noop", concurrency=2),
            lambda process: process.stop(),
            redis_server.url,
        )
        emit(figures, "routing_floor_tasks_per_s", round(floor_tasks, 1))
        emit(figures, "routing_ratio", round(routing / floor_tasks, 3))
        with app.app_context():
            db.engine.dispose()
    finally:
        stack.stop()
        redis_server.stop()
        levy_report.drop_database(name)

    for key, value in levy_report.measure(log).items():
        emit(figures, key, value)
    _summary(figures)
    return 0


def _answers(url):
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local
            return response.status == 200
    except OSError:
        return False


TARGETS = (
    ("catalog_ratio", ">=", 0.5),
    ("catalog_p95_ms", "<", 50),
    ("search_ratio", ">=", 0.3),
    ("checkout_p95_ms", "<", 60),
    ("paid_orders_per_s", ">=", 100),
    ("routing_ratio", ">=", 0.25),
    ("report_ms_1m", "<", 100),
    ("report_growth", "<=", 1.5),
    ("home_errors", "<=", 0),
)


def _summary(figures):
    for name, op, target in TARGETS:
        value = figures.get(name)
        met = value is not None and (
            value >= target if op == ">=" else value < target if op == "<" else value <= target
        )
        log(f"target {name} {op} {target}: {value} {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
