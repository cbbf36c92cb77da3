"""Levies: rules agreed by two sides, snapshots on orders, routing into the ledger, reports."""

import json
import sqlite3
import threading
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from marketplace.audit.models import AuditRecord
from marketplace.dbtypes import utcnow
from marketplace.errors import Conflict, DomainError, Forbidden
from marketplace.extensions import db as _db
from marketplace.funds import reports
from marketplace.i18n import to_bangkok
from marketplace.ledger import export as ledger_export
from marketplace.ledger import services as ledger
from marketplace.ledger.models import (
    Account,
    AccountKind,
    EntryKind,
    FundLevyDay,
    FundLevyMonth,
    JournalEntry,
    JournalLine,
    LevyDimension,
    Remittance,
)
from marketplace.ledger.verify import verify
from marketplace.levies import routing
from marketplace.levies import services as levies
from marketplace.levies.forms import read_rate
from marketplace.levies.models import Beneficiary, LevyKind, LevyRule, LevyScope, RuleStatus, Side
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as orders
from marketplace.orders.models import RefundStatus
from marketplace.outbox.models import OutboxMessage
from tests.conftest import sqlite_file
from tests.factories import (
    ADDRESS,
    AdminFactory,
    FundFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)
from tests.pages import field_errors

START = date(2026, 1, 1)


@pytest.fixture
def world(db):
    """A rice seller with one member, a fund with one treasurer, an admin and a buyer."""
    member = SellerMemberFactory(user__email="member@example.com")
    treasurer = FundTreasurerFactory(user__email="treasurer@example.com")
    rice = ProductFactory(
        seller=member.seller,
        name_th="ข้าวหอมมะลิ ถุง 5 กก.",
        price_satang=35000,
        weight_grams=5050,
        stock=500,
    )
    world = {
        "membership": member,
        "treasurership": treasurer,
        "seller": member.seller,
        "member": member.user,
        "fund": treasurer.fund,
        "treasurer": treasurer.user,
        "rice": rice,
        "admin": AdminFactory(email="admin@example.com"),
        "buyer": UserFactory(email="buyer@example.com"),
    }
    db.session.commit()
    return world


def agree(world, kind="per_unit", rate=400, scope="product"):
    """A rule proposed by the seller's member and accepted by the fund's treasurer."""
    product = world["rice"] if scope == "product" else None
    return agreed_levy(
        world["membership"], world["treasurership"], product, kind=kind, rate=rate, scope=scope
    )


def terms(world, **changes):
    """Terms of a ฿4 a bag levy on the rice for the world's fund, with ``changes``."""
    values = {
        "seller_id": world["seller"].id,
        "fund_id": world["fund"].id,
        "beneficiary": Beneficiary.FUND,
        "scope": LevyScope.PRODUCT,
        "product_id": world["rice"].id,
        "kind": LevyKind.PER_UNIT,
        "rate": 400,
        "effective_from": START,
        **changes,
    }
    return levies.LevyTerms(**values)


def buy(world, quantity=10, product=None, buyer=None, pay=True):
    order = orders.place_order(
        buyer or world["buyer"], [((product or world["rice"]).id, quantity)], address=ADDRESS
    )
    if pay:
        orders.confirm_transfer(world["admin"], order)
    return order


def fund_balance(fund_id):
    return reports.balance(fund_id)


# Rules


def test_proposed_by_a_member_accepted_by_the_treasurer_through_the_web(client, db, world):
    client.login("member@example.com")
    response = client.submit(
        f"/sellers/{world['seller'].id}/levy-rules",
        {
            "beneficiary": "fund",
            "fund_id": str(world["fund"].id),
            "scope": "product",
            "product_id": str(world["rice"].id),
            "kind": "per_unit",
            "rate": "4",
            "effective_from": "2026-01-01",
        },
    )
    assert response.status_code == 303
    rule = db.session.scalar(select(LevyRule))
    assert (rule.status, rule.rate, rule.kind) == (RuleStatus.PROPOSED, 400, "per_unit")

    # The proposer cannot accept their own proposal.
    assert client.submit(f"/levy-rules/{rule.id}/accept", {}).status_code == 403
    client.submit("/logout", {})
    client.login("treasurer@example.com")
    page = client.get(f"/funds/{world['fund'].id}/levy-rules").get_data(as_text=True)
    assert "฿4.00" in page
    client.submit(f"/levy-rules/{rule.id}/accept", {"next": "/"})

    db.session.refresh(rule)
    assert rule.status == RuleStatus.ACTIVE
    product_page = client.get(f"/products/{world['rice'].id}").get_data(as_text=True)
    assert "฿4.00" in product_page and world["fund"].name_th in product_page


def test_other_parties_cannot_decide_or_see(client, db, world):
    rule = levies.propose(
        world["member"],
        Side.SELLER,
        terms(world, scope=LevyScope.SELLER, product_id=None, kind=LevyKind.PERCENT, rate=200),
    )
    other = FundTreasurerFactory(user__email="other@example.com")
    db.session.commit()
    client.login("other@example.com")

    assert client.submit(f"/levy-rules/{rule.id}/accept", {}).status_code == 403
    assert client.get(f"/sellers/{world['seller'].id}/levy-rules").status_code == 403
    assert client.get(f"/funds/{world['fund'].id}/levy-rules").status_code == 403
    assert client.get(f"/funds/{other.fund_id}/levy-rules").status_code == 200
    db.session.refresh(rule)
    assert rule.status == RuleStatus.PROPOSED


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rate": -400}, "rate"),
        ({"rate": 0}, "rate"),
        ({"kind": LevyKind.PERCENT, "rate": 10_050}, "rate"),
        ({"kind": LevyKind.PER_KG, "rate": levies.MAX_AMOUNT_RATE + 1}, "rate"),
        ({"rate": 35_001}, "rate"),  # more than the ฿350 the bag costs
        ({"effective_to": date(2025, 12, 31)}, "effective_to"),
        ({"scope": LevyScope.CATEGORY, "category_id": None}, "category_id"),
        ({"fund_id": None}, "fund_id"),
        ({"seller_id": 999_999}, "seller_id"),
    ],
)
def test_rules_the_terms_break_are_refused_and_write_nothing(db, world, changes, field):
    with pytest.raises(DomainError) as refused:
        levies.propose(world["member"], Side.SELLER, terms(world, **changes))
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(LevyRule)) == 0


def test_another_sellers_product_is_refused(db, world):
    stranger = ProductFactory()
    with pytest.raises(DomainError) as refused:
        levies.propose(world["member"], Side.SELLER, terms(world, product_id=stranger.id))
    assert refused.value.field == "product_id"


def test_terms_are_typed_values_never_text(world):
    with pytest.raises(TypeError):
        terms(world, rate="4")
    with pytest.raises(TypeError):
        terms(world, kind="per_unit")
    with pytest.raises(TypeError):
        terms(world, effective_from="2026-01-01")
    with pytest.raises(TypeError):
        levies.propose(world["member"], "seller", terms(world))


@pytest.mark.parametrize(
    ("kind", "text", "rate"),
    [
        (LevyKind.PER_UNIT, "4", 400),
        (LevyKind.PER_UNIT, " 0.50 ", 50),
        (LevyKind.PER_KG, "1,000", 100_000),
        (LevyKind.PER_KG, "฿1.5", 150),
        (LevyKind.PERCENT, "2.5", 250),
        (LevyKind.PERCENT, "2.5%", 250),
        (LevyKind.PERCENT, "100", 10_000),
    ],
)
def test_the_rate_is_read_by_its_kind(kind, text, rate):
    assert read_rate(kind, text) == rate


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (LevyKind.PER_UNIT, "4.555"),
        (LevyKind.PER_UNIT, "-4"),
        (LevyKind.PER_UNIT, "0"),
        (LevyKind.PER_UNIT, "1e3"),
        (LevyKind.PER_UNIT, "10000.01"),
        (LevyKind.PERCENT, "100.5"),
        (LevyKind.PERCENT, "2.555"),
        (LevyKind.PERCENT, "abc"),
        (LevyKind.PERCENT, "-1"),
    ],
)
def test_a_rate_that_cannot_be_read_is_refused(kind, text):
    with pytest.raises(ValueError):
        read_rate(kind, text)


