"""The audit trail: every money and permission action leaves one append-only record,
written in the action's own transaction, and each party sees only its own records."""

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text

from marketplace.audit import services as audit
from marketplace.audit.models import AuditParty, AuditRecord
from marketplace.audit.services import AuditError
from marketplace.errors import Conflict, DomainError, Forbidden
from marketplace.extensions import db as _db
from marketplace.ledger import services as ledger
from marketplace.levies import services as levies
from marketplace.levies.models import Beneficiary, LevyKind, LevyScope, Side
from marketplace.money import format_satang
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as orders
from marketplace.payments.models import Payment
from tests.factories import (
    ADDRESS,
    AdminFactory,
    FundFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)

START = date(2026, 1, 1)


@pytest.fixture
def world(db):
    """A rice seller with a member, a fund with a treasurer, an admin and a buyer."""
    member = SellerMemberFactory(user__email="member@example.com")
    treasurer = FundTreasurerFactory(user__email="treasurer@example.com")
    rice = ProductFactory(seller=member.seller, price_satang=35000, stock=500)
    world = {
        "membership": member,
        "treasurership": treasurer,
        "seller": member.seller,
        "member": member.user,
        "fund": treasurer.fund,
        "treasurer": treasurer.user,
        "rice": rice,
        "admin": AdminFactory(email="admin@example.com", name="Admin One"),
        "buyer": UserFactory(email="buyer@example.com"),
    }
    db.session.commit()
    return world


def agree(world):
    return agreed_levy(world["membership"], world["treasurership"], world["rice"])


def place(world, quantity=10):
    return orders.place_order(world["buyer"], [(world["rice"].id, quantity)], address=ADDRESS)


def records(action=None):
    _db.session.expire_all()
    query = select(AuditRecord).order_by(AuditRecord.id)
    if action:
        query = query.where(AuditRecord.action == action)
    return _db.session.scalars(query).all()


def parties(entry):
    return entry.seller_ids, entry.fund_ids


# Money


def test_admin_confirming_a_transfer_is_recorded_with_address_and_parties(client, db, world):
    agree(world)
    order = place(world)
    db.session.commit()
    client.login("admin@example.com")

    response = client.submit(f"/admin/orders/{order.id}/confirm-payment", {"reference": "KB 7"})

    assert response.status_code == 303
    [entry] = records(audit.PAYMENT_CONFIRMED)
    assert entry.actor_id == world["admin"].id and entry.actor_label == ""
    assert (entry.object_type, entry.object_id) == ("order", order.id)
    assert entry.address == "127.0.0.1"
    assert entry.amount_satang == order.total_satang
    assert entry.detail == {"order": order.number, "provider": "transfer", "reference": "KB 7"}
    assert parties(entry) == ({world["seller"].id}, {world["fund"].id})

    again = client.submit(f"/admin/orders/{order.id}/confirm-payment", {})  # already paid

    assert again.status_code == 303
    assert len(records(audit.PAYMENT_CONFIRMED)) == 1


def test_the_record_shares_the_actions_transaction(db, world):
    order = place(world)
    db.session.commit()

    orders.confirm_transfer(world["admin"], order)
    assert len(records(audit.PAYMENT_CONFIRMED)) == 1  # flushed with the action
    db.session.rollback()

    assert records(audit.PAYMENT_CONFIRMED) == []
    with pytest.raises(Forbidden):
        orders.confirm_transfer(world["buyer"], order)
    db.session.rollback()
    assert records(audit.PAYMENT_CONFIRMED) == []


def test_the_address_is_the_clients_behind_a_trusted_proxy(make_app, db, world):
    app = make_app(TRUSTED_PROXIES=1)
    order = place(world)
    db.session.commit()
    client = app.test_client()
    client.login("admin@example.com")

    client.submit(
        f"/admin/orders/{order.id}/confirm-payment",
        {},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )

    [entry] = records(audit.PAYMENT_CONFIRMED)
    assert entry.address == "203.0.113.9"


