"""Group orders: an organiser gathers members' pledges into one order, one parcel and one
levy trail; shares that add up to the satang; closing once, by hand or at the closing time;
stock short, trimmed, cancelled; the pages and the distribution sheet."""

import csv
import io
import logging
import threading
from datetime import date, timedelta

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.dbtypes import utcnow
from marketplace.extensions import db as _db
from marketplace.funds import reports
from marketplace.grouporders import services, shares
from marketplace.grouporders.models import GroupOrder, GroupOrderStatus, Pledge
from marketplace.ledger.verify import verify
from marketplace.money import format_satang
from marketplace.orders import services as orders
from marketplace.orders.models import Order
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

SHIPPING = {
    "name": "สมศรี ใจดี",
    "phone": "0812345678",
    "address_line": "45/2 หมู่ 3 ถนนวิเศษ",
    "subdistrict_code": "830107",
    "postal_code": "83130",
}


def token_for(client, email):
    response = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


@pytest.fixture
def market(db):
    """A rice group (฿350 a 5-kg bag, ฿4 of each to the Rawai fund; seedlings at ฿120 with
    2.5% to the buyer's own fund), the Rawai fund's treasurer as organiser, an admin."""
    member = SellerMemberFactory(user__email="rice@example.com")
    treasurer = FundTreasurerFactory(user__email="organiser@example.com")
    rice = ProductFactory(
        seller=member.seller,
        name_th="ข้าวหอมมะลิอินทรีย์ 5 กก.",
        unit_label="ถุง",
        price_satang=35000,
        weight_grams=5050,
        stock=500,
    )
    seedling = ProductFactory(
        seller=member.seller,
        name_th="กล้ามังคุด",
        unit_label="ต้น",
        price_satang=12000,
        weight_grams=800,
        stock=200,
    )
    admin = AdminFactory(email="admin@example.com")
    agreed_levy(member, treasurer, rice, rate=400)
    agreed_levy(member, None, seedling, kind="percent", rate=250, admin=admin)
    db.session.commit()
    return {
        "seller": member.seller,
        "seller_member": member.user,
        "organiser": treasurer.user,
        "fund": treasurer.fund,
        "rice": rice,
        "seedling": seedling,
        "admin": admin,
    }


def open_group(client, market, headers, **extra):
    body = {
        "seller_id": market["seller"].id,
        "title": "ข้าวสำหรับสมาชิกกองทุนราไวย์",
        "closes_at": (utcnow() + timedelta(days=3)).isoformat(),
        "product_ids": [market["rice"].id, market["seedling"].id],
        "shipping": SHIPPING,
        "fund_id": market["fund"].id,
        **extra,
    }
    response = client.post("/api/v1/group-orders", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def members(count):
    users = [UserFactory(email=f"member{n}@example.com") for n in range(count)]
    _db.session.commit()
    return users


def pledge(client, group, headers, items):
    return client.put(
        f"/api/v1/group-orders/{group['id']}/pledge",
        json={"join_code": group["join_code"], "items": items},
        headers=headers,
    )


# Shares: the largest remainder adds up exactly


def test_split_gives_the_leftover_satang_to_the_largest_remainders():
    assert shares.split(100, [1, 1, 1]) == [34, 33, 33]
    assert shares.split(5000, [5050, 10100, 800]) == [1583, 3166, 251]
    assert shares.split(7, [0, 3, 0]) == [0, 7, 0]
    assert shares.split(0, [2, 5]) == [0, 0]
    assert shares.split(9, [0, 0, 0]) == [3, 3, 3]  # nothing to weigh by: equal parts
    with pytest.raises(ValueError):
        shares.split(-1, [1])


@given(
    st.integers(min_value=0, max_value=10**9),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=40),
)
def test_split_always_sums_exactly_and_stays_within_a_satang(amount, weights):
    parts = shares.split(amount, weights)
    assert sum(parts) == amount
    assert all(part >= 0 for part in parts)
    total = sum(weights)
    if total:
        for part, weight in zip(parts, weights, strict=True):
            assert abs(part * total - amount * weight) < total  # within one satang
            if weight == 0:
                assert part == 0


# The API contract