def proposal(world, **changes):
    """The seller's levy form, filled in for a ฿4 a bag levy on the rice."""
    return {
        "beneficiary": "fund",
        "fund_id": str(world["fund"].id),
        "scope": "product",
        "product_id": str(world["rice"].id),
        "kind": "per_unit",
        "rate": "4",
        "effective_from": "2026-01-01",
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"rate": "4.555"}, "rate", "ทศนิยมไม่เกินสองตำแหน่ง"),
        ({"rate": "-4"}, "rate", "เงินสมทบต้องมากกว่าศูนย์"),
        ({"rate": "0"}, "rate", "เงินสมทบต้องมากกว่าศูนย์"),
        ({"kind": "percent", "rate": "abc"}, "rate", "กรอกเปอร์เซ็นต์"),
        ({"kind": "percent", "rate": "100.5"}, "rate", "ต้องไม่เกิน 100%"),
        ({"rate": "400"}, "rate", "ราคาสินค้า"),  # the service: more than the bag costs
        ({"effective_from": "2026-13-01"}, "effective_from", "วันที่"),
        ({"effective_to": "2025-12-31"}, "effective_to", "วันสุดท้าย"),
        ({"scope": "everything"}, "scope", "ตัวเลือกไม่ถูกต้อง"),
        ({"scope": "category", "product_id": ""}, "category_id", "หมวดหมู่"),
        ({"fund_id": "abc"}, "fund_id", "กองทุน"),
    ],
)
def test_bad_rule_form_input_is_shown_on_its_field_and_writes_nothing(
    client, db, world, changes, field, message
):
    client.login("member@example.com")

    response = client.submit(
        f"/sellers/{world['seller'].id}/levy-rules", proposal(world, **changes)
    )

    assert response.status_code == 400
    errors = field_errors(response.get_data(as_text=True), field)
    assert any(message in error for error in errors), errors
    assert db.session.scalar(select(func.count()).select_from(LevyRule)) == 0


def test_a_treasurer_proposes_for_the_fund_through_the_web(client, db, world):
    client.login("treasurer@example.com")

    response = client.submit(
        f"/funds/{world['fund'].id}/levy-rules",
        {
            "seller_id": str(world["seller"].id),
            "scope": "seller",
            "kind": "percent",
            "rate": "2.5%",
            "effective_from": "2026-01-01",
            "effective_to": "2026-12-31",
            "note": " ทั้งปี ",
        },
    )

    assert response.status_code == 303
    rule = db.session.scalar(select(LevyRule))
    assert (rule.proposed_by_side, rule.beneficiary, rule.fund_id, rule.kind, rule.rate) == (
        Side.FUND,
        Beneficiary.FUND,
        world["fund"].id,
        LevyKind.PERCENT,
        250,
    )
    assert (rule.effective_from, rule.effective_to, rule.note) == (
        START,
        date(2026, 12, 31),
        "ทั้งปี",
    )


def test_a_duplicate_rule_for_the_same_scope_and_fund_is_refused(db, world):
    agree(world)
    with pytest.raises(Conflict):
        agree(world, rate=500)
    # Another fund may have its own rule on the same product.
    other = FundTreasurerFactory()
    rule = agreed_levy(world["membership"], other, world["rice"], rate=100)
    assert rule.status == RuleStatus.ACTIVE


def test_bad_rule_form_input_gets_a_message(client, db, world):
    client.login("member@example.com")

    response = client.submit(
        f"/sellers/{world['seller'].id}/levy-rules",
        {
            "beneficiary": "fund",
            "fund_id": str(world["fund"].id),
            "scope": "seller",
            "kind": "percent",
            "rate": "150",
            "effective_from": "2026-01-01",
        },
    )

    assert response.status_code == 400
    assert "100%" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(LevyRule)) == 0


# Snapshots


def test_orders_snapshot_their_levies_and_rule_changes_leave_them_alone(db, world):
    rule = agree(world)
    order = buy(world, 10, pay=False)
    db.session.commit()
    [levy] = order.items[0].levies
    assert (levy.amount_satang, levy.kind, levy.rate, levy.fund_id) == (
        4000,
        "per_unit",
        400,
        world["fund"].id,
    )

    levies.end(world["treasurer"], rule)
    db.session.commit()
    later = buy(world, 10, pay=False)
    db.session.commit()

    db.session.refresh(levy)
    assert levy.amount_satang == 4000
    assert later.items[0].levies == []


def test_several_rules_apply_to_one_item_for_different_funds(db, world):
    agree(world)
    second = FundTreasurerFactory()
    agreed_levy(world["membership"], second, kind="percent", rate=250)

    order = buy(world, 3, pay=False)

    amounts = sorted((lv.fund_id, lv.amount_satang) for lv in order.items[0].levies)
    assert amounts == sorted([(world["fund"].id, 1200), (second.fund_id, 2625)])  # 2.5% of ฿1,050


def test_buyers_own_fund_rule(db, world):
    rule = levies.propose(
        world["member"],
        Side.SELLER,
        terms(
            world,
            fund_id=None,
            beneficiary=Beneficiary.BUYER_FUND,
            scope=LevyScope.SELLER,
            product_id=None,
            kind=LevyKind.PER_KG,
            rate=100,
        ),
    )
    with pytest.raises(Forbidden):
        levies.accept(world["treasurer"], rule)  # no single fund: the marketplace decides
    levies.accept(world["admin"], rule)
    home_fund = FundFactory()
    affiliated = UserFactory(fund_id=home_fund.id)
    db.session.flush()

    with_fund = buy(world, 2, buyer=affiliated, pay=False)
    without = buy(world, 2, pay=False)

    assert [(lv.fund_id, lv.amount_satang) for lv in with_fund.items[0].levies] == [
        (home_fund.id, 1010)  # ฿1/kg × 5.05 kg × 2
    ]
    assert without.items[0].levies == []


def test_cart_checkout_and_order_pages_show_the_funds_share(client, db, world):
    agree(world)
    db.session.commit()
    client.login("buyer@example.com")
    client.submit("/cart/add", {"product_id": world["rice"].id, "quantity": "10"})

    for url in ("/cart", "/checkout"):
        page = client.get(url).get_data(as_text=True)
        assert "฿40.00" in page and world["fund"].name_th in page, url


# Routing into the ledger


def test_paying_routes_the_levy_and_the_report_shows_it(client, db, world):
    agree(world)
    order = buy(world, 10)
    db.session.commit()  # the outbox hands the routing to the (in-process) task

    assert fund_balance(world["fund"].id) == 4000
    keys = set(db.session.scalars(select(JournalEntry.key)))
    assert keys == {f"payment:{order.id}", f"levy:{order.items[0].levies[0].id}:accrue"}
    payment = ledger.existing(f"payment:{order.id}")
    assert (payment.memo, payment.order_id) == (order.number, order.id)
    assert verify().ok
    client.login("treasurer@example.com")
    page = client.get(f"/funds/{world['fund'].id}/levies?from=2026-01-01&to=2030-12-31")
    assert "฿40.00" in page.get_data(as_text=True)


def test_routing_twice_or_duplicated_posts_once(app, db, world):
    agree(world)
    order = buy(world, 10)
    db.session.commit()
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.task == "tasks.levy.route_order")
    )
    task = app.extensions["celery"].tasks["tasks.levy.route_order"]

    for _ in range(3):
        task.apply(kwargs={"outbox_id": message.id, "order_id": order.id}).get()
    assert routing.route_order(order.id) == 0  # even outside the outbox
    unpaid = buy(world, 1, pay=False)
    assert routing.route_order(unpaid.id) == 0  # not paid: nothing to route
    db.session.commit()

    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 2
    assert fund_balance(world["fund"].id) == 4000


def test_a_task_that_fails_halfway_is_retried_and_posts_once(app, db, world, monkeypatch):
    agree(world)
    second = FundTreasurerFactory()
    agreed_levy(world["membership"], second, kind="percent", rate=100)
    db.session.commit()
    real_accrue = routing._accrue
    calls = []

    def fail_on_second(*args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("worker lost its database halfway")
        return real_accrue(*args)

    monkeypatch.setattr(routing, "_accrue", fail_on_second)
    order_id = buy(world, 10).id
    db.session.commit()  # the in-process task fails after posting the first levy: all rolled back
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 0
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.task == "tasks.levy.route_order")
    )
    assert not message.is_done and message.failure_count == 1

    monkeypatch.setattr(routing, "_accrue", real_accrue)
    result = app.test_cli_runner().invoke(args=["outbox", "sweep", "--older-than", "0"])
    assert result.exit_code == 0

    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 3
    assert fund_balance(world["fund"].id) == 4000 and fund_balance(second.fund_id) == 3500
    assert verify().ok
    assert (
        db.session.scalar(
            select(func.count()).select_from(JournalEntry).where(JournalEntry.order_id == order_id)
        )
        == 3
    )