def test_refunds_partial_failed_and_by_cancelling_are_recorded(client, db, world):
    agree(world)
    order = place(world)
    orders.confirm_transfer(world["admin"], order)
    db.session.commit()
    item = order.items[0]
    client.login("admin@example.com")

    client.submit(f"/admin/orders/{order.id}/refund", {f"qty-{item.id}": "3", "reason": "แตก"})
    too_many = client.submit(f"/admin/orders/{order.id}/refund", {f"qty-{item.id}": "8"})
    assert too_many.status_code == 303
    client.submit(f"/admin/orders/{order.id}/cancel", {"reason": "ส่งไม่ได้"})

    partial, rest = records(audit.ORDER_REFUNDED)
    assert partial.actor_id == world["admin"].id and partial.address == "127.0.0.1"
    assert (partial.object_type, partial.object_id) == ("order", order.id)
    assert partial.amount_satang == 3 * 35000
    assert partial.detail["units"] == 3 and partial.detail["reason"] == "แตก"
    assert "cancelled" not in partial.detail
    assert parties(partial) == ({world["seller"].id}, {world["fund"].id})
    assert rest.detail["units"] == 7 and rest.detail["cancelled"] is True
    assert rest.amount_satang == order.total_satang - 3 * 35000


def test_a_refund_through_the_api_is_recorded(db, world):
    order = place(world)
    orders.confirm_transfer(world["admin"], order)
    db.session.commit()

    with pytest.raises(Forbidden):
        order_refunds.refund(world["buyer"], order)
    db.session.rollback()
    order_refunds.refund(world["admin"], order)
    db.session.commit()

    [entry] = records(audit.ORDER_REFUNDED)
    assert entry.actor_id == world["admin"].id and entry.address == ""


# Stripe's webhook


def _deliver(app, event):
    payload = json.dumps(event).encode()
    stamp = int(time.time())
    key = app.config["STRIPE_WEBHOOK_SECRET"].encode()
    signature = hmac.new(key, f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return app.test_client().post(
        "/webhooks/stripe",
        data=payload,
        headers={
            "Stripe-Signature": f"t={stamp},v1={signature}",
            "Content-Type": "application/json",
        },
    )


def _intent_event(intent_id, amount, kind="payment_intent.succeeded"):
    return {
        "id": f"evt_{uuid.uuid4().hex[:14]}",
        "object": "event",
        "type": kind,
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount,
                "currency": "thb",
                "status": "succeeded",
                "metadata": {},
            }
        },
    }


@pytest.fixture
def stripe_app(make_app):
    return make_app(
        STRIPE_SECRET_KEY="sk_test_audit",
        STRIPE_PUBLISHABLE_KEY="pk_test_audit",
        STRIPE_WEBHOOK_SECRET=f"whsec_{uuid.uuid4().hex}",
        STRIPE_API_BASE="http://127.0.0.1:9",  # never called on these paths
    )


def _card_order(db, world):
    order = place(world, 2)
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order.id))
    payment.provider, payment.external_id = "stripe", f"pi_{uuid.uuid4().hex[:14]}"
    db.session.commit()
    return order, payment


def test_stripe_marking_paid_and_refunding_is_recorded_as_stripe(stripe_app, db, world):
    agree(world)
    order, payment = _card_order(db, world)

    wrong = _deliver(stripe_app, _intent_event(payment.external_id, payment.amount_satang - 1))
    assert wrong.status_code == 200
    assert records(audit.PAYMENT_CONFIRMED) == []  # flagged, not paid: nothing to record

    paid = _deliver(stripe_app, _intent_event(payment.external_id, payment.amount_satang))
    assert paid.status_code == 200
    [entry] = records(audit.PAYMENT_CONFIRMED)
    assert entry.actor_id is None and entry.actor_label == "stripe"
    assert entry.address == "127.0.0.1"
    assert entry.detail["provider"] == "stripe"
    assert entry.detail["stripe_id"] == payment.external_id
    assert parties(entry) == ({world["seller"].id}, {world["fund"].id})

    refund_id = f"re_{uuid.uuid4().hex[:14]}"
    refunded = _deliver(
        stripe_app,
        {
            "id": f"evt_{uuid.uuid4().hex[:14]}",
            "type": "refund.created",
            "data": {
                "object": {
                    "id": refund_id,
                    "object": "refund",
                    "amount": order.total_satang,
                    "status": "succeeded",
                    "payment_intent": payment.external_id,
                }
            },
        },
    )
    assert refunded.status_code == 200
    [refund] = records(audit.ORDER_REFUNDED)
    assert refund.actor_id is None and refund.actor_label == "stripe"
    assert refund.detail["stripe_id"] == refund_id
    assert refund.amount_satang == order.total_satang


# Remittances


