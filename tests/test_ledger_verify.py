"""``flask ledger verify`` on a day of business, then on the same day with one thing
changed behind the app's back (a hand edit, a broken script): each check names exactly
what is wrong, and a clean ledger has no problem at all.

The business: a rice group (a levy of ฿4 a bag for a welfare fund) and a weaving group,
a platform fee of 2.5%, no hold after delivery; an order of both delivered, paid out (the
rice group's transfer arrived, the weavers' failed), then two bags refunded; a second
order paid and not delivered; a third placed and not paid; ฿10 remitted to the fund.
"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db as _db
from marketplace.ledger import services as ledger
from marketplace.ledger import verify as ledger_verify
from marketplace.ledger.models import (
    Account,
    AccountKind,
    FundLevyDay,
    JournalEntry,
    JournalLine,
)
from marketplace.levies import services as levies
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as orders
from marketplace.orders.models import Refund, RefundItem, RefundStatus
from marketplace.outbox import services as outbox
from marketplace.outbox.models import OutboxMessage
from marketplace.payouts import services as payouts
from tests.conftest import tamper
from tests.factories import (
    ADDRESS,
    AdminFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)


@pytest.fixture
def app(make_app):
    return make_app(PAYOUT_HOLD_DAYS=0, PLATFORM_FEE_BPS=250)


def _deliver(member, shipment, buyer):
    orders.ship(member.user, shipment, carrier="ไปรษณีย์ไทย", tracking_number="EX1TH")
    orders.confirm_delivery(buyer, shipment)


@pytest.fixture
def day(db):
    rice_member = SellerMemberFactory(seller__promptpay_id="0812345602")
    weaver = SellerMemberFactory(
        seller__bank_name="ธ.ก.ส.",
        seller__bank_account_name="กลุ่มจักสาน",
        seller__bank_account_number="0201234567",
    )
    treasurer = FundTreasurerFactory()
    rice = ProductFactory(seller=rice_member.seller, price_satang=35000, stock=500)
    basket = ProductFactory(seller=weaver.seller, price_satang=45050, stock=500)
    agreed_levy(rice_member, treasurer, rice)
    admin, buyer = AdminFactory(), UserFactory()
    db.session.commit()

    def place(lines, pay=True):
        order = orders.place_order(buyer, [(p.id, q) for p, q in lines], address=ADDRESS)
        if pay:
            orders.confirm_transfer(admin, order)
        db.session.commit()
        return order

    delivered = place([(rice, 10), (basket, 1)])
    for shipment in delivered.shipments:
        member = rice_member if shipment.seller_id == rice_member.seller_id else weaver
        _deliver(member, shipment, buyer)
    db.session.commit()
    run = payouts.start_run(admin)
    rice_payout, weave_payout = sorted(run.payouts, key=lambda p: p.seller_id)
    payouts.mark_paid(admin, rice_payout, bank_reference="KTB-1", paid_on=levies.today())
    payouts.mark_failed(admin, weave_payout, reason="บัญชีปิด")
    db.session.commit()
    rice_item = next(i for i in delivered.items if i.product_id == rice.id)
    refund = order_refunds.refund(admin, delivered, [(rice_item.id, 2)], reason="ถุงแตก")
    db.session.commit()
    pending = place([(rice, 3)])
    unpaid = place([(rice, 1)], pay=False)
    remittance = ledger.record_remittance(
        treasurer.user,
        treasurer.fund,
        amount_satang=1000,
        remitted_on=levies.today(),
        bank_reference="FUND-1",
    )
    db.session.commit()
    return {
        "delivered": delivered,
        "rice_item": rice_item,
        "refund": refund,
        "pending": pending,
        "unpaid": unpaid,
        "remittance": remittance,
        "fund": treasurer.fund,
        "rice_payout": rice_payout,
        "weave_payout": weave_payout,
    }


def parcel(day, seller_id):
    """The delivered order's parcel of the seller."""
    return next(s for s in day["delivered"].shipments if s.seller_id == seller_id)


def count(what):
    return _db.session.scalar(select(func.count()).select_from(what))


def entry(key):
    return _db.session.scalar(select(JournalEntry).where(JournalEntry.key == key))


def problems():
    return ledger_verify.verify().problems