@pytest.mark.postgres_only
def test_concurrent_routing_posts_once(app, db, world):
    agree(world)
    order_id = buy(world, 10).id
    db.session.commit()
    errors = []
    start = threading.Barrier(4)

    def route():
        with app.app_context():
            from marketplace.extensions import db as inner

            start.wait()
            try:
                routing.route_order(order_id)
                inner.session.commit()
            except Exception as exc:  # a loser of the race may hit the unique key: it retries
                inner.session.rollback()
                errors.append(exc)
                routing.route_order(order_id)
                inner.session.commit()

    threads = [threading.Thread(target=route) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 2
    assert fund_balance(world["fund"].id) == 4000
    assert verify().ok


def _waiting_route_messages(db, monkeypatch, world, count):
    """``count`` paid orders whose routing messages wait undelivered (a busy broker)."""
    monkeypatch.setattr("marketplace.outbox.dispatch.publish", lambda message: None)
    order_ids = [buy(world, 1 + n % 4).id for n in range(count)]
    db.session.commit()
    messages = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.task == "tasks.levy.route_order")
        .order_by(OutboxMessage.id)
    ).all()
    return order_ids, messages


def test_one_routing_task_routes_the_waiting_orders_in_one_batch(app, db, world, monkeypatch):
    agree(world)
    order_ids, messages = _waiting_route_messages(db, monkeypatch, world, 12)
    task = app.extensions["celery"].tasks["tasks.levy.route_order"]
    statements = []
    engine = db.engine

    def remember(conn, cursor, statement, *args):
        statements.append(statement)

    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute", remember)
    try:
        first = messages[0]
        assert task.apply(kwargs={"outbox_id": first.id, "order_id": order_ids[0]}).get()
    finally:
        event.remove(engine, "before_cursor_execute", remember)

    db.session.expire_all()
    units = sum(1 + n % 4 for n in range(12))
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 24
    assert fund_balance(world["fund"].id) == 400 * units
    assert all(message.is_done for message in messages)

    def count(prefix):
        return len([s for s in statements if s.replace('"', "").startswith(prefix)])

    # The ledger accounts were locked once for the twelve orders, not once a posting
    # (SQLite: a no-op write takes the database's lock).
    if db.engine.dialect.name == "postgresql":
        locks = [s for s in statements if "FROM ledger_accounts" in s and "FOR UPDATE" in s]
    else:
        locks = [s for s in statements if "SET balance_satang=ledger_accounts.balance_satang" in s]
    assert len(locks) == 1
    # Each ledger account was looked up by its code once (and read again once if this
    # task created it), however many postings name it.
    # (Cash, the seller's pending, the fund's payable and receivable.)
    lookups = [s for s in statements if "WHERE ledger_accounts.code =" in s]
    assert len(lookups) == 2 * 4
    # The twelve orders were read with their parcels, items and levies in four queries.
    for table in ("orders", "shipments", "order_items", "order_item_levies"):
        assert count(f"SELECT {table}.") == 1, table
    # The keys already posted were read at once, and each chain's head (the main one and
    # the fund's) once; no posting looked its own key up.
    assert count("SELECT journal_entries.key") == 1
    assert count("SELECT journal_entries.seq, journal_entries.hash") == 2
    assert count("SELECT journal_entries.id") == 0
    # Their 24 entries were written together when the batch ended: the balances in one
    # statement, and on PostgreSQL one multi-row statement per table (SQLite's driver
    # writes rows one at a time).
    balances = [s for s in statements if s.startswith("UPDATE ledger_accounts")]
    assert len([s for s in balances if s not in locks]) == 1
    if db.engine.dialect.name == "postgresql":
        assert count("INSERT INTO journal_entries") == 1
        assert count("INSERT INTO journal_lines") == 1
    assert count("INSERT INTO fund_levy_days") == 1
    assert count("INSERT INTO fund_levy_months") == 1
    # The other messages find their work done: nothing is posted twice.
    for message, order_id in zip(messages[1:], order_ids[1:], strict=True):
        assert task.apply(kwargs={"outbox_id": message.id, "order_id": order_id}).get() is False
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 24
    assert verify().ok


def test_one_routing_task_drains_a_backlog_batch_after_batch(app, db, world, monkeypatch):
    import tasks

    agree(world)
    order_ids, messages = _waiting_route_messages(db, monkeypatch, world, 12)
    monkeypatch.setattr(tasks, "BATCH_SIZE", 5)  # 5 + 5 + 2
    task = app.extensions["celery"].tasks["tasks.levy.route_order"]

    assert task.apply(kwargs={"outbox_id": messages[0].id, "order_id": order_ids[0]}).get()

    db.session.expire_all()
    assert all(message.is_done for message in messages)
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 24
    assert fund_balance(world["fund"].id) == 400 * sum(1 + n % 4 for n in range(12))
    assert verify().ok


def test_a_backlog_left_at_the_budget_is_drained_by_the_next_message_whatever_its_row(
    app, db, world, monkeypatch
):
    import tasks

    agree(world)
    order_ids, messages = _waiting_route_messages(db, monkeypatch, world, 12)
    monkeypatch.setattr(tasks, "BATCH_SIZE", 5)
    monkeypatch.setattr(tasks, "BATCH_BUDGET_SECONDS", 0)  # one batch a task, then it stops
    task = app.extensions["celery"].tasks["tasks.levy.route_order"]

    def done():
        db.session.expire_all()
        return [message.is_done for message in messages]

    def run(index):
        return task.apply(
            kwargs={"outbox_id": messages[index].id, "order_id": order_ids[index]}
        ).get()

    assert run(0) is True
    assert done() == [True] * 5 + [False] * 7
    # Message 1's row was done in message 0's batch; it takes the next batch, oldest first.
    assert run(1) is False
    assert done() == [True] * 10 + [False] * 2
    assert run(2) is False
    assert done() == [True] * 12
    assert run(3) is False  # nothing left: nothing posted twice
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 24
    assert fund_balance(world["fund"].id) == 400 * sum(1 + n % 4 for n in range(12))
    assert verify().ok


def test_a_bad_order_in_a_batch_holds_up_no_other(app, db, world, monkeypatch):
    agree(world)
    order_ids, messages = _waiting_route_messages(db, monkeypatch, world, 5)
    bad = order_ids[2]
    real_route = routing._route

    def fail_for_the_bad_one(order):
        if order.id == bad:
            raise RuntimeError("this order cannot be posted")
        return real_route(order)

    monkeypatch.setattr(routing, "_route", fail_for_the_bad_one)
    task = app.extensions["celery"].tasks["tasks.levy.route_order"]
    for index in (0, 1, 3, 4):
        result = task.apply(kwargs={"outbox_id": messages[index].id, "order_id": order_ids[index]})
        assert result.get() is True  # the batch failed; this message's own order was routed

    db.session.expire_all()
    routed = set(
        db.session.scalars(
            select(JournalEntry.order_id).where(JournalEntry.kind == "payment")
        ).all()
    )
    assert routed == set(order_ids) - {bad}
    assert not messages[2].is_done

    monkeypatch.undo()  # the order fixed and the broker back: the sweep sends it again
    result = app.test_cli_runner().invoke(args=["outbox", "sweep", "--older-than", "0"])
    assert result.exit_code == 0
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 10
    units = sum(1 + n % 4 for n in range(5))
    assert fund_balance(world["fund"].id) == 400 * units
    assert verify().ok


# Reversals


def test_refunding_k_of_n_units_reverses_k_times_the_rate(app, db, world):
    agree(world)
    order = buy(world, 10)
    db.session.commit()
    item = order.items[0]

    order_refunds.refund(world["admin"], order, [(item.id, 3)])
    db.session.commit()
    assert fund_balance(world["fund"].id) == 4000 - 1200
    order_refunds.refund(world["admin"], order, [(item.id, 7)])
    db.session.commit()
    assert fund_balance(world["fund"].id) == 0
    with pytest.raises(Conflict):
        order_refunds.refund(world["admin"], order, [(item.id, 1)])  # nothing left to refund
    db.session.rollback()
    assert verify().ok