def test_members_pledge_and_closing_places_one_order_with_shares_that_add_up(
    app, client, db, market, caplog
):
    caplog.set_level(logging.INFO, logger="marketplace.mail")
    # The rice group gives ฿320 a bag from 20 bags in one order
    tiers = client.patch(
        f"/api/v1/products/{market['rice'].id}",
        json={"price_tiers": [{"min_quantity": 20, "price_satang": 32000}]},
        headers=token_for(client, "rice@example.com"),
    )
    assert tiers.status_code == 200, tiers.json
    assert tiers.json["price_tiers"] == [{"min_quantity": 20, "price_satang": 32000}]
    organiser = token_for(client, "organiser@example.com")
    group = open_group(client, market, organiser)
    assert group["status"] == "open" and group["join_url"].endswith(f"/g/{group['join_code']}")
    rice, seedling = market["rice"].id, market["seedling"].id
    wanted = [(3, 1), (1, 0), (2, 2), (0, 5), (4, 0), (1, 1), (2, 0), (5, 3), (1, 0), (2, 1)]
    for user, (bags, trees) in zip(members(10), wanted, strict=True):
        items = [
            {"product_id": rice, "quantity": bags},
            {"product_id": seedling, "quantity": trees},
        ]
        response = pledge(client, group, token_for(client, user.email), items)
        assert response.status_code == 200, response.json
        mine = response.json["pledges"]
        assert len(mine) == 1 and mine[0]["mine"]  # a member sees their own pledge only
        if user.email == "member5@example.com":  # 11 bags so far: 9 more reach ฿320
            (rice_progress,) = [p for p in response.json["products"] if p["product_id"] == rice]
            assert rice_progress["unit_price_satang"] == 35000
            assert rice_progress["next_tier"] == {
                "min_quantity": 20,
                "price_satang": 32000,
                "units_short": 9,
            }

    closed = client.post(f"/api/v1/group-orders/{group['id']}/close", headers=organiser)
    assert closed.status_code == 201, closed.json
    again = client.post(f"/api/v1/group-orders/{group['id']}/close", headers=organiser)
    assert again.status_code == 200 and again.json["order_id"] == closed.json["order_id"]
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1

    order = db.session.get(Order, closed.json["order_id"])
    quantities = {item.product_id: item.quantity for item in order.items}
    assert quantities == {rice: 21, seedling: 13}
    prices = {item.product_id: item.unit_price_satang for item in order.items}
    assert prices == {rice: 32000, seedling: 12000}  # the tier the group reached
    answer = closed.json
    assert answer["status"] == "closed" and answer["final"] is True
    pledges = answer["pledges"]
    assert len(pledges) == 10
    assert (
        sum(p["goods_satang"] for p in pledges) == order.subtotal_satang == 21 * 32000 + 13 * 12000
    )
    assert sum(p["shipping_share_satang"] for p in pledges) == order.shipping_satang > 0
    levy_lines = [line for item in order.items for line in item.levies]
    assert sum(p["levy_satang"] for p in pledges) == sum(line.amount_satang for line in levy_lines)
    assert sum(p["total_satang"] for p in pledges) == order.total_satang
    for line in levy_lines:  # every levy line is shared out exactly, to its own fund
        shared = [
            levy.amount_satang
            for p in db.session.scalars(select(Pledge))
            for levy in p.levies
            if levy.order_item_levy_id == line.id
        ]
        assert sum(shared) == line.amount_satang and line.fund_id == market["fund"].id
    # ฿4 a bag to the named fund; 2.5% of the seedlings to the buyer's fund = the group's fund
    assert (
        sum(line.amount_satang for line in levy_lines)
        == 21 * 400 + (13 * 12000 * 250 + 5000) // 10000
    )
    assert answer["totals"]["units"] == {str(rice): 21, str(seedling): 13}
    # A member who pledged 3 bags and 1 seedling: goods exact, shipping by weight
    first = next(
        p
        for p in pledges
        if p["items"]
        == [{"product_id": rice, "quantity": 3}, {"product_id": seedling, "quantity": 1}]
    )
    assert first["goods_satang"] == 3 * 32000 + 12000  # every pledge at the tier price
    assert first["total_satang"] == first["goods_satang"] + first["shipping_share_satang"]

    # After closing nobody can pledge
    late = pledge(client, group, token_for(client, "member1@example.com"), [])
    assert late.status_code == 409
    # Members are told by mail, with their share
    assert "to=member0@example.com" in caplog.text

    # The organiser pays; the fund's report shows the levies
    orders.confirm_transfer(market["admin"], order)
    db.session.commit()
    report = reports.levy_report(market["fund"].id, date(2026, 1, 1), date(2030, 12, 31))
    assert report.accrued_satang == sum(line.amount_satang for line in levy_lines)
    assert verify().ok