def test_the_day_is_clean_and_every_row_counted(db, day):
    report = ledger_verify.verify()

    assert report.problems == [] and report.ok
    chains = _db.session.scalar(select(func.count(func.distinct(JournalEntry.chain))))
    assert report.counts == {
        "entries": count(JournalEntry),
        "lines": count(JournalLine),
        "chains": chains,
        "accounts": count(Account),
        "paid_orders": 2,
        "levies": 3,  # the unpaid order's too (not in the ledger)
        "payouts": 2,
    }
    assert chains > 1 and report.waiting_orders == 0


def test_the_journal_is_walked_in_batches(db, day, monkeypatch):
    monkeypatch.setattr(ledger_verify, "BATCH", 3)
    report = ledger_verify.verify()
    assert report.ok, report.problems
    assert report.counts["entries"] == count(JournalEntry) > 6


def test_an_entry_that_does_not_balance_or_lost_its_lines(db, day):
    payment = entry(f"payment:{day['pending'].id}")
    release = entry(f"release:{day['delivered'].shipments[0].id}")
    tamper(
        "UPDATE journal_lines SET amount_satang = amount_satang + 7 WHERE id = "
        "(SELECT MIN(id) FROM journal_lines WHERE entry_id = :payment)",
        "DELETE FROM journal_lines WHERE entry_id = :release",
        payment=payment.id,
        release=release.id,
    )

    found = problems()

    assert f"entry {payment.id} ({payment.key}) does not balance: +7" in found
    assert f"entry {release.id} ({release.key}) has no lines" in found
    assert f"entry {payment.id} ({payment.key}): its hash does not match its content" in found


def test_an_entry_changed_after_it_was_posted(db, day):
    refund = entry(f"refund:{day['refund'].id}")
    tamper("UPDATE journal_entries SET memo = 'x' WHERE id = :id", id=refund.id)

    assert problems() == [f"entry {refund.id} ({refund.key}): its hash does not match its content"]


def test_a_chain_out_of_order_or_broken(db, day):
    chain = entry(f"payment:{day['pending'].id}").chain
    entries = _db.session.scalars(
        select(JournalEntry).where(JournalEntry.chain == chain).order_by(JournalEntry.seq)
    ).all()
    last, before = entries[-1], entries[-2]
    tamper(
        "UPDATE journal_entries SET seq = seq + 5 WHERE id = :last",
        "UPDATE journal_entries SET prev_hash = 'f00d' WHERE id = :before",
        last=last.id,
        before=before.id,
    )

    found = problems()

    n = len(entries)
    assert f"chain {chain}: entry {last.id} is number {n + 5}, expected {n}" in found
    assert f"chain {chain}: entry {before.id} does not follow its predecessor" in found
    assert f"chain {chain}: {n} entries but numbered up to {n + 5}" in found


def test_an_account_whose_balance_its_lines_do_not_explain(db, day):
    cash = ledger.cash()
    payable = ledger.fund_payable(day["fund"].id)
    held, lines_say = payable.balance_satang, cash.balance_satang
    tamper(
        "UPDATE ledger_accounts SET balance_satang = balance_satang + 5 WHERE id = :cash",
        "UPDATE journal_lines SET amount_satang = amount_satang + :more WHERE id = "
        "(SELECT MIN(id) FROM journal_lines WHERE account_id = :payable)",
        cash=cash.id,
        payable=payable.id,
        more=held + 1,
    )

    found = problems()

    assert f"account cash: balance {lines_say + 5} but its lines say {lines_say}" in found
    assert f"account {payable.code}: balance {held} but its lines say -1" in found
    assert f"account {payable.code} is negative" in found


def test_a_levy_posted_for_an_order_not_paid_or_for_another_amount(db, day):
    delivered, pending = day["delivered"], day["pending"]
    levy = pending.items[0].levies[0]
    tamper(
        "UPDATE orders SET paid_at = NULL WHERE id = :delivered",
        "UPDATE order_item_levies SET amount_satang = amount_satang + 1 WHERE id = :levy",
        delivered=delivered.id,
        levy=levy.id,
    )

    found = problems()

    delivered_levy = day["rice_item"].levies[0]
    assert (
        f"levy {delivered_levy.id} is in the ledger but its order {delivered.id} is not paid"
        in found
    )
    assert f"levy {levy.id}: posted 1200 but the order says 1201" in found