def test_per_kg_and_percent_levies_reverse_exactly_in_any_steps(app, db, world):
    # ฿1.50 a kg of 5.05 kg bags, 3 bags: ฿22.725, rounded once (half up) to ฿22.73.
    agree(world, kind="per_kg", rate=150)
    order = buy(world, 3)
    db.session.commit()
    item = order.items[0]
    assert item.levies[0].amount_satang == 2273  # ฿1.50 × 5.05 kg × 3 = ฿22.725 → ฿22.73

    balances = []
    for _step in range(3):
        order_refunds.refund(world["admin"], order, [(item.id, 1)])
        db.session.commit()
        balances.append(fund_balance(world["fund"].id))

    # 2273 × 1/3 = 757.67 → 757 first; then 1515 − 757 = 758; the last unit takes the rest.
    assert balances == [2273 - 757, 2273 - 1515, 0]
    assert verify().ok


def test_a_tiny_percent_levy_rounds_once_and_reverses_to_zero(app, db, world):
    cheap = ProductFactory(seller=world["seller"], price_satang=33, stock=100)
    agree(world, kind="percent", rate=300, scope="seller")
    order = buy(world, 7, product=cheap)
    db.session.commit()
    item = order.items[0]
    assert item.levies[0].amount_satang == 7  # 3% of ฿0.33 × 7 = 6.93 satang → 7

    for step in (2, 2, 3):
        order_refunds.refund(world["admin"], order, [(item.id, step)])
        db.session.commit()
        assert fund_balance(world["fund"].id) >= 0

    assert fund_balance(world["fund"].id) == 0
    assert verify().ok


def test_cancelling_a_paid_order_reverses_everything_and_returns_stock(app, db, world):
    agree(world)
    order = buy(world, 10)
    db.session.commit()

    orders.cancel_order(world["admin"], order, "ผู้ขายส่งไม่ได้")
    db.session.commit()

    assert fund_balance(world["fund"].id) == 0
    db.session.refresh(world["rice"])
    assert world["rice"].stock == 500
    cash = db.session.scalar(select(Account).where(Account.kind == AccountKind.CASH))
    assert cash.balance_satang == 0  # everything paid back, shipping included
    assert verify().ok


def _fund_accounts(fund_id):
    return {
        a.kind: a.balance_satang
        for a in _db.session.scalars(select(Account).where(Account.fund_id == fund_id))
    }


def _remit_then_refund_half(world):
    """฿40 of levies remitted, then half the order refunded: the fund owes ฿20 back."""
    agree(world)
    order = buy(world, 10)
    _db.session.commit()
    ledger.record_remittance(
        world["treasurer"],
        world["fund"],
        amount_satang=4000,
        remitted_on=START,
        bank_reference="KTB-1",
    )
    _db.session.commit()
    order_refunds.refund(world["admin"], order, [(order.items[0].id, 5)])
    _db.session.commit()


def test_a_refund_after_remittance_leaves_the_fund_owing_not_negative(app, db, world):
    _remit_then_refund_half(world)

    accounts = _fund_accounts(world["fund"].id)
    assert accounts == {AccountKind.FUND_PAYABLE: 0, AccountKind.FUND_RECEIVABLE: 2000}
    assert fund_balance(world["fund"].id) == -2000
    buy(world, 10)  # the next levies settle what the fund owes first
    db.session.commit()
    assert fund_balance(world["fund"].id) == 2000
    assert verify().ok


def test_a_batch_of_orders_settles_what_a_fund_owes_before_its_payable_grows(
    app, db, world, monkeypatch
):
    """Levies routed together settle the fund's receivable in order, one after another,
    exactly as they would one order at a time."""
    _remit_then_refund_half(world)
    assert fund_balance(world["fund"].id) == -2000  # owes ฿20 back

    monkeypatch.setattr("marketplace.outbox.dispatch.publish", lambda message: None)
    waiting = [buy(world, 2).id for _ in range(3)]  # ฿8 of levy each
    db.session.commit()
    messages = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.task == "tasks.levy.route_order", OutboxMessage.done_at.is_(None))
        .order_by(OutboxMessage.id)
    ).all()
    assert len(messages) == 3
    task = app.extensions["celery"].tasks["tasks.levy.route_order"]
    assert task.apply(kwargs={"outbox_id": messages[0].id, "order_id": waiting[0]}).get()

    db.session.expire_all()
    accounts = _fund_accounts(world["fund"].id)
    assert accounts == {AccountKind.FUND_PAYABLE: 400, AccountKind.FUND_RECEIVABLE: 0}
    assert fund_balance(world["fund"].id) == 400  # ฿24 of new levies less the ฿20 owed
    settled = [
        sorted(line.amount_satang for line in entry.lines)
        for entry in db.session.scalars(
            select(JournalEntry)
            .where(JournalEntry.order_id.in_(waiting), JournalEntry.kind == EntryKind.LEVY)
            .order_by(JournalEntry.seq)
        )
    ]
    assert settled == [[-800, 800], [-800, 800], [-400, -400, 800]]
    assert verify().ok


def _remit(world, satang, reference):
    return ledger.record_remittance(
        world["treasurer"],
        world["fund"],
        amount_satang=satang,
        remitted_on=START,
        bank_reference=reference,
    )


def test_new_levies_settle_what_a_fund_owes_before_anything_can_be_remitted(app, db, world):
    """A fund that owes ฿20 back gets ฿40 of new levies: ฿20 settle the debt, ฿20 are
    held for it, and only those ฿20 can be remitted (never the ฿40 again)."""
    _remit_then_refund_half(world)
    order = buy(world, 10)
    db.session.commit()

    assert _fund_accounts(world["fund"].id) == {
        AccountKind.FUND_PAYABLE: 2000,
        AccountKind.FUND_RECEIVABLE: 0,
    }
    accrual = db.session.scalar(
        select(JournalEntry).where(
            JournalEntry.order_id == order.id, JournalEntry.kind == EntryKind.LEVY
        )
    )
    lines = {line.account.code: line.amount_satang for line in accrual.lines}
    fund_id, seller_id = world["fund"].id, world["seller"].id
    assert lines == {
        f"seller:{seller_id}": 4000,
        f"fund-receivable:{fund_id}": -2000,
        f"fund:{fund_id}": -2000,
    }
    with pytest.raises(DomainError) as refused:
        _remit(world, 4000, "KTB-2")
    assert refused.value.field == "amount"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Remittance)) == 1

    _remit(world, 2000, "KTB-2")
    db.session.commit()
    assert _fund_accounts(fund_id) == {AccountKind.FUND_PAYABLE: 0, AccountKind.FUND_RECEIVABLE: 0}
    report = reports.levy_report(fund_id, START, levies.today())
    figures = (report.accrued_satang, report.reversed_satang, report.remitted_satang)
    assert figures == (8000, 2000, 6000)
    assert report.balance_satang == 0
    assert verify().ok


def test_levies_smaller_than_the_debt_settle_part_of_it_and_leave_nothing_to_remit(app, db, world):
    _remit_then_refund_half(world)  # owes ฿20
    buy(world, 2)  # ฿8 of levies
    db.session.commit()

    fund_id = world["fund"].id
    assert _fund_accounts(fund_id) == {
        AccountKind.FUND_PAYABLE: 0,
        AccountKind.FUND_RECEIVABLE: 1200,
    }
    assert fund_balance(fund_id) == -1200
    with pytest.raises(DomainError):
        _remit(world, 1, "KTB-2")  # the fund is owed nothing while it owes
    db.session.rollback()

    buy(world, 10)  # ฿40: ฿12 settle the rest, ฿28 are held
    db.session.commit()
    assert _fund_accounts(fund_id) == {
        AccountKind.FUND_PAYABLE: 2800,
        AccountKind.FUND_RECEIVABLE: 0,
    }
    assert verify().ok


def test_a_refund_takes_what_a_fund_holds_before_it_owes(app, db, world):
    """฿40 remitted, ฿40 more held: refunding the first order's ten bags (฿40 of levies)
    takes the ฿40 held and leaves the fund owing nothing."""
    agree(world)
    first = buy(world, 10)
    db.session.commit()
    _remit(world, 4000, "KTB-1")
    buy(world, 10)
    db.session.commit()

    order_refunds.refund(world["admin"], first, [(first.items[0].id, 10)])
    db.session.commit()

    assert _fund_accounts(world["fund"].id) == {
        AccountKind.FUND_PAYABLE: 0,
        AccountKind.FUND_RECEIVABLE: 0,
    }
    assert verify().ok