def test_the_organiser_sees_every_pledge_a_member_their_own_others_nothing(client, db, market):
    organiser = token_for(client, "organiser@example.com")
    group = open_group(client, market, organiser)
    alice, bob, carol = members(3)
    for user, bags in ((alice, 2), (bob, 5)):
        assert (
            pledge(
                client,
                group,
                token_for(client, user.email),
                [{"product_id": market["rice"].id, "quantity": bags}],
            ).status_code
            == 200
        )
    seen = client.get(f"/api/v1/group-orders/{group['id']}", headers=organiser).json
    assert [p["name"] for p in seen["pledges"]] == [alice.name, bob.name]
    assert seen["totals"]["units"][str(market["rice"].id)] == 7
    as_alice = client.get(
        f"/api/v1/group-orders/{group['id']}", headers=token_for(client, alice.email)
    )
    assert as_alice.status_code == 200
    assert [p["name"] for p in as_alice.json["pledges"]] == [alice.name]
    assert as_alice.json["totals"]["units"][str(market["rice"].id)] == 7
    assert "join_code" not in as_alice.json
    assert (
        client.get(
            f"/api/v1/group-orders/{group['id']}", headers=token_for(client, carol.email)
        ).status_code
        == 404
    )
    # Only the organiser closes or ticks
    assert (
        client.post(
            f"/api/v1/group-orders/{group['id']}/close", headers=token_for(client, alice.email)
        ).status_code
        == 404
    )


def test_a_wrong_or_missing_code_is_404_and_bad_pledges_write_nothing(client, db, market):
    organiser = token_for(client, "organiser@example.com")
    group = open_group(client, market, organiser)
    other = open_group(client, market, organiser, title="อีกกลุ่ม")
    (alice,) = members(1)
    headers = token_for(client, alice.email)
    rice = market["rice"].id
    url = f"/api/v1/group-orders/{group['id']}/pledge"
    item = [{"product_id": rice, "quantity": 1}]
    assert (
        client.put(url, json={"join_code": "nope", "items": item}, headers=headers).status_code
        == 404
    )
    assert (
        client.put(
            url, json={"join_code": other["join_code"], "items": item}, headers=headers
        ).status_code
        == 404
    )
    missing = client.put(url, json={"items": item}, headers=headers)
    assert missing.status_code == 404
    empty = client.put(url, json={"join_code": "", "items": item}, headers=headers)
    assert empty.status_code == 404
    foreign = ProductFactory(stock=5)
    db.session.commit()
    for items, field in (
        ([{"product_id": foreign.id, "quantity": 1}], "items"),
        ([{"product_id": rice, "quantity": -1}], "items[0].quantity"),
        ([{"product_id": rice, "quantity": "2"}], "items[0].quantity"),
    ):
        response = pledge(client, group, headers, items)
        assert response.status_code == 400 and field in response.json["error"]["fields"], (
            response.json
        )
    assert db.session.scalar(select(func.count()).select_from(Pledge)) == 0


def test_a_pledge_is_replaced_and_withdrawn_with_no_items(client, db, market):
    organiser = token_for(client, "organiser@example.com")
    group = open_group(client, market, organiser)
    (alice,) = members(1)
    headers = token_for(client, alice.email)
    rice, seedling = market["rice"].id, market["seedling"].id
    pledge(client, group, headers, [{"product_id": rice, "quantity": 2}])
    replaced = pledge(client, group, headers, [{"product_id": seedling, "quantity": 4}])
    assert replaced.json["pledges"][0]["items"] == [{"product_id": seedling, "quantity": 4}]
    withdrawn = pledge(client, group, headers, [])
    assert withdrawn.status_code == 200 and withdrawn.json["pledges"] == []
    assert db.session.scalar(select(func.count()).select_from(Pledge)) == 0
    nothing = client.post(f"/api/v1/group-orders/{group['id']}/close", headers=organiser)
    assert nothing.status_code == 409 and nothing.json["error"]["code"] == "nothing_pledged"