def test_a_levy_reversed_by_more_than_it_was_or_than_its_refunds_say(db, day):
    levy = day["rice_item"].levies[0]  # ฿40 accrued, ฿8 given back (2 bags of 10)
    refund_item = _db.session.scalar(
        select(RefundItem).where(RefundItem.order_item_id == day["rice_item"].id)
    )
    tamper("UPDATE refund_items SET quantity = 3 WHERE id = :id", id=refund_item.id)
    assert f"levy {levy.id}: reversed 800, but its refunds say 1200" in problems()

    tamper("UPDATE order_item_levies SET amount_satang = 700 WHERE id = :id", id=levy.id)
    found = problems()
    assert f"levy {levy.id}: reversed 800, more than the 700 posted" in found
    assert not any("but its refunds say" in p for p in found)


def test_a_refund_that_failed_but_is_in_the_ledger(db, day):
    refund = day["refund"]
    tamper("UPDATE refunds SET status = 'failed' WHERE id = :id", id=refund.id)
    assert f"refund {refund.id} is failed but in the ledger" in problems()


def test_money_that_moved_through_cash_for_another_amount(db, day):
    pending, refund, remittance = day["pending"], day["refund"], day["remittance"]
    total, back = pending.total_satang, refund.amount_satang
    tamper(
        "UPDATE orders SET total_satang = total_satang + 1, shipping_satang = shipping_satang + 1"
        " WHERE id = :order",
        "UPDATE refunds SET amount_satang = amount_satang + 2 WHERE id = :refund",
        "UPDATE remittances SET amount_satang = amount_satang + 3 WHERE id = :remittance",
        order=pending.id,
        refund=refund.id,
        remittance=remittance.id,
    )

    found = problems()

    assert f"order {pending.id}: the ledger moved {total} through cash, not {total + 1}" in found
    assert f"refund {refund.id}: the ledger moved {-back} through cash, not {-back - 2}" in found
    assert f"remittance {remittance.id}: the ledger moved -1000 through cash, not -1003" in found
    assert not any(p.endswith("is not in the ledger") for p in found)


def test_a_remittance_not_in_the_ledger(db, day):
    remittance = day["remittance"]
    tamper(
        "INSERT INTO remittances (fund_id, amount_satang, remitted_on, bank_reference, "
        "recorded_by_id, created_at) SELECT fund_id, 500, remitted_on, 'FUND-2', "
        "recorded_by_id, created_at FROM remittances WHERE id = :id",
        id=remittance.id,
    )
    other = _db.session.scalar(select(func.max(ledger.Remittance.id)))

    assert problems() == [f"remittance {other} is not in the ledger"]


def test_refunds_that_do_not_follow_one_another(db, day):
    item = day["rice_item"]
    refund_item = _db.session.scalar(select(RefundItem).where(RefundItem.order_item_id == item.id))
    tamper("UPDATE refund_items SET refunded_before = 1 WHERE id = :id", id=refund_item.id)
    assert (
        f"order item {item.id}: a refund says 1 units were refunded before it, "
        f"the earlier refunds say 0"
    ) in problems()

    tamper(
        "UPDATE refund_items SET refunded_before = 0 WHERE id = :id",
        "UPDATE order_items SET refunded_quantity = 3 WHERE id = :item",
        id=refund_item.id,
        item=item.id,
    )
    assert problems() == [f"order item {item.id}: refunds add up to 2 units; the item says 3 of 10"]


def test_monthly_levy_totals_that_disagree_with_the_days(db, day):
    tamper(
        "UPDATE fund_levy_months SET reversed_satang = reversed_satang + 1 "
        "WHERE dimension = 'seller'"
    )
    found = problems()
    assert len(found) == 1 and found[0].startswith(f"monthly levy totals for fund {day['fund'].id}")
    assert "say [5200, 801] but the journal says [5200, 800]" in found[0]
    tamper("DELETE FROM fund_levy_months WHERE dimension = 'product'")
    assert any(
        p.startswith(f"monthly levy totals for fund {day['fund'].id}")
        and p.endswith("say None but the journal says [5200, 800]")
        for p in problems()
    )


# Sellers' money (marketplace/payouts/verify.py)