def test_verify_notices_a_fund_credited_while_it_owes(app, db, world, monkeypatch):
    """Put back the fault: new levies credited to a fund without settling what it owes
    (so its whole payable could be remitted while it still owes). `flask ledger verify`
    says which fund, and the remittance it would allow is what the check prevents."""
    _remit_then_refund_half(world)  # owes ฿20
    monkeypatch.setattr(routing, "min", lambda owed_back, amount: 0, raising=False)
    buy(world, 10)
    db.session.commit()
    assert _fund_accounts(world["fund"].id) == {
        AccountKind.FUND_PAYABLE: 4000,
        AccountKind.FUND_RECEIVABLE: 2000,
    }

    report = verify()

    fund_id = world["fund"].id
    assert [p for p in report.problems if f"fund {fund_id} holds 4000 and owes 2000" in p]


# Remittances


@pytest.mark.parametrize(
    ("amount", "day", "reference", "field", "message"),
    [
        ("-5", "2026-01-02", "x", "amount", "จำนวนเงินต้องมากกว่าศูนย์"),
        ("40.01", "2026-01-02", "x", "amount", "฿40.00"),  # more than the fund is owed
        ("0", "2026-01-02", "x", "amount", "จำนวนเงินต้องมากกว่าศูนย์"),
        ("abc", "2026-01-02", "x", "amount", "ทศนิยมไม่เกินสองตำแหน่ง"),
        ("10.005", "2026-01-02", "x", "amount", "ทศนิยมไม่เกินสองตำแหน่ง"),
        ("10", "2099-01-01", "x", "remitted_on", "อนาคต"),
        ("10", "2026-02-30", "x", "remitted_on", "วันที่"),
        ("10", "2026-01-02", "", "bank_reference", "กรุณากรอกช่องนี้"),
    ],
)
def test_bad_remittances_are_refused_on_their_field(
    client, db, world, amount, day, reference, field, message
):
    agree(world)
    buy(world, 10)
    db.session.commit()
    client.login("treasurer@example.com")

    response = client.submit(
        f"/funds/{world['fund'].id}/remittances",
        {"amount": amount, "remitted_on": day, "bank_reference": reference},
    )

    assert response.status_code == 400
    errors = field_errors(response.get_data(as_text=True), field)
    assert any(message in error for error in errors), errors
    assert fund_balance(world["fund"].id) == 4000
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 2


def test_treasurer_records_a_remittance(client, db, world):
    agree(world)
    buy(world, 10)
    db.session.commit()
    client.login("treasurer@example.com")

    response = client.submit(
        f"/funds/{world['fund'].id}/remittances",
        {"amount": "25.50", "remitted_on": "2026-02-01", "bank_reference": "KTB 0042"},
    )

    assert response.status_code == 303
    assert fund_balance(world["fund"].id) == 4000 - 2550
    report = reports.levy_report(world["fund"].id, date(2026, 2, 1), date(2026, 2, 28))
    assert report.remitted_satang == 2550
    assert verify().ok


# Treasurer pages


def test_treasurer_of_fund_a_cannot_see_fund_b(client, db, world):
    other = FundTreasurerFactory(user__email="other@example.com")
    db.session.commit()
    client.login("other@example.com")
    fund_id = world["fund"].id

    for url in (
        f"/funds/{fund_id}/dashboard",
        f"/funds/{fund_id}/levies",
        f"/funds/{fund_id}/levies.csv",
        f"/funds/{fund_id}/levies/items",
        f"/funds/{fund_id}/remittances",
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.submit(
            f"/funds/{fund_id}/remittances",
            {"amount": "1", "remitted_on": "2026-01-02", "bank_reference": "x"},
        ).status_code
        == 403
    )
    assert client.get(f"/funds/{other.fund_id}/dashboard").status_code == 200


def test_report_pages_csv_and_dates(client, db, world):
    agree(world)
    buy(world, 10)
    db.session.commit()
    client.login("treasurer@example.com")
    fund_id = world["fund"].id

    dashboard = client.get(f"/funds/{fund_id}/dashboard").get_data(as_text=True)
    report = client.get(f"/funds/{fund_id}/levies?from=2026-01-01&to=2026-12-31").get_data(
        as_text=True
    )
    items = client.get(f"/funds/{fund_id}/levies/items?from=2026-01-01&to=2030-12-31").get_data(
        as_text=True
    )
    csv_response = client.get(f"/funds/{fund_id}/levies.csv?from=2026-01-01&to=2030-12-31")

    assert "฿40.00" in dashboard and "<svg" in dashboard
    assert "1 มกราคม 2569" in report  # Buddhist Era in Thai
    assert "ข้าวหอมมะลิ ถุง 5 กก." in items
    body = csv_response.data
    assert body.startswith("\ufeff".encode()) and "ข้าวหอมมะลิ".encode() in body and b"40.00" in body
    for query, message in (
        ("from=2026-02-01&to=2026-01-01", "ช่วงเวลาสิ้นสุดก่อนเริ่มต้น"),
        ("from=yesterday", "กรอกวันที่แบบ ปปปป-ดด-วว"),
        ("to=2026-02-30", "กรอกวันที่แบบ ปปปป-ดด-วว"),
    ):
        refused = client.get(f"/funds/{fund_id}/levies?{query}")
        assert refused.status_code == 400 and message in refused.get_data(as_text=True), query


def test_levy_report_command(app, db, world):
    agree(world)
    buy(world, 10)
    db.session.commit()

    result = app.test_cli_runner().invoke(
        args=[
            "levy",
            "report",
            "--fund",
            str(world["fund"].id),
            "--from",
            "2026-01-01",
            "--to",
            "2030-12-31",
            "--format",
            "csv",
        ]
    )

    assert result.exit_code == 0
    assert result.output.startswith("\ufeff") and "40.00" in result.output
    bad = app.test_cli_runner().invoke(
        args=[
            "levy",
            "report",
            "--fund",
            str(world["fund"].id),
            "--from",
            "2026-05-01",
            "--to",
            "2026-01-01",
        ]
    )
    assert bad.exit_code == 1 and "ช่วงเวลาสิ้นสุดก่อนเริ่มต้น" in bad.output
    unreadable = app.test_cli_runner().invoke(
        args=["levy", "report", "--fund", str(world["fund"].id), "--from", "2026-13-01"]
    )
    assert unreadable.exit_code == 2 and "YYYY-MM-DD" in unreadable.output


def test_reports_read_the_ledger_not_the_rules(db, world):
    rule = agree(world)
    buy(world, 10)
    db.session.commit()
    before = asdict(reports.levy_report(world["fund"].id, START, date(2030, 12, 31)))

    levies.end(world["member"], rule)
    db.session.commit()

    assert asdict(reports.levy_report(world["fund"].id, START, date(2030, 12, 31))) == before


def test_seller_members_see_the_levies_deducted(client, db, world):
    agree(world)
    buy(world, 10)
    db.session.commit()
    client.login("member@example.com")

    page = client.get(f"/sellers/{world['seller'].id}/levies?from=2026-01-01&to=2030-12-31")

    assert "฿40.00" in page.get_data(as_text=True)


# The ledger's own guarantees


def test_the_orm_refuses_to_change_a_posted_entry(db, world):
    agree(world)
    buy(world, 10)
    db.session.commit()
    line = db.session.scalar(select(JournalLine))

    line.amount_satang += 1
    with pytest.raises(ledger.LedgerError):
        db.session.flush()
    db.session.rollback()