def test_opening_refuses_bad_terms_with_the_field_named(client, db, market):
    organiser = token_for(client, "organiser@example.com")
    (alice,) = members(1)
    other_seller_product = ProductFactory(stock=5)
    db.session.commit()
    base = {
        "seller_id": market["seller"].id,
        "title": "กลุ่ม",
        "closes_at": (utcnow() + timedelta(days=1)).isoformat(),
        "product_ids": [market["rice"].id],
        "shipping": SHIPPING,
    }
    cases = [
        ({"closes_at": (utcnow() - timedelta(hours=1)).isoformat()}, "closes_at", organiser),
        ({"closes_at": "tomorrow"}, "closes_at", organiser),
        ({"product_ids": [other_seller_product.id]}, "product_ids", organiser),
        ({"product_ids": []}, "product_ids", organiser),
        ({"seller_id": 999999}, "seller_id", organiser),
        ({"fund_id": market["fund"].id}, "fund_id", token_for(client, alice.email)),
        ({"shipping": {**SHIPPING, "postal_code": "10110"}}, "shipping.postal_code", organiser),
        ({"method": "pickup"}, "method", organiser),
    ]
    for change, field, headers in cases:
        response = client.post("/api/v1/group-orders", json={**base, **change}, headers=headers)
        assert response.status_code == 400, (change, response.json)
        assert field in response.json["error"]["fields"], (change, response.json)
    assert db.session.scalar(select(func.count()).select_from(GroupOrder)) == 0


# Stock short, trimming, cancelling


def test_stock_short_places_nothing_then_trimming_the_last_pledges_lets_it_close(
    client, db, market, caplog
):
    caplog.set_level(logging.INFO, logger="marketplace.mail")
    market["rice"].stock = 6
    db.session.commit()
    organiser = token_for(client, "organiser@example.com")
    group = open_group(client, market, organiser)
    first, second, third = members(3)
    rice, seedling = market["rice"].id, market["seedling"].id
    with time_machine.travel(utcnow(), tick=True) as clock:
        for user, bags in ((first, 3), (second, 2), (third, 4)):
            pledge(
                client,
                group,
                token_for(client, user.email),
                [
                    {"product_id": rice, "quantity": bags},
                    {"product_id": seedling, "quantity": 1},
                ],
            )
            clock.shift(timedelta(minutes=5))
    short = client.post(f"/api/v1/group-orders/{group['id']}/close", headers=organiser)
    assert short.status_code == 409 and short.json["error"]["code"] == "stock_short"
    assert list(short.json["error"]["fields"]) == [str(rice)]
    assert "3" in short.json["error"]["fields"][str(rice)][0]  # 9 pledged, 6 in stock
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    db.session.expire_all()
    assert market["rice"].stock == 6

    group_row = services.get(group["id"])
    organiser_user = db.session.scalar(select(User).where(User.email == "organiser@example.com"))
    trimmed = services.trim(organiser_user, group_row)
    db.session.commit()
    # The last pledge (4 bags) gives back 3: the ones before keep theirs
    assert [(user.email, units) for user, _product, units in trimmed] == [(third.email, 3)]
    assert "to=member2@example.com" in caplog.text
    seen = client.get(f"/api/v1/group-orders/{group['id']}", headers=organiser).json
    assert seen["totals"]["units"][str(rice)] == 6
    closed = client.post(f"/api/v1/group-orders/{group['id']}/close", headers=organiser)
    assert closed.status_code == 201
    db.session.expire_all()
    assert market["rice"].stock == 0