def test_a_payout_the_ledger_never_reserved_or_reserved_for_another_amount(db, day):
    paid, failed = day["rice_payout"], day["weave_payout"]
    reserve, amount = entry(f"payout:{failed.id}:reserve"), paid.amount_satang
    tamper(
        "UPDATE payouts SET amount_satang = amount_satang - 1 WHERE id = :paid",
        "UPDATE journal_entries SET key = :key WHERE id = :reserve",
        paid=paid.id,
        reserve=reserve.id,
        key="payout:99999:reserve",
    )

    found = problems()

    assert f"payout {paid.id} is {amount - 1} but {amount} was reserved" in found
    assert f"payout {failed.id} was never reserved in the ledger" in found
    assert "entry payout:99999:reserve is for a payout that does not exist" in found


def test_a_paid_payout_that_cash_never_paid_and_a_failed_one_that_it_did(db, day):
    paid, failed = day["rice_payout"], day["weave_payout"]
    tamper(
        "UPDATE journal_entries SET key = 'payout:99998:paid' WHERE key = :key",
        key=f"payout:{paid.id}:paid",
    )
    failed.status, failed.bank_reference, failed.paid_on = "paid", "X", levies.today()
    _db.session.commit()

    found = problems()

    assert f"payout {paid.id} is paid but no cash left for it" in found
    assert f"payout {failed.id} is paid but its failure is in the ledger" in found
    assert f"payout {failed.id} is paid but no cash left for it" in found


def test_a_payout_cash_paid_while_it_says_it_waits(db, day):
    paid, failed = day["rice_payout"], day["weave_payout"]
    tamper(
        "UPDATE payouts SET status = 'pending', bank_reference = '', paid_on = NULL "
        "WHERE id IN (:paid, :failed)",
        paid=paid.id,
        failed=failed.id,
    )

    found = problems()

    assert f"payout {paid.id} is pending but cash paid it" in found
    assert f"payout {failed.id} is pending but its failure is in the ledger" in found
    in_payout = ledger.find_account(AccountKind.SELLER_IN_PAYOUT, seller_id=paid.seller_id)
    assert (
        f"account {in_payout.code} holds 0 but the payouts waiting are {paid.amount_satang}"
        in found
    )


def test_a_release_of_a_parcel_not_delivered_or_not_its_sellers(db, day):
    rice, weave = sorted(day["delivered"].shipments, key=lambda s: s.seller_id)
    tamper(
        "UPDATE shipments SET delivered_at = NULL WHERE id = :rice",
        "UPDATE journal_entries SET seller_id = :other WHERE key = :key",
        rice=rice.id,
        other=rice.seller_id,
        key=f"release:{weave.id}",
    )

    found = problems()

    # Both of the rice parcel's releases (its proceeds, then the refund's) are named.
    assert (
        found.count(f"shipment {rice.id}: its proceeds were released but it is not delivered") == 2
    )
    assert f"release release:{weave.id} names no shipment of its order and seller" in found


def test_a_release_before_the_parcel_arrived(db, day):
    rice = parcel(day, day["rice_payout"].seller_id)
    rice.delivered_at += timedelta(hours=1)
    _db.session.commit()
    assert f"shipment {rice.id}: its proceeds were released before it was delivered" in problems()


def test_a_fee_posted_for_another_amount_or_for_an_order_not_paid(db, day):
    rice_item, pending = day["rice_item"], day["pending"]
    basket_item = next(i for i in day["delivered"].items if i.id != rice_item.id)
    fee = basket_item.platform_fee_satang
    tamper(
        "UPDATE order_items SET platform_fee_satang = platform_fee_satang + 1 WHERE id = :item",
        "UPDATE orders SET paid_at = NULL WHERE id = :pending",
        item=basket_item.id,
        pending=pending.id,
    )

    found = problems()

    assert f"order item {basket_item.id}: its fee is {fee + 1} but {fee} was posted" in found
    pending_item = pending.items[0]
    assert f"order item {pending_item.id}: its fee is posted but it is not paid" in found


def _line(key, kind, seller_id):
    """The id and amount of the entry's line on the seller's account of ``kind``."""
    account = ledger.find_account(kind, seller_id=seller_id)
    return _db.session.execute(
        select(JournalLine.id, JournalLine.amount_satang)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalEntry.key == key, JournalLine.account_id == account.id)
    ).one()