def test_a_posting_balances_stays_in_one_fund_and_leaves_out_zero_lines(db, world):
    """What ``ledger.post`` writes: only balanced entries, each in one fund's chain (or the
    main one), without lines of zero, once per key, each chain numbered from 1 and linked
    to the hash before it."""
    other = FundTreasurerFactory(user__email="other-treasurer@example.com")
    cash = ledger.cash()
    payable = ledger.fund_payable(world["fund"].id)
    other_payable = ledger.fund_payable(other.fund.id)
    revenue = ledger.platform_revenue()
    db.session.commit()
    at = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)

    def posting(key, lines, **dims):
        return ledger.Posting(
            key=key, kind=EntryKind.LEVY, lines=lines, occurred_at=at, memo=key, dims=dims
        )

    for lines in ([(cash, 100), (payable, -99)], [(cash, 0), (payable, 0)], []):
        with pytest.raises(ledger.LedgerError):
            ledger.post(posting("bad", lines))
    with pytest.raises(ledger.LedgerError, match="more than one fund"):
        ledger.post(posting("two-funds", [(payable, 100), (other_payable, -100)]))
    db.session.rollback()

    first, created = ledger.post(posting("first", [(cash, 300), (payable, -300), (payable, 0)]))
    second, _ = ledger.post(posting("second", [(cash, 200), (payable, -200)]))
    again, created_again = ledger.post(posting("first", [(cash, 999), (payable, -999)]))
    main, _ = ledger.post(posting("main", [(cash, 50), (revenue, -50)]))
    db.session.commit()

    assert (created, created_again, again.id) == (True, False, first.id)
    assert [(line.account_id, line.amount_satang) for line in first.lines] == [
        (cash.id, 300),
        (payable.id, -300),
    ]
    assert (first.chain, first.seq, first.prev_hash) == (f"fund:{world['fund'].id}", 1, "")
    assert (second.chain, second.seq, second.prev_hash) == (first.chain, 2, first.hash)
    assert (main.chain, main.seq, main.prev_hash) == (ledger.MAIN_CHAIN, 1, "")
    assert first.local_date == date(2026, 1, 5)
    # Cash (an asset) up by what came in, the fund's payable (a liability) up by its share.
    assert (ledger.cash().balance_satang, payable.balance_satang) == (550, 500)
    assert (first.levy_satang, first.units, main.levy_satang) == (0, 0, 0)


@pytest.mark.postgres_only
def test_postgres_refuses_raw_updates_and_verify_catches_tampering(app, db, world):
    from sqlalchemy.exc import DBAPIError

    agree(world)
    buy(world, 10)
    db.session.commit()

    for statement in (
        "UPDATE journal_lines SET amount_satang = amount_satang + 100",
        "DELETE FROM journal_entries",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()

    db.session.execute(text("ALTER TABLE journal_lines DISABLE TRIGGER journal_lines_append_only"))
    db.session.execute(
        text(
            "UPDATE journal_lines SET amount_satang = amount_satang - 100"
            " WHERE amount_satang = -4000"
        )
    )
    db.session.execute(text("ALTER TABLE journal_lines ENABLE TRIGGER journal_lines_append_only"))
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code != 0
    assert "does not balance" in result.output and "hash" in result.output


def test_ledger_verify_command_is_clean_after_a_day_of_business(app, db, world):
    agree(world)
    order = buy(world, 10)
    buy(world, 3)
    db.session.commit()
    order_refunds.refund(world["admin"], order, [(order.items[0].id, 4)])
    db.session.commit()
    ledger.record_remittance(
        world["treasurer"], world["fund"], amount_satang=1000, remitted_on=START, bank_reference="r"
    )
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["ledger", "verify"])

    assert result.exit_code == 0, result.output
    assert "ledger OK" in result.output
    assert fund_balance(world["fund"].id) == 4000 + 1200 - 1600 - 1000


def test_verify_notices_a_levy_that_was_never_posted(db, world):
    agree(world)
    order = buy(world, 10, pay=False)
    db.session.commit()
    orders.confirm_transfer(world["admin"], order)
    for message in db.session.scalars(select(OutboxMessage)):
        db.session.delete(message)  # the routing is lost: no task, no row left to sweep
    db.session.commit()

    report = verify()

    assert not report.ok
    assert any("never posted" in p for p in report.problems)
    assert any("payment is not in the ledger" in p for p in report.problems)


def test_verify_notices_a_refund_and_its_levy_reversal_that_were_never_posted(
    db, world, monkeypatch
):
    agree(world)
    order = buy(world, 10)  # paid and routed: ฿40 accrued
    db.session.commit()
    monkeypatch.setattr("marketplace.outbox.dispatch.publish", lambda message: None)
    refund = order_refunds.refund(world["admin"], order, [(order.items[0].id, 5)])
    db.session.commit()
    assert verify().ok  # the refund waits in the outbox: not a discrepancy yet
    for message in db.session.scalars(select(OutboxMessage).where(OutboxMessage.done_at.is_(None))):
        db.session.delete(message)  # lost: no task, no row left to sweep
    db.session.commit()

    report = verify()

    assert not report.ok
    levy_id = order.items[0].levies[0].id
    assert f"refund {refund.id} is not in the ledger" in report.problems
    assert f"levy {levy_id}: reversed 0, but its refunds say 2000" in report.problems


def test_verify_notices_report_totals_that_disagree_with_the_journal(db, world):
    agree(world)
    buy(world, 10)
    db.session.commit()
    db.session.execute(text("UPDATE fund_levy_days SET accrued_satang = accrued_satang + 1"))
    db.session.commit()

    report = verify()

    assert not report.ok and any("daily levy totals" in p for p in report.problems)


def test_a_levy_of_one_satang_counts_in_the_report_by_the_buyers_province(db, world):
    """The smallest levy is an accrual like any other, in the daily and the monthly totals,
    under the buyer's province (Phuket, from the delivery subdistrict 830107); its refund
    is a reversal of it."""
    agree(world, rate=1)  # 1 satang a bag
    order = buy(world, 1)
    db.session.commit()
    today = to_bangkok(utcnow()).date()
    first = today.replace(day=1)
    last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)

    for start, end in ((today, today), (first, last)):  # the daily, then the monthly totals
        report = reports.levy_report(world["fund"].id, start, end, language="en").as_dict()
        assert (report["accrued_satang"], report["reversed_satang"]) == (1, 0)
        assert [
            (r["province_code"], r["name"], r["accrued_satang"])
            for r in report["by_buyer_province"]
        ] == [("83", "Phuket", 1)]
    day = db.session.scalar(select(FundLevyDay))
    assert (day.accrued_satang, day.accrued_units, day.reversed_satang, day.reversed_units) == (
        1,
        1,
        0,
        0,
    )
    month = db.session.scalars(select(FundLevyMonth)).all()
    assert sorted((m.dimension, m.key, m.accrued_satang, m.accrued_units) for m in month) == sorted(
        [
            (LevyDimension.PRODUCT, str(world["rice"].id), 1, 1),
            (LevyDimension.SELLER, str(world["seller"].id), 1, 1),
            (LevyDimension.PROVINCE, "83", 1, 1),
        ]
    )

    order_refunds.refund(world["admin"], order, [(order.items[0].id, 1)])
    db.session.commit()
    report = reports.levy_report(world["fund"].id, today, today).as_dict()
    assert (report["accrued_satang"], report["reversed_satang"], report["net_satang"]) == (1, 1, 0)
    day = db.session.scalar(select(FundLevyDay))
    assert (day.accrued_satang, day.accrued_units, day.reversed_satang, day.reversed_units) == (
        1,
        1,
        1,
        1,
    )
    assert verify().ok  # the satang and its reversal are in the checked totals too


def test_verify_reports_a_levy_entry_whose_key_names_no_levy(app, db, world):
    """A hand-written levy entry (under a key routing never uses) is reported, not a crash
    of `flask ledger verify`."""
    agree(world)
    buy(world, 10)
    db.session.commit()
    at = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    payable = ledger.fund_payable(world["fund"].id)
    for key, kind in (
        ("levy:manual", EntryKind.LEVY),
        ("levy-fix-7", EntryKind.LEVY_REVERSAL),
    ):
        ledger.post(
            ledger.Posting(
                key=key,
                kind=kind,
                lines=[(ledger.cash(), 100), (payable, -100)],
                occurred_at=at,
                memo=key,
                dims={"fund_id": world["fund"].id},
            )
        )
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["ledger", "verify"])

    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "entry 'levy:manual': a levy entry whose key names no levy" in result.output
    assert "entry 'levy-fix-7': a levy_reversal entry whose key names no levy" in result.output


# Found in review


def test_one_fund_takes_one_levy_from_a_product_whatever_the_scope(db, world):
    agree(world)  # product rule
    db.session.commit()
    for scope, extra in (
        (LevyScope.SELLER, {}),
        (LevyScope.CATEGORY, {"category_id": world["rice"].category_id}),
    ):
        with pytest.raises(Conflict):
            levies.propose(
                world["member"],
                Side.SELLER,
                terms(
                    world, scope=scope, product_id=None, kind=LevyKind.PERCENT, rate=100, **extra
                ),
            )
        db.session.rollback()
    # Once the product rule has ended, a seller-wide one from the next day is fine.
    rule = db.session.scalar(select(LevyRule))
    rule.effective_to = date(2026, 6, 30)
    db.session.flush()
    levies.propose(
        world["member"],
        Side.SELLER,
        terms(
            world,
            scope=LevyScope.SELLER,
            product_id=None,
            kind=LevyKind.PERCENT,
            rate=100,
            effective_from=date(2026, 7, 1),
        ),
    )