def test_a_remittance_is_recorded_for_the_fund_and_a_refused_one_is_not(client, db, world):
    agree(world)
    order = place(world)
    orders.confirm_transfer(world["admin"], order)
    db.session.commit()  # the levy (฿40) reaches the fund after this commit
    client.login("treasurer@example.com")
    url = f"/funds/{world['fund'].id}/remittances"

    refused = client.submit(
        url, {"amount": "41", "remitted_on": "2026-02-01", "bank_reference": "KTB 1"}
    )
    done = client.submit(
        url, {"amount": "25.50", "remitted_on": "2026-02-01", "bank_reference": "KTB 2"}
    )

    assert (refused.status_code, done.status_code) == (400, 303)
    [entry] = records(audit.REMITTANCE_RECORDED)
    assert entry.actor_id == world["treasurer"].id and entry.address == "127.0.0.1"
    assert entry.object_type == "remittance" and entry.amount_satang == 2550
    assert entry.detail == {"bank_reference": "KTB 2", "remitted_on": "2026-02-01"}
    assert parties(entry) == (set(), {world["fund"].id})


def test_payouts_have_an_action_ready(db, world):
    class Payout:  # payout runs are not built yet: any object with an id will do
        id = 7

    audit.payout_paid(world["admin"], Payout(), seller_id=world["seller"].id, amount_satang=1234)

    [entry] = records(audit.PAYOUT_PAID)
    assert (entry.object_type, entry.object_id, entry.amount_satang) == ("payout", 7, 1234)
    assert parties(entry) == ({world["seller"].id}, set())


# Permissions


def test_levy_rules_proposed_accepted_declined_ended(db, world):
    rule = agree(world)
    db.session.commit()
    with pytest.raises(Forbidden):
        levies.end(world["buyer"], rule)
    db.session.rollback()
    levies.end(world["treasurer"], rule)
    other = levies.propose(
        world["treasurer"],
        Side.FUND,
        levies.LevyTerms(
            seller_id=world["seller"].id,
            fund_id=world["fund"].id,
            beneficiary=Beneficiary.FUND,
            scope=LevyScope.SELLER,
            kind=LevyKind.PERCENT,
            rate=200,
            effective_from=date(2030, 1, 1),
        ),
    )
    with pytest.raises(Forbidden):
        levies.accept(world["treasurer"], other)  # the proposer's side cannot accept
    levies.decline(world["member"], other)
    db.session.commit()

    entries = [e for e in records() if e.object_type == "levy_rule"]
    assert [(e.action, e.actor_id, e.object_id) for e in entries] == [
        (audit.LEVY_PROPOSED, world["member"].id, rule.id),
        (audit.LEVY_ACCEPTED, world["treasurer"].id, rule.id),
        (audit.LEVY_ENDED, world["treasurer"].id, rule.id),
        (audit.LEVY_PROPOSED, world["treasurer"].id, other.id),
        (audit.LEVY_DECLINED, world["member"].id, other.id),
    ]
    assert all(parties(e) == ({world["seller"].id}, {world["fund"].id}) for e in entries)
    assert entries[0].detail == {"kind": "per_unit", "rate": 400, "from": "2026-01-01"}


@pytest.mark.parametrize(
    ("slug", "added", "removed", "verified", "unverified"),
    [
        (
            "sellers",
            audit.MEMBER_ADDED,
            audit.MEMBER_REMOVED,
            audit.SELLER_VERIFIED,
            audit.SELLER_UNVERIFIED,
        ),
        (
            "funds",
            audit.TREASURER_ADDED,
            audit.TREASURER_REMOVED,
            audit.FUND_VERIFIED,
            audit.FUND_UNVERIFIED,
        ),
    ],
)
def test_verification_and_people_are_recorded(
    client, db, slug, added, removed, verified, unverified
):
    organisation = (SellerFactory if slug == "sellers" else FundFactory)(verified=False)
    AdminFactory(email="admin@example.com")
    person = UserFactory(email="person@example.com")
    db.session.commit()
    client.login("admin@example.com")
    base = f"/admin/{slug}/{organisation.id}"

    client.submit(f"{base}/verify", {"verified": "1"})
    client.submit(f"{base}/people", {"email": "person@example.com"})
    client.submit(f"{base}/people", {"email": "person@example.com"})  # already: refused
    client.submit(f"{base}/people", {"email": "nobody@example.com"})  # unknown: refused
    client.submit(f"{base}/people/{person.id}/remove", {})
    client.submit(f"{base}/people/{person.id}/remove", {})  # no longer: refused
    client.submit(f"{base}/verify", {"verified": "0"})

    entries = records()
    assert [e.action for e in entries] == [verified, added, removed, unverified]
    assert all(e.object_type == slug[:-1] and e.object_id == organisation.id for e in entries)
    assert all(e.address == "127.0.0.1" for e in entries)
    own = ({organisation.id}, set()) if slug == "sellers" else (set(), {organisation.id})
    assert all(parties(e) == own for e in entries)
    assert entries[1].detail["email"] == "person@example.com"