def test_a_seller_left_money_while_it_owed_is_named_once(db, day):
    """One satang more released to the rice group than its parcel earned stays available
    after the payout; the refund after it then leaves the group holding 1 and owing."""
    seller_id = day["rice_payout"].seller_id
    shipment = parcel(day, seller_id)
    release, _amount = _line(f"release:{shipment.id}", AccountKind.SELLER_AVAILABLE, seller_id)
    # The refund takes back from pending, then moves what pending cannot cover to what the
    # group owes.
    owing = entry(f"release:{shipment.id}:refund:{day['refund'].id}")
    _receivable, owed = _line(owing.key, AccountKind.SELLER_RECEIVABLE, seller_id)
    later = entry(f"payment:{day['pending'].id}")
    tamper(
        "UPDATE journal_lines SET amount_satang = amount_satang - 1 WHERE id = :release",
        # A line of 0 on what the group owes, in a later entry: still both at once.
        "INSERT INTO journal_lines (entry_id, account_id, amount_satang) "
        "SELECT :later, account_id, 0 FROM journal_lines WHERE id = :receivable",
        release=release,
        later=later.id,
        receivable=_receivable,
    )

    found = [p for p in problems() if p.startswith(f"seller {seller_id} holds")]

    assert owed == 67450 and found == [
        f"seller {seller_id} holds 1 and owes {owed} at once (after entry {owing.id}): "
        f"what it owes was not settled first"
    ]


def test_a_seller_holding_one_satang_and_owing_one_after_the_last_entry(db, day):
    """The debt moved into the day's last entry (the remittance): the state is only wrong
    after it, and is named with it."""
    seller_id = day["rice_payout"].seller_id
    shipment = parcel(day, seller_id)
    release, _amount = _line(f"release:{shipment.id}", AccountKind.SELLER_AVAILABLE, seller_id)
    owing = entry(f"release:{shipment.id}:refund:{day['refund'].id}")
    receivable, _owed = _line(owing.key, AccountKind.SELLER_RECEIVABLE, seller_id)
    last = entry(f"remittance:{day['remittance'].id}")
    assert last.id == _db.session.scalar(select(func.max(JournalEntry.id)))
    tamper(
        "UPDATE journal_lines SET amount_satang = amount_satang - 1 WHERE id = :release",
        "UPDATE journal_lines SET amount_satang = 1, entry_id = :last WHERE id = :receivable",
        release=release,
        receivable=receivable,
        last=last.id,
    )

    assert (
        f"seller {seller_id} holds 1 and owes 1 at once (after entry {last.id}): "
        f"what it owes was not settled first"
    ) in problems()


def test_an_order_waiting_for_its_routing_is_no_problem_until_the_task_is_lost(
    db, day, monkeypatch
):
    monkeypatch.setattr("marketplace.outbox.dispatch.publish", lambda message: None)
    order = day["unpaid"]
    orders.confirm_transfer(AdminFactory(), order)
    _db.session.commit()

    waiting = ledger_verify.verify()

    assert waiting.ok and waiting.waiting_orders == 1
    routing = _db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.task == "tasks.levy.route_order", OutboxMessage.done_at.is_(None)
        )
    )
    assert routing.payload == {"order_id": order.id}
    _db.session.delete(routing)  # lost: no task, no row left to sweep
    _db.session.commit()
    found = problems()
    levy = order.items[0].levies[0]
    assert f"order {order.id} is paid but its payment is not in the ledger" in found
    assert f"levy {levy.id} of paid order {order.id} was never posted" in found


def test_a_refund_waiting_for_stripe_needs_a_way_to_finish(db, day, monkeypatch):
    monkeypatch.setattr("marketplace.outbox.dispatch.publish", lambda message: None)
    order_id = day["pending"].id
    lost = Refund(order_id=order_id, amount_satang=100, status=RefundStatus.PENDING)
    at_stripe = Refund(
        order_id=order_id, amount_satang=200, status=RefundStatus.PENDING, provider_refund_id="re_1"
    )
    to_send = Refund(order_id=order_id, amount_satang=300, status=RefundStatus.PENDING)
    refused = Refund(order_id=order_id, amount_satang=400, status=RefundStatus.FAILED)
    never_posted = Refund(order_id=order_id, amount_satang=500)  # done, not in the ledger
    _db.session.add_all([lost, at_stripe, to_send, refused, never_posted])
    _db.session.flush()
    outbox.enqueue("tasks.payments.send_refund", refund_id=to_send.id)
    _db.session.commit()

    assert problems() == [
        f"refund {lost.id} is pending and nothing sends it to Stripe",
        f"refund {never_posted.id} is not in the ledger",
    ]
    refund = day["refund"]
    tamper("UPDATE refunds SET status = 'pending' WHERE id = :id", id=refund.id)
    assert f"refund {refund.id} is pending but in the ledger" in problems()