def test_the_same_remittance_twice_is_refused(client, db, world):
    agree(world)
    buy(world, 10)
    db.session.commit()
    client.login("treasurer@example.com")
    token = client.csrf_token()
    form = {
        "csrf_token": token,
        "amount": "10",
        "remitted_on": "2026-02-01",
        "bank_reference": "KTB-7",
    }

    first = client.post(f"/funds/{world['fund'].id}/remittances", data=form)
    second = client.post(f"/funds/{world['fund'].id}/remittances", data=form)

    assert (first.status_code, second.status_code) == (303, 409)
    assert fund_balance(world["fund"].id) == 3000
    entry = db.session.scalar(select(JournalEntry).where(JournalEntry.key.like("remittance:%")))
    assert entry.local_date == date(2026, 2, 1)  # dated by the transfer, like the report


def _remit_at_once(app, world, forms):
    """Post each remittance form from its own client and thread, all at once; the statuses."""
    url, clients = f"/funds/{world['fund'].id}/remittances", []
    for n, form in enumerate(forms):
        local = app.test_client()
        local.login("treasurer@example.com" if n % 2 == 0 else "admin@example.com")
        clients.append((local, {"csrf_token": local.csrf_token(), **form}))
    start, statuses = threading.Barrier(len(clients)), [None] * len(clients)

    def send(n):
        local, form = clients[n]
        start.wait()
        try:
            response = local.post(url, data=form)
        except Exception as exc:  # testing propagates what would have been a 500
            statuses[n] = (500, repr(exc))
        else:
            statuses[n] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def _remittance_rows(db):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Remittance))


def test_a_remittance_recorded_by_a_service_call_is_checked_as_the_form_checks_it(db, world):
    """The CLI, the API and the form all end in ``record_remittance``: it refuses what no
    form would send, and writes nothing then."""
    agree(world)
    buy(world, 10)
    db.session.commit()
    today = to_bangkok(utcnow()).date()

    def remit(**changes):
        values = {"amount_satang": 100, "remitted_on": today, "bank_reference": "KTB-1"}
        return ledger.record_remittance(world["treasurer"], world["fund"], **{**values, **changes})

    refused = [
        ({"amount_satang": 0}, "amount"),
        ({"amount_satang": -100}, "amount"),
        ({"amount_satang": 4001}, "amount"),  # the fund is owed ฿40
        ({"remitted_on": today + timedelta(days=1)}, "remitted_on"),
        ({"bank_reference": None}, "bank_reference"),
        ({"bank_reference": "   "}, "bank_reference"),
    ]
    for changes, field in refused:
        with pytest.raises(DomainError) as error:
            remit(**changes)
        assert error.value.field == field, changes
        db.session.rollback()
    for changes in (
        {"amount_satang": 100.0},
        {"amount_satang": True},
        {"amount_satang": "100"},
        {"remitted_on": datetime.combine(today, datetime.min.time())},
        {"remitted_on": today.isoformat()},
    ):
        with pytest.raises(TypeError):
            remit(**changes)
        db.session.rollback()
    assert _remittance_rows(db) == 0
    assert fund_balance(world["fund"].id) == 4000

    # The smallest remittance, dated today, its reference trimmed.
    remittance = remit(amount_satang=1, bank_reference="  KTB-1  ")
    db.session.commit()
    assert (remittance.amount_satang, remittance.remitted_on) == (1, today)
    assert remittance.bank_reference == "KTB-1"
    assert fund_balance(world["fund"].id) == 3999
    # Its entry: the fund's (its treasurer's export), with the reference, at noon in Bangkok
    # on the day of the transfer.
    entry = ledger.existing(f"remittance:{remittance.id}")
    assert (entry.fund_id, entry.remittance_id, entry.memo) == (
        world["fund"].id,
        remittance.id,
        "KTB-1",
    )
    noon = datetime.combine(today, datetime.min.time()).replace(hour=5, tzinfo=UTC)
    assert entry.occurred_at.replace(tzinfo=UTC) == noon
    assert entry.local_date == today
    # The fund's audit trail says who recorded it, and how much.
    audited = db.session.scalar(
        select(AuditRecord).where(
            AuditRecord.object_type == "remittance", AuditRecord.object_id == remittance.id
        )
    )
    assert (audited.actor_id, audited.amount_satang) == (world["treasurer"].id, 1)
    # The same reference again is the same transfer: refused at the reference.
    with pytest.raises(Conflict) as twice:
        remit(bank_reference="KTB-1")
    assert twice.value.field == "bank_reference"
    db.session.rollback()
    # A reference is kept to its first 100 characters.
    long = remit(bank_reference="R" * 150)
    db.session.commit()
    assert long.bank_reference == "R" * 100
    assert fund_balance(world["fund"].id) == 3899
    assert verify().ok


def test_two_funds_may_each_have_a_transfer_with_the_same_reference(db, world):
    """Bank references are unique per fund: two banks (or months) may repeat one."""
    other = FundTreasurerFactory(user__email="other-treasurer@example.com")
    rice = ProductFactory(seller=world["seller"], price_satang=10000, stock=50)
    agreed_levy(world["membership"], other, rice)
    agree(world)
    buy(world, 10)
    buy(world, 5, product=rice)
    db.session.commit()

    for treasurer, fund in ((world["treasurer"], world["fund"]), (other.user, other.fund)):
        ledger.record_remittance(
            treasurer, fund, amount_satang=1000, remitted_on=START, bank_reference="KTB-1"
        )
        db.session.commit()

    assert _remittance_rows(db) == 2
    assert fund_balance(world["fund"].id) == 4000 - 1000
    assert fund_balance(other.fund.id) == 2000 - 1000
    assert verify().ok


def test_the_same_remittance_four_times_at_once_is_recorded_once(app, db, world):
    """A double click, a second tab and the admin at once: one is recorded, the rest 409."""
    agree(world)
    buy(world, 10)
    db.session.commit()
    form = {"amount": "10", "remitted_on": "2026-02-01", "bank_reference": "KTB-7"}

    results = _remit_at_once(app, world, [form] * 4)

    assert sorted(status for status, _body in results) == [303, 409, 409, 409], results
    for status, body in results:
        if status == 409:  # the form again, saying why, not an error page
            assert "มีการบันทึกการโอนเงินด้วยเลขอ้างอิงนี้แล้ว" in body
            assert 'name="bank_reference"' in body
    assert _remittance_rows(db) == 1
    assert fund_balance(world["fund"].id) == 4000 - 1000
    assert verify().ok