def test_cancelling_tells_members_and_closing_is_refused_after(client, db, market, caplog):
    caplog.set_level(logging.INFO, logger="marketplace.mail")
    organiser = token_for(client, "organiser@example.com")
    group = open_group(client, market, organiser)
    (alice,) = members(1)
    pledge(
        client,
        group,
        token_for(client, alice.email),
        [{"product_id": market["rice"].id, "quantity": 1}],
    )
    organiser_user = db.session.scalar(select(User).where(User.email == "organiser@example.com"))
    services.cancel(organiser_user, services.get(group["id"]))
    db.session.commit()
    assert "to=member0@example.com" in caplog.text
    refused = client.post(f"/api/v1/group-orders/{group['id']}/close", headers=organiser)
    assert refused.status_code == 409
    assert (
        client.get(f"/api/v1/group-orders/{group['id']}", headers=organiser).json["status"]
        == "cancelled"
    )


def test_settled_is_ticked_by_the_organiser_once_closed(client, db, market):
    organiser = token_for(client, "organiser@example.com")
    group = open_group(client, market, organiser)
    (alice,) = members(1)
    alice_headers = token_for(client, alice.email)
    pledged = pledge(
        client, group, alice_headers, [{"product_id": market["rice"].id, "quantity": 1}]
    )
    pledge_id = pledged.json["pledges"][0]["id"]
    url = f"/api/v1/group-orders/{group['id']}/pledges/{pledge_id}/settled"
    assert client.post(url, headers=organiser).status_code == 409  # not closed yet
    client.post(f"/api/v1/group-orders/{group['id']}/close", headers=organiser)
    assert client.post(url, headers=alice_headers).status_code == 404  # not the organiser
    ticked = client.post(url, headers=organiser)
    assert ticked.status_code == 200 and ticked.json["settled"] is True
    assert client.post(url, headers=organiser).status_code == 200  # again: no change
    assert (
        client.post(
            f"/api/v1/group-orders/{group['id']}/pledges/999999/settled", headers=organiser
        ).status_code
        == 404
    )


# Closing once: concurrent closes, the beat at the closing time


def test_five_concurrent_closes_place_one_order(app, client, db, market):
    organiser = token_for(client, "organiser@example.com")
    group = open_group(client, market, organiser)
    for user in members(4):
        pledge(
            client,
            group,
            token_for(client, user.email),
            [{"product_id": market["rice"].id, "quantity": 2}],
        )
    organiser_id = db.session.scalar(select(User.id).where(User.email == "organiser@example.com"))
    barrier = threading.Barrier(5)
    errors, outcomes = [], []

    def close():
        try:
            with app.app_context():
                user = _db.session.get(User, organiser_id)
                found = services.get(group["id"])
                barrier.wait()
                order, placed = services.close(user, found)
                _db.session.commit()
                outcomes.append((order.id, placed))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=close) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len({order_id for order_id, _placed in outcomes}) == 1
    assert sorted(placed for _order_id, placed in outcomes) == [False] * 4 + [True]
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    db.session.expire_all()
    assert market["rice"].stock == 500 - 8
    assert verify().ok


def test_the_beat_closes_at_the_closing_time_and_cancels_an_empty_one(app, client, db, market):
    from tasks.grouporders import close_due

    organiser = token_for(client, "organiser@example.com")
    closes_at = utcnow() + timedelta(days=2)
    pledged = open_group(client, market, organiser, closes_at=closes_at.isoformat())
    empty = open_group(client, market, organiser, closes_at=closes_at.isoformat(), title="ว่าง")
    (alice,) = members(1)
    pledge(
        client,
        pledged,
        token_for(client, alice.email),
        [{"product_id": market["rice"].id, "quantity": 2}],
    )

    with time_machine.travel(closes_at - timedelta(minutes=1)):
        assert close_due.apply().get() == {}
    with time_machine.travel(closes_at + timedelta(seconds=30)):
        outcomes = close_due.apply().get()
    assert outcomes == {pledged["id"]: "closed", empty["id"]: "cancelled"}
    db.session.expire_all()
    first, second = (
        db.session.get(GroupOrder, pledged["id"]),
        db.session.get(GroupOrder, empty["id"]),
    )
    assert first.status == GroupOrderStatus.CLOSED and first.order.total_satang > 0
    assert second.status == GroupOrderStatus.CANCELLED
    with time_machine.travel(closes_at + timedelta(minutes=2)):
        assert close_due.apply().get() == {}  # nothing left to close