def test_money_available_below_zero_or_left_pending_after_its_release(db, day):
    rice_id, weave_id = day["rice_payout"].seller_id, day["weave_payout"].seller_id
    rice, weave = parcel(day, rice_id), parcel(day, weave_id)
    weave_release = entry(f"release:{weave.id}")
    available, _amount = _line(weave_release.key, AccountKind.SELLER_AVAILABLE, weave_id)
    pending, _amount = _line(f"release:{rice.id}", AccountKind.SELLER_PAYABLE, rice_id)
    tamper(
        "UPDATE journal_lines SET amount_satang = 1 WHERE id = :available",
        "UPDATE journal_lines SET amount_satang = amount_satang - 1 WHERE id = :pending",
        available=available,
        pending=pending,
    )

    found = problems()

    code = ledger.find_account(AccountKind.SELLER_AVAILABLE, seller_id=weave_id).code
    assert f"account {code} went below zero at entry {weave_release.id}" in found
    assert f"shipment {rice.id} was released but 1 of it is still pending" in found


def test_levies_that_take_more_than_the_line_sold(db, day):
    item = day["rice_item"]
    shipment = parcel(day, day["rice_payout"].seller_id)
    proceeds = shipment.subtotal_satang + shipment.shipping_satang - 500_000 - 8750
    tamper(
        "UPDATE order_item_levies SET amount_satang = 500000 WHERE order_item_id = :item",
        item=item.id,
    )

    found = problems()

    assert (
        f"order item {item.id}: its levies 500000 and fee 8750 take more than its total 350000"
        in found
    )
    assert f"shipment {shipment.id}: its proceeds are negative ({proceeds})" in found


def test_every_levy_is_checked_past_one_never_posted(db, day):
    pending, unpaid = day["pending"], day["unpaid"]
    posted, other = pending.items[0].levies[0], unpaid.items[0].levies[0]
    assert posted.id < other.id
    # The pending order's accrual, filed under the unpaid order's levy.
    tamper(
        "UPDATE journal_entries SET key = :other WHERE key = :posted",
        posted=f"levy:{posted.id}:accrue",
        other=f"levy:{other.id}:accrue",
    )

    found = problems()

    assert f"levy {posted.id} of paid order {pending.id} was never posted" in found
    assert f"levy {other.id} is in the ledger but its order {unpaid.id} is not paid" in found


def test_a_levy_given_back_on_another_day_than_it_was_taken(db, day):
    """A day of reversals only (the refund on another day of the month) has daily totals of
    its own, with nothing accrued: verify reads it as 0, and finds the day's totals right."""
    reversal = entry(f"levy:{day['rice_item'].levies[0].id}:reverse:{day['refund'].id}")
    today = reversal.local_date
    other_day = today.replace(day=2 if today.day == 1 else 1)  # the same month's totals
    stored = _db.session.scalar(select(FundLevyDay).where(FundLevyDay.day == today))
    given_back = -reversal.levy_satang
    stored.reversed_satang -= given_back
    _db.session.add(
        FundLevyDay(
            fund_id=stored.fund_id,
            day=other_day,
            seller_id=stored.seller_id,
            product_id=stored.product_id,
            buyer_province_code=stored.buyer_province_code,
            reversed_satang=given_back,
            reversed_units=2,
        )
    )
    _db.session.commit()
    day_param = other_day if _db.engine.dialect.name == "postgresql" else other_day.isoformat()
    tamper(
        "UPDATE journal_entries SET local_date = :other_day WHERE id = :id",
        other_day=day_param,
        id=reversal.id,
    )

    assert given_back == 800 and problems() == [
        f"entry {reversal.id} ({reversal.key}): its hash does not match its content"
    ]