def test_a_remittance_that_waits_too_long_for_sqlite_gets_409_in_the_form(
    make_app, db, world, backend
):
    if backend != "sqlite":
        pytest.skip("SQLite's database lock; PostgreSQL waits on the row lock")
    agree(world)
    buy(world, 10)
    db.session.commit()
    impatient = make_app(SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 0.2}})
    client = impatient.test_client()
    client.login("treasurer@example.com")
    form = {"csrf_token": client.csrf_token(), "amount": "10", "remitted_on": "2026-02-01"}
    other = sqlite3.connect(sqlite_file(db.engine), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        response = client.post(
            f"/funds/{world['fund'].id}/remittances", data={**form, "bank_reference": "KTB-9"}
        )
    finally:
        other.execute("ROLLBACK")
        other.close()

    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert 'name="bank_reference"' in body and "flash-error" in body  # the form, saying why
    assert _remittance_rows(db) == 0
    assert fund_balance(world["fund"].id) == 4000


def test_remittances_at_once_above_what_the_fund_is_owed_record_one(app, db, world):
    """Four transfers of everything the fund is owed: one is recorded, none is a 500."""
    agree(world)
    buy(world, 10)
    db.session.commit()
    forms = [
        {"amount": "40", "remitted_on": "2026-02-01", "bank_reference": f"KTB-{n}"}
        for n in range(4)
    ]

    results = _remit_at_once(app, world, forms)

    statuses = sorted(status for status, _body in results)
    assert statuses[0] == 303 and all(status in (400, 409) for status in statuses[1:])
    assert _remittance_rows(db) == 1
    assert fund_balance(world["fund"].id) == 0
    assert verify().ok


@pytest.mark.parametrize(
    "query",
    [
        "from=9999-12-01&to=9999-12-31",
        "from=0001-01-01&to=0001-01-31",
        "from=2026-01-01&to=2199-13-01",
    ],
)
def test_out_of_range_report_dates_are_a_clear_400(client, db, world, query):
    client.login("treasurer@example.com")
    for url in (f"/funds/{world['fund'].id}/levies", f"/funds/{world['fund'].id}/levies.csv"):
        assert client.get(f"{url}?{query}").status_code == 400
    client.submit("/logout", {})
    client.login("member@example.com")
    assert client.get(f"/sellers/{world['seller'].id}/levies?{query}").status_code == 400


def test_drill_down_ignores_odd_ids_and_pages(client, db, world):
    agree(world)
    buy(world, 10)
    db.session.commit()
    client.login("treasurer@example.com")
    url = f"/funds/{world['fund'].id}/levies/items?from=2026-01-01&to=2030-12-31"

    for extra in ("&product=99999999999999999999", "&seller=abc", "&page=-1", "&page=²"):
        assert client.get(url + extra).status_code == 200
    page = client.get(url).get_data(as_text=True)
    assert "1 รายการ" in page or "1 posting" in page or "ข้าวหอมมะลิ" in page


def test_odd_refund_quantities_get_a_message(client, db, world):
    agree(world)
    order = buy(world, 10)
    db.session.commit()
    client.login("admin@example.com")
    item_id = order.items[0].id

    for quantity in ("²", "9" * 5000, "-1", "1.5", "99999999999999999999"):
        response = client.submit(f"/admin/orders/{order.id}/refund", {f"qty-{item_id}": quantity})
        assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 2  # no refund


def test_refunded_units_count_even_when_the_levy_reversal_is_under_a_satang(db, world):
    tiny = ProductFactory(seller=world["seller"], price_satang=10, stock=100)
    agree(world, kind="percent", rate=1000, scope="seller")
    order = buy(world, 7, product=tiny)  # 10% of ฿0.70 = 7 satang, 1 a unit
    db.session.commit()
    item = order.items[0]
    cheap = ProductFactory(seller=world["seller"], price_satang=3, stock=100)
    other = buy(world, 7, product=cheap)  # 10% of 21 satang = 2 satang for 7 units
    db.session.commit()
    other_item = other.items[0]

    first = order_refunds.refund(world["admin"], other, [(other_item.id, 1)])  # reverses 0 satang
    db.session.commit()
    # Posted once by its task: posting it again writes nothing, and says so (0 new entries).
    assert routing.post_refund(first.id) == 0
    order_refunds.refund(world["admin"], other, [(other_item.id, 3)])  # reverses 1 satang, 4 units
    db.session.commit()

    report = reports.levy_report(world["fund"].id, START, date(2030, 12, 31))
    units = {row.key: row.units for row in report.by_product}
    assert units[cheap.id] == 7 - 4
    assert units[tiny.id] == 7 and item.levies[0].amount_satang == 7
    assert verify().ok


def test_each_reversal_counts_the_units_of_its_own_levy_once(db, world):
    """Units refunded are counted on the reversal that moves their satang, each unit once
    and only against its own levy: the report's units per product come back to zero when
    everything is refunded, whatever the steps and whatever else was refunded meanwhile."""
    agree(world, kind="percent", rate=1000, scope="seller")  # 10% to the fund
    tiny = ProductFactory(seller=world["seller"], price_satang=10, stock=100)
    cheap = ProductFactory(seller=world["seller"], price_satang=3, stock=100)
    order = orders.place_order(
        world["buyer"], [(tiny.id, 7), (cheap.id, 7)], address=ADDRESS
    )  # levies 7 and 2 satang
    orders.confirm_transfer(world["admin"], order)
    db.session.commit()
    tiny_item, cheap_item = sorted(order.items, key=lambda i: i.product_id != tiny.id)

    for refund in ([(tiny_item.id, 2)], [(cheap_item.id, 1)], [(cheap_item.id, 3)]):
        order_refunds.refund(world["admin"], order, refund)
        db.session.commit()
    report = reports.levy_report(world["fund"].id, START, levies.today())
    units = {row.key: row.units for row in report.by_product}
    assert units == {tiny.id: 5, cheap.id: 3}
    reversal_units = db.session.scalars(
        select(JournalEntry.units)
        .where(JournalEntry.kind == EntryKind.LEVY_REVERSAL)
        .order_by(JournalEntry.id)
    ).all()
    assert reversal_units == [2, 4]  # the cheap's first unit waited for a whole satang

    order_refunds.refund(world["admin"], order, [(cheap_item.id, 3)])
    db.session.commit()
    report = reports.levy_report(world["fund"].id, START, levies.today())
    assert {row.key: row.units for row in report.by_product} == {tiny.id: 5, cheap.id: 0}
    assert verify().ok


def test_a_refund_not_done_or_not_there_posts_nothing(app, db, world, monkeypatch):
    agree(world)
    order = buy(world, 10)
    db.session.commit()
    monkeypatch.setattr("marketplace.outbox.dispatch.publish", lambda message: None)
    refund = order_refunds.refund(world["admin"], order, [(order.items[0].id, 2)])
    refund.status = RefundStatus.PENDING  # Stripe has not paid it back yet
    db.session.commit()

    assert routing.post_refund(refund.id) == 0
    assert routing.post_refund(refund.id + 1000) == 0
    posted = db.session.scalar(
        select(func.count()).select_from(JournalEntry).where(JournalEntry.refund_id.isnot(None))
    )
    assert posted == 0
    assert fund_balance(world["fund"].id) == 4000


def test_the_ledger_export_names_the_order_and_product_of_each_levy_entry(db, world):
    """An auditor's copy (`flask ledger export`) says what each levy entry was for."""
    agree(world)
    order = buy(world, 10)
    db.session.commit()
    order_refunds.refund(world["admin"], order, [(order.items[0].id, 3)])
    db.session.commit()
    written = []

    ledger_export.export(written.append, world["fund"].id)

    rows = [json.loads(line) for line in "".join(written).splitlines()]
    memos = {row["kind"]: row["memo"] for row in rows if row.get("type") == "entry"}
    name = f"{order.number} ข้าวหอมมะลิ ถุง 5 กก."
    assert memos == {"levy": name, "levy_reversal": name}


def test_csv_cells_never_start_a_formula(client, db, world):
    world["rice"].name_th = '=HYPERLINK("http://evil.example","x")'
    agree(world)
    buy(world, 1)
    db.session.commit()
    client.login("treasurer@example.com")

    body = client.get(f"/funds/{world['fund'].id}/levies.csv?from=2026-01-01&to=2030-12-31").data

    assert b"'=HYPERLINK" in body
    assert b"\n=HYPERLINK" not in body and b",=HYPERLINK" not in body


@pytest.mark.postgres_only
def test_refund_postings_and_remittances_at_once_never_deadlock(app, db, world):
    agree(world)
    orders_ = [buy(world, 10) for _ in range(4)]
    db.session.commit()
    ids = [o.id for o in orders_]
    items = [o.items[0].id for o in orders_]
    fund_id, treasurer_id, admin_id = world["fund"].id, world["treasurer"].id, world["admin"].id
    errors = []
    start = threading.Barrier(2)

    def refunds():
        with app.app_context():
            from marketplace.accounts.models import User
            from marketplace.extensions import db as inner
            from marketplace.orders.models import Order

            start.wait()
            try:
                for order_id, item_id in zip(ids, items, strict=True):
                    order = inner.session.get(Order, order_id)
                    order_refunds.refund(inner.session.get(User, admin_id), order, [(item_id, 1)])
                    inner.session.commit()
            except Exception as exc:
                errors.append(exc)

    def remittances():
        with app.app_context():
            from marketplace.accounts.models import User
            from marketplace.extensions import db as inner
            from marketplace.funds.models import Fund

            start.wait()
            try:
                for n in range(4):
                    ledger.record_remittance(
                        inner.session.get(User, treasurer_id),
                        inner.session.get(Fund, fund_id),
                        amount_satang=100,
                        remitted_on=START,
                        bank_reference=f"r{n}",
                    )
                    inner.session.commit()
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=refunds), threading.Thread(target=remittances)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    db.session.expire_all()
    assert fund_balance(fund_id) == 4 * 4000 - 4 * 400 - 400
    assert verify().ok