def test_granting_and_removing_admin_is_recorded(client, db):
    admin = AdminFactory(email="admin@example.com")
    user = UserFactory(email="user@example.com")
    db.session.commit()
    client.login("admin@example.com")

    client.submit(f"/admin/users/{user.id}/admin", {"is_admin": "1"})
    client.submit(f"/admin/users/{user.id}/admin", {"is_admin": "1"})  # no change: no record
    client.submit(f"/admin/users/{admin.id}/admin", {"is_admin": "0"})  # self: refused
    client.submit(f"/admin/users/{user.id}/admin", {"is_admin": "0"})

    entries = records()
    assert [(e.action, e.object_id, e.actor_id) for e in entries] == [
        (audit.ADMIN_GRANTED, user.id, admin.id),
        (audit.ADMIN_REMOVED, user.id, admin.id),
    ]
    assert entries[0].object_type == "user" and entries[0].detail["email"] == "user@example.com"
    assert entries[0].seller_ids == entries[0].fund_ids == set()


def test_creating_an_admin_from_the_command_line_is_recorded(app, db):
    runner = app.test_cli_runner()

    refused = runner.invoke(args=["users", "create-admin", "new@example.com"], input="short\n")
    result = runner.invoke(
        args=["users", "create-admin", "new@example.com"], input="a-long-passphrase-42\n"
    )

    assert refused.exit_code != 0 and result.exit_code == 0, result.output
    [entry] = records(audit.ADMIN_GRANTED)
    assert entry.actor_id is None and entry.actor_label == "cli"
    assert entry.detail == {"email": "new@example.com", "created": True}


def test_tasks_record_their_origin_not_a_request_address(app, db):
    from marketplace.audit.context import current_origin

    seen = []
    celery = app.extensions["celery"]

    @celery.task(name="tests.audit_origin", shared=False)  # this app only
    def origin_probe():
        seen.append(current_origin())

    origin_probe.apply()

    assert seen == ["task"]


# Append-only


def test_records_refuse_updates_and_deletes_in_the_orm(db, world):
    agree(world)
    db.session.commit()
    entry = records()[0]

    entry.action = audit.ADMIN_GRANTED
    with pytest.raises(AuditError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(records()[0])
    with pytest.raises(AuditError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalars(select(AuditParty)).first())
    with pytest.raises(AuditError):
        db.session.flush()
    db.session.rollback()

    assert [e.action for e in records()] == [audit.LEVY_PROPOSED, audit.LEVY_ACCEPTED]


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_records SET action = 'user.admin_granted'",
        "DELETE FROM audit_parties",
        "DELETE FROM audit_records",
    ],
)
def test_postgres_refuses_updates_and_deletes_in_sql(db, world, statement):
    agree(world)
    db.session.commit()

    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()

    assert len(records()) == 2


# The pages


@pytest.fixture
def two_sides(db, world):
    """World's rule (seller A, fund A) and a second seller and fund with their own rule."""
    agree(world)
    member_b = SellerMemberFactory(user__email="member-b@example.com")
    treasurer_b = FundTreasurerFactory(user__email="treasurer-b@example.com")
    product_b = ProductFactory(seller=member_b.seller)
    db.session.commit()
    rule_b = levies.propose(
        member_b.user,
        Side.SELLER,
        levies.LevyTerms(
            seller_id=member_b.seller_id,
            fund_id=treasurer_b.fund_id,
            beneficiary=Beneficiary.FUND,
            scope=LevyScope.PRODUCT,
            product_id=product_b.id,
            kind=LevyKind.PER_UNIT,
            rate=300,
            effective_from=START,
        ),
    )
    db.session.commit()
    return {**world, "seller_b": member_b.seller, "fund_b": treasurer_b.fund, "rule_b": rule_b}