def test_daily_levy_totals_missing_or_with_no_levy_behind_them(db, day):
    stored = _db.session.scalar(select(FundLevyDay))
    other_day = stored.day.replace(day=2 if stored.day.day == 1 else 1)
    key = (stored.fund_id, stored.day, stored.seller_id, stored.product_id)
    dims = {
        "fund_id": stored.fund_id,
        "seller_id": stored.seller_id,
        "product_id": stored.product_id,
    }
    totals = [stored.accrued_satang, stored.reversed_satang]
    _db.session.delete(stored)
    _db.session.add_all(
        [
            FundLevyDay(day=other_day, buyer_province_code="10", accrued_satang=1, **dims),
            FundLevyDay(day=other_day, buyer_province_code="50", reversed_satang=1, **dims),
        ]
    )
    _db.session.commit()

    found = [p for p in problems() if p.startswith("daily levy totals")]

    fund_id, today, _seller, product_id = key
    assert sorted(found) == sorted(
        [
            f"daily levy totals for fund {fund_id} on {today} (product {product_id}) "
            f"say None but the journal says {totals}",
            f"daily levy totals for fund {fund_id} on {other_day} (product {product_id}) "
            f"say [1, 0] but the journal says None",
            f"daily levy totals for fund {fund_id} on {other_day} (product {product_id}) "
            f"say [0, 1] but the journal says None",
        ]
    )


def test_a_release_at_the_moment_of_delivery_with_no_hold(db, day):
    rice = parcel(day, day["rice_payout"].seller_id)
    rice.delivered_at = entry(f"release:{rice.id}").occurred_at
    _db.session.commit()

    assert ledger_verify.verify().ok


def test_a_release_that_recorded_no_hold_is_held_to_the_shortest_any_run_had(
    app, db, day, monkeypatch
):
    """The day's run recorded a hold of 0; the marketplace's is 7 days now. A release whose
    memo lost its hold is checked against the 0, as the shortest hold that was in force."""
    monkeypatch.setitem(app.config, "PAYOUT_HOLD_DAYS", 7)
    rice = parcel(day, day["rice_payout"].seller_id)
    release = entry(f"release:{rice.id}")
    tamper("UPDATE journal_entries SET memo = '' WHERE id = :id", id=release.id)

    assert problems() == [
        f"entry {release.id} ({release.key}): its hash does not match its content"
    ]


def test_a_payout_paid_in_two_cash_lines_is_paid_once_for_its_amount(db, day):
    paid = day["rice_payout"]
    key = f"payout:{paid.id}:paid"
    cash_line = _db.session.scalar(
        select(JournalLine.id)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalEntry.key == key, JournalLine.account_id == ledger.cash().id)
    )
    tamper(
        "UPDATE journal_lines SET amount_satang = amount_satang + 1 WHERE id = :line",
        "INSERT INTO journal_lines (entry_id, account_id, amount_satang) "
        "SELECT entry_id, account_id, -1 FROM journal_lines WHERE id = :line",
        line=cash_line,
    )
    payout_entry = entry(key)

    assert problems() == [f"entry {payout_entry.id} ({key}): its hash does not match its content"]


def test_a_seller_the_ledger_lost_and_a_failed_payout_waiting_again(db, day):
    """The weavers' lines gone from the journal: what their orders earned is still owed to
    them. Their failed payout says it waits again: "in payout" should hold it."""
    weave = day["weave_payout"]
    accounts = [
        ledger.find_account(kind, seller_id=weave.seller_id).id
        for kind in (
            AccountKind.SELLER_PAYABLE,
            AccountKind.SELLER_AVAILABLE,
            AccountKind.SELLER_IN_PAYOUT,
        )
    ]
    earned = next(
        s.subtotal_satang + s.shipping_satang
        for s in day["delivered"].shipments
        if s.seller_id == weave.seller_id
    )
    fee = next(i.platform_fee_satang for i in day["delivered"].items if i.id != day["rice_item"].id)
    tamper(
        "DELETE FROM journal_lines WHERE account_id IN (:payable, :available, :in_payout)",
        payable=accounts[0],
        available=accounts[1],
        in_payout=accounts[2],
    )
    weave.status, weave.failure_reason = "pending", ""
    _db.session.commit()

    found = problems()

    assert (
        f"seller {weave.seller_id}: the ledger owes 0, but its proceeds less refunds and "
        f"payouts are {earned - fee}"
    ) in found, found
    in_payout = ledger.find_account(AccountKind.SELLER_IN_PAYOUT, seller_id=weave.seller_id)
    assert (
        f"account {in_payout.code} holds 0 but the payouts waiting are {weave.amount_satang}"
    ) in found