def test_the_beat_leaves_a_short_group_open_and_tells_the_organiser_once(
    app, client, db, market, caplog
):
    from tasks.grouporders import close_due

    caplog.set_level(logging.INFO, logger="marketplace.mail")
    market["rice"].stock = 1
    db.session.commit()
    organiser = token_for(client, "organiser@example.com")
    closes_at = utcnow() + timedelta(days=1)
    group = open_group(client, market, organiser, closes_at=closes_at.isoformat())
    (alice,) = members(1)
    pledge(
        client,
        group,
        token_for(client, alice.email),
        [{"product_id": market["rice"].id, "quantity": 2}],
    )
    with time_machine.travel(closes_at + timedelta(minutes=1)):
        assert close_due.apply().get() == {group["id"]: "short"}
        assert close_due.apply().get() == {group["id"]: "short"}
    assert caplog.text.count("to=organiser@example.com") == 1
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.task == "tasks.grouporders.short")
        )
        == 1
    )


# The pages


def _form_page(client, url):
    return client.get(url).get_data(as_text=True)


def test_the_pages_open_join_pledge_close_and_print_the_sheet(app, client, db, market):
    client.login("organiser@example.com")
    page = client.get(f"/group-orders/new?seller_id={market['seller'].id}")
    assert page.status_code == 200 and "ข้าวหอมมะลิอินทรีย์" in page.get_data(as_text=True)
    closes = (utcnow() + timedelta(days=2) + timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "title": "ข้าวเดือนธันวาคม",
        "product_ids": [str(market["rice"].id), str(market["seedling"].id)],
        "closes_at": closes,
        "method": "delivery",
        "fund_id": str(market["fund"].id),
        "note": "",
        "ship_name": "สมศรี",
        "ship_phone": "0812345678",
        "address_line": "1 หมู่ 2",
        "province": "83",
        "district": "8301",
        "subdistrict": "830107",
        "postal_code": "83130",
        "payment_method": "transfer",
    }
    refused = client.submit(
        f"/group-orders/new?seller_id={market['seller'].id}",
        {**form, "title": "", "closes_at": "soon"},
    )
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert text.count('class="error"') >= 2  # every error at once
    assert db.session.scalar(select(func.count()).select_from(GroupOrder)) == 0

    opened = client.submit(f"/group-orders/new?seller_id={market['seller'].id}", form)
    assert opened.status_code == 303, opened.get_data(as_text=True)
    group = db.session.scalar(select(GroupOrder))
    show = client.get(opened.headers["Location"]).get_data(as_text=True)
    assert f"/g/{group.join_code}" in show and "<svg" in show

    # A member joins by the link
    (alice,) = members(1)
    member = app.test_client()
    anonymous = member.get(f"/g/{group.join_code}").get_data(as_text=True)
    assert "ข้าวหอมมะลิอินทรีย์" in anonymous and "/login?next=" in anonymous
    member.login(alice.email)
    rice_field, tree_field = f"q{market['rice'].id}", f"q{market['seedling'].id}"
    bad = member.submit(f"/g/{group.join_code}", {rice_field: "-2", tree_field: "x"})
    assert bad.status_code == 400 and bad.get_data(as_text=True).count('class="error"') >= 2
    ok = member.submit(f"/g/{group.join_code}", {rice_field: "3", tree_field: ""})
    assert ok.status_code == 303
    mine = member.get(f"/g/{group.join_code}").get_data(as_text=True)
    assert "฿1,050.00" in mine  # 3 bags: the member's goods
    # The member cannot open the organiser's page: it sends them to their join page
    assert member.get(f"/group-orders/{group.id}").status_code == 302

    closed = client.submit(f"/group-orders/{group.id}/close", {})
    assert closed.status_code == 303
    db.session.expire_all()
    assert db.session.get(GroupOrder, group.id).status == GroupOrderStatus.CLOSED
    sheet = client.get(f"/group-orders/{group.id}/sheet").get_data(as_text=True)
    pledge_row = db.session.scalar(select(Pledge))
    assert alice.name in sheet and format_satang(pledge_row.total_satang) in sheet
    download = client.get(f"/group-orders/{group.id}/sheet.csv")
    assert download.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1][1] == alice.name and rows[1][3] == "3"
    assert rows[-1][3] == "3"
    assert rows[1][-4] == f"{pledge_row.total_satang // 100}.{pledge_row.total_satang % 100:02d}"
    ticked = client.submit(
        f"/group-orders/{group.id}/pledges/{pledge_row.id}/settled", {"settled": "1"}
    )
    assert ticked.status_code == 303
    db.session.expire_all()
    assert db.session.get(Pledge, pledge_row.id).settled is True
    # Another user gets no sheet
    UserFactory(email="bob@example.com")
    db.session.commit()
    stranger = app.test_client()
    stranger.login("bob@example.com")
    assert stranger.get(f"/group-orders/{group.id}/sheet").status_code == 404
    assert stranger.submit(f"/group-orders/{group.id}/close", {}).status_code == 404