def test_the_three_trails_show_only_what_each_may_see(client, db, two_sides):
    w = two_sides
    a_fund, a_seller = f"/funds/{w['fund'].id}/audit", f"/sellers/{w['seller'].id}/audit"
    b_fund, b_seller = f"/funds/{w['fund_b'].id}/audit", f"/sellers/{w['seller_b'].id}/audit"

    assert client.get("/admin/audit").status_code == 302  # guests sign in first
    client.login("buyer@example.com")
    for url in ("/admin/audit", a_fund, a_seller):
        assert client.get(url).status_code == 403

    client.submit("/logout", {})
    client.login("treasurer@example.com")
    page = client.get(a_fund)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert body.count('class="audit-record"') == 2  # A's rule, proposed and accepted
    assert "127.0.0.1" not in body  # addresses are for admins
    for url in (b_fund, a_seller, "/admin/audit"):
        assert client.get(url).status_code == 403

    client.submit("/logout", {})
    client.login("member-b@example.com")
    body = client.get(b_seller).get_data(as_text=True)
    assert body.count('class="audit-record"') == 1  # B's proposal only
    assert client.get(a_seller).status_code == 403
    assert client.get(b_fund).status_code == 403

    client.submit("/logout", {})
    client.login("admin@example.com")
    assert client.get("/admin/audit").get_data(as_text=True).count('class="audit-record"') == 3
    assert client.get(b_fund).status_code == 200  # admins see every fund's
    assert client.get("/funds/999999/audit").status_code == 404
    assert client.get("/sellers/999999/audit").status_code == 404


def _count(client, **query):
    response = client.get("/admin/audit", query_string=query)
    return response.status_code, response.get_data(as_text=True).count('class="audit-record"')


def test_admin_filters_by_action_actor_object_and_bangkok_dates(client, db, two_sides):
    w = two_sides
    # 31 March 23:30 in Bangkok is still March there, though 16:30 UTC.
    late_march = AuditRecord(
        created_at=datetime(2026, 3, 31, 16, 30, tzinfo=UTC),
        actor_id=w["admin"].id,
        action=audit.SELLER_VERIFIED,
        object_type="seller",
        object_id=w["seller"].id,
        detail={},
    )
    db.session.add(late_march)
    db.session.commit()
    client.login("admin@example.com")

    assert _count(client) == (200, 4)
    assert _count(client, action=audit.LEVY_PROPOSED) == (200, 2)
    assert _count(client, action=audit.LEVY_ACCEPTED) == (200, 1)
    assert _count(client, actor="member-b@example.com") == (200, 1)
    assert _count(client, actor="Admin One") == (200, 1)
    assert _count(client, object_type="levy_rule", object_id=str(w["rule_b"].id)) == (200, 1)
    assert _count(client, **{"from": "2026-03-31", "to": "2026-03-31"}) == (200, 1)
    assert _count(client, **{"from": "2026-04-01", "to": "2026-04-01"}) == (200, 0)
    assert _count(client, action="nope") == (400, 4)
    assert _count(client, **{"from": "31/03/2026"}) == (400, 4)


def test_admin_trail_is_paginated_newest_first(client, db, world):
    for number in range(audit.PER_PAGE + 1):
        db.session.add(
            AuditRecord(
                action=audit.FUND_VERIFIED,
                object_type="fund",
                object_id=world["fund"].id,
                detail={"name": f"fund-{number:03d}"},
            )
        )
    db.session.commit()
    client.login("admin@example.com")

    first = client.get("/admin/audit").get_data(as_text=True)
    second = client.get("/admin/audit?page=2").get_data(as_text=True)

    assert first.count('class="audit-record"') == audit.PER_PAGE
    assert "fund-050" in first and "fund-000" not in first
    assert second.count('class="audit-record"') == 1 and "fund-000" in second


def test_a_seller_member_does_not_see_other_sellers_amounts(client, db, world):
    other = ProductFactory(price_satang=99900)
    db.session.commit()
    order = orders.place_order(
        world["buyer"], [(world["rice"].id, 1), (other.id, 1)], address=ADDRESS
    )
    orders.confirm_transfer(world["admin"], order)
    db.session.commit()
    client.login("member@example.com")

    body = client.get(f"/sellers/{world['seller'].id}/audit").get_data(as_text=True)

    assert order.number in body
    assert format_satang(99900) not in body and format_satang(order.total_satang) not in body
    assert db.session.scalar(select(func.count()).select_from(AuditParty)) >= 2


def test_nothing_is_recorded_when_the_action_is_refused(db, world):
    order = place(world)
    db.session.commit()
    with pytest.raises(Conflict):
        order_refunds.refund(world["admin"], order)
    db.session.rollback()
    with pytest.raises(DomainError):
        ledger.record_remittance(
            world["treasurer"],
            world["fund"],
            amount_satang=100,
            remitted_on=START,
            bank_reference="x",
        )
    db.session.rollback()

    assert records() == []