def test_registering_from_a_join_link_comes_back_to_it(client, db, market, caplog):
    from tests.test_accounts import mailed_link, registration

    caplog.set_level(logging.INFO, logger="marketplace.mail")
    organiser = token_for(client, "organiser@example.com")
    group = open_group(client, market, organiser)
    join = f"/g/{group['join_code']}"
    page = client.get(join).get_data(as_text=True)
    assert f"/register?next=/g/{group['join_code']}" in page
    sent = client.submit(f"/register?next={join}", registration(email="newmember@example.com"))
    assert sent.status_code == 302
    link = mailed_link(caplog, "newmember@example.com", "/register/confirm/")
    done = client.submit(link, {"password": PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == join
    # A next that leaves the site is not kept
    other = client.application.test_client()
    other.submit("/register?next=//evil.example/x", registration(email="elsewhere@example.com"))
    link = mailed_link(caplog, "elsewhere@example.com", "/register/confirm/")
    assert other.submit(link, {"password": PASSWORD}).headers["Location"] == "/"


def test_cancelling_the_order_cancels_the_group_order_and_tells_members(client, db, market, caplog):
    caplog.set_level(logging.INFO, logger="marketplace.mail")
    organiser = token_for(client, "organiser@example.com")
    group = open_group(client, market, organiser)
    (alice,) = members(1)
    pledge(
        client,
        group,
        token_for(client, alice.email),
        [{"product_id": market["rice"].id, "quantity": 2}],
    )
    closed = client.post(f"/api/v1/group-orders/{group['id']}/close", headers=organiser)
    order = db.session.get(Order, closed.json["order_id"])
    caplog.clear()
    orders.expire_unpaid(now=utcnow() + timedelta(days=2))  # never paid
    db.session.commit()
    seen = client.get(f"/api/v1/group-orders/{group['id']}", headers=organiser).json
    assert seen["status"] == "cancelled" and seen["order_id"] == order.id
    assert "to=member0@example.com" in caplog.text and order.number in caplog.text
    again = client.post(f"/api/v1/group-orders/{group['id']}/close", headers=organiser)
    assert again.status_code == 409
    db.session.expire_all()
    assert market["rice"].stock == 500


def test_trimming_takes_the_units_asked_for_last_not_the_last_edit(client, db, market):
    market["rice"].stock = 6
    db.session.commit()
    organiser = token_for(client, "organiser@example.com")
    group = open_group(client, market, organiser)
    alice, bob = members(2)
    rice, seedling = market["rice"].id, market["seedling"].id
    with time_machine.travel(utcnow(), tick=False) as clock:
        pledge(
            client,
            group,
            token_for(client, alice.email),
            [{"product_id": rice, "quantity": 4}, {"product_id": seedling, "quantity": 1}],
        )
        clock.shift(timedelta(hours=1))
        pledge(client, group, token_for(client, bob.email), [{"product_id": rice, "quantity": 3}])
        clock.shift(timedelta(hours=1))
        # Alice drops her seedling: her rice keeps its place in the queue
        pledge(client, group, token_for(client, alice.email), [{"product_id": rice, "quantity": 4}])
        organiser_user = db.session.scalar(
            select(User).where(User.email == "organiser@example.com")
        )
        trimmed = services.trim(organiser_user, services.get(group["id"]))
        db.session.commit()
    assert [(user.email, units) for user, _product, units in trimmed] == [(bob.email, 1)]


def test_the_group_total_of_a_product_stays_within_one_order(client, db, market):
    organiser = token_for(client, "organiser@example.com")
    group = open_group(client, market, organiser)
    market["rice"].stock = 5000
    db.session.commit()
    first, second, third = members(3)
    rice = market["rice"].id
    for user in (first, second):
        assert (
            pledge(
                client,
                group,
                token_for(client, user.email),
                [{"product_id": rice, "quantity": 450}],
            ).status_code
            == 200
        )
    over = pledge(
        client, group, token_for(client, third.email), [{"product_id": rice, "quantity": 100}]
    )
    assert over.status_code == 409 and "items" in over.json["error"]["fields"]
    fits = pledge(
        client, group, token_for(client, third.email), [{"product_id": rice, "quantity": 99}]
    )
    assert fits.status_code == 200
    assert (
        client.post(f"/api/v1/group-orders/{group['id']}/close", headers=organiser).status_code
        == 201
    )


def test_a_seller_no_longer_selling_blocks_closing_with_the_products_named(
    client, db, market, caplog
):
    from tasks.grouporders import close_due

    caplog.set_level(logging.INFO, logger="marketplace.mail")
    organiser = token_for(client, "organiser@example.com")
    closes_at = utcnow() + timedelta(days=1)
    group = open_group(client, market, organiser, closes_at=closes_at.isoformat())
    (alice,) = members(1)
    headers = token_for(client, alice.email)
    pledge(client, group, headers, [{"product_id": market["rice"].id, "quantity": 2}])
    market["seller"].verified = False
    db.session.commit()
    refused = client.post(f"/api/v1/group-orders/{group['id']}/close", headers=organiser)
    assert refused.status_code == 409 and list(refused.json["error"]["fields"]) == [
        str(market["rice"].id)
    ]
    more = pledge(client, group, headers, [{"product_id": market["rice"].id, "quantity": 3}])
    assert more.status_code == 409  # no more units of what is not on sale
    with time_machine.travel(closes_at + timedelta(minutes=1)):
        assert close_due.apply().get() == {group["id"]: "short"}
    assert "to=organiser@example.com" in caplog.text and market["rice"].name in caplog.text
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_wrong_codes_of_any_shape_are_404_and_admins_do_not_act_for_organisers(client, db, market):
    organiser = token_for(client, "organiser@example.com")
    group = open_group(client, market, organiser)
    (alice,) = members(1)
    headers = token_for(client, alice.email)
    url = f"/api/v1/group-orders/{group['id']}/pledge"
    item = [{"product_id": market["rice"].id, "quantity": 1}]
    for code in ("x" * 33, 12345, None, ["a"]):
        assert (
            client.put(url, json={"join_code": code, "items": item}, headers=headers).status_code
            == 404
        )
    pledge(client, group, headers, item)
    admin = token_for(client, "admin@example.com")
    assert client.get(f"/api/v1/group-orders/{group['id']}", headers=admin).status_code == 200
    assert (
        client.post(f"/api/v1/group-orders/{group['id']}/close", headers=admin).status_code == 403
    )
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_the_distribution_csv_keeps_names_as_text(client, db, market):
    organiser = token_for(client, "organiser@example.com")
    group = open_group(client, market, organiser)
    sly = UserFactory(
        email="sly@example.com", name='=HYPERLINK("http://evil.example","x")', phone="+66812345678"
    )
    db.session.commit()
    pledge(
        client,
        group,
        token_for(client, sly.email),
        [{"product_id": market["rice"].id, "quantity": 1}],
    )
    client.post(f"/api/v1/group-orders/{group['id']}/close", headers=organiser)
    web = client.application.test_client()
    web.login("organiser@example.com")
    rows = list(
        csv.reader(
            io.StringIO(
                web.get(f"/group-orders/{group['id']}/sheet.csv")
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    assert rows[1][1] == "'" + sly.name and rows[1][2] == "'+66812345678"
