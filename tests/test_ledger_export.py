"""The ledger's offline copy: ``flask ledger export`` and ``flask ledger verify --file``."""

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from marketplace.ledger import export
from marketplace.ledger import services as ledger
from marketplace.ledger.models import AccountKind, EntryKind, JournalEntry, JournalLine
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as orders
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
def business(db):
    """Two funds' levies on paid orders, a partial refund and a remittance, all posted."""
    member = SellerMemberFactory()
    treasurer, other = FundTreasurerFactory(), FundTreasurerFactory()
    rice = ProductFactory(seller=member.seller, price_satang=35000, stock=500)
    honey = ProductFactory(seller=member.seller, price_satang=12000, stock=500)
    agreed_levy(member, treasurer, rice, rate=400)
    agreed_levy(member, other, honey, kind="percent", rate=250)
    admin, buyer = AdminFactory(), UserFactory()
    db.session.commit()
    paid = []
    for items in ([(rice.id, 10)], [(rice.id, 3), (honey.id, 2)], [(honey.id, 1)], [(honey.id, 5)]):
        order = orders.place_order(buyer, items, address=ADDRESS)
        orders.confirm_transfer(admin, order)
        db.session.commit()
        paid.append(order)
    order_refunds.refund(admin, paid[0], [(paid[0].items[0].id, 4)])
    db.session.commit()
    ledger.record_remittance(
        treasurer.user,
        treasurer.fund,
        amount_satang=1000,
        remitted_on=date(2026, 1, 1),
        bank_reference="r",
    )
    db.session.commit()
    return {"fund": treasurer.fund, "other": other.fund}


def run(app, *args):
    result = app.test_cli_runner().invoke(args=["ledger", *args])
    # Whatever happens, a clean exit: never a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def export_to(app, tmp_path, *args):
    path = tmp_path / "ledger.jsonl"
    result = run(app, "export", "-o", str(path), *args)
    assert result.exit_code == 0, result.output
    return path


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def write(path, objects):
    path.write_text("".join(json.dumps(obj) + "\n" for obj in objects))


def test_each_kind_of_account_has_the_code_exports_and_restores_name_it_by(db):
    """An export names each line's account by its code, and a restored or imported ledger
    is read back by it: the codes are part of the ledger's format and never change."""
    seller = SellerMemberFactory().seller
    fund = FundTreasurerFactory().fund
    db.session.flush()
    expected = {
        AccountKind.CASH: "cash",
        AccountKind.PLATFORM_REVENUE: "platform-revenue",
        AccountKind.SELLER_PAYABLE: f"seller:{seller.id}",
        AccountKind.SELLER_AVAILABLE: f"seller-available:{seller.id}",
        AccountKind.SELLER_IN_PAYOUT: f"seller-payout:{seller.id}",
        AccountKind.SELLER_RECEIVABLE: f"seller-receivable:{seller.id}",
        AccountKind.FUND_PAYABLE: f"fund:{fund.id}",
        AccountKind.FUND_RECEIVABLE: f"fund-receivable:{fund.id}",
    }
    assert set(expected) == set(AccountKind)
    for kind, code in expected.items():
        names = {"seller_id": seller.id} if code.startswith("seller") else {}
        names |= {"fund_id": fund.id} if code.startswith("fund") else {}
        found = ledger.account(kind, **names)
        assert (found.code, found.kind) == (code, kind)
        assert ledger.find_account(kind, **names).id == found.id


def test_export_then_verify_the_file(app, db, business, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "BATCH", 2)  # several batches per chain

    path = export_to(app, tmp_path)
    result = run(app, "verify", "--file", str(path))

    assert result.exit_code == 0, result.output
    assert "export OK" in result.output
    header, *entries, end = read(path)
    assert (header["format"], header["version"], header["fund_id"]) == (export.FORMAT, 1, None)
    total = db.session.scalar(select(func.count()).select_from(JournalEntry))
    lines = db.session.scalar(select(func.count()).select_from(JournalLine))
    assert end == {"type": "end", "entries": total, "lines": lines} and len(entries) == total
    assert f"checked {total} entries, {lines} lines, 3 chains" in result.output
    kinds = {entry["kind"] for entry in entries}
    assert kinds == {"payment", "levy", "levy_reversal", "refund", "remittance"}
    amounts = [line["amount_satang"] for entry in entries for line in entry["lines"]]
    assert all(type(amount) is int for amount in amounts)
    for chain in header["chains"]:
        mine = [entry for entry in entries if entry["chain"] == chain["chain"]]
        assert [entry["seq"] for entry in mine] == list(range(1, chain["entries"] + 1))
        assert mine[-1]["hash"] == chain["head_hash"]
        # The heads, printed to compare with the live ledger's.
        live = db.session.scalar(
            select(JournalEntry.hash)
            .where(JournalEntry.chain == chain["chain"])
            .order_by(JournalEntry.seq.desc())
            .limit(1)
        )
        assert f"chain {chain['chain']}: {chain['entries']} entries, head {live}" in result.output
    # The database check is still its own command, unchanged.
    assert "ledger OK" in run(app, "verify").output


def test_export_into_a_folder_that_is_not_there_is_a_clean_error(app, db, business, tmp_path):
    result = run(app, "export", "-o", str(tmp_path / "no-such-folder" / "ledger.jsonl"))

    assert result.exit_code == 1 and "cannot write" in result.output
    assert not (tmp_path / "no-such-folder").exists()


def test_export_to_standard_output(app, db, business, tmp_path):
    result = run(app, "export")

    assert result.exit_code == 0
    assert (
        result.stderr.startswith("exported 12 entries") and "standard output" not in result.stdout
    )
    path = tmp_path / "stdout.jsonl"
    path.write_text(result.stdout)
    assert "export OK" in run(app, "verify", "--file", str(path)).output
    assert read(path)[1:] == read(export_to(app, tmp_path))[1:]


def test_a_treasurers_copy_of_one_fund(app, db, business, tmp_path):
    fund_id = business["fund"].id

    path = export_to(app, tmp_path, "--fund", str(fund_id))
    result = run(app, "verify", "--file", str(path))

    assert result.exit_code == 0, result.output
    header, *entries, _end = read(path)
    assert [chain["chain"] for chain in header["chains"]] == [f"fund:{fund_id}"]
    assert {entry["chain"] for entry in entries} == {f"fund:{fund_id}"}
    assert {entry["kind"] for entry in entries} == {"levy", "levy_reversal", "remittance"}
    assert [entry["seq"] for entry in entries] == list(range(1, len(entries) + 1))


def test_exporting_a_fund_that_does_not_exist_writes_nothing(app, db, tmp_path):
    path = tmp_path / "nothing.jsonl"

    result = run(app, "export", "-o", str(path), "--fund", "999999")

    assert result.exit_code == 1 and "there is no fund 999999" in result.output
    assert not path.exists()


def test_an_empty_ledger_exports_and_verifies(app, db, tmp_path):
    fund = FundTreasurerFactory().fund
    db.session.commit()

    whole = export_to(app, tmp_path)
    result = run(app, "verify", "--file", str(whole))
    assert result.exit_code == 0 and "checked 0 entries, 0 lines, 0 chains" in result.output
    assert "export OK" in result.output

    one = tmp_path / "fund.jsonl"
    assert run(app, "export", "-o", str(one), "--fund", str(fund.id)).exit_code == 0
    assert run(app, "verify", "--file", str(one)).exit_code == 0


def test_the_export_carries_every_hashed_field():
    assert set(ledger.HASHED_FIELDS) | {"occurred_at"} <= set(export.ENTRY_FIELDS)


#: One levy entry, as the ledger holds it (an export holds the same as plain values).
WORKED_ENTRY = {
    "prev_hash": "9f" * 32,
    "key": "levy:7:3",
    "kind": EntryKind.LEVY,
    "memo": "ข้าวหอมมะลิ",
    "chain": "fund:2",
    "seq": 5,
    "local_date": date(2026, 1, 31),
    "order_id": 7,
    "order_item_id": 9,
    "order_item_levy_id": 3,
    "refund_id": None,
    "remittance_id": None,
    "fund_id": 2,
    "seller_id": 4,
    "product_id": 11,
    "buyer_province_code": "83",
    "levy_satang": 1200,
    "units": 3,
    "occurred_at": datetime(2026, 1, 31, 5, 0, tzinfo=UTC),
}
WORKED_LINES = [
    {"account_id": 12, "amount_satang": -1200},
    {"account_id": 5, "amount_satang": 1200},
]
#: Its hash. Every chain already written depends on how entries are hashed: a change here
#: would make `flask ledger verify` reject every ledger (and export) written before it.
WORKED_HASH = "db546f3d0b7b3a4bc4c59895cd069990bbbaf42c0e99bad97bbd03b555acc44e"


def test_how_an_entry_is_hashed_never_changes():
    assert ledger.entry_hash(WORKED_ENTRY, WORKED_LINES) == WORKED_HASH
    # Read back from an export: plain strings and numbers hash the same.
    plain = {
        **WORKED_ENTRY,
        "kind": "levy",
        "local_date": "2026-01-31",
        "occurred_at": "2026-01-31T05:00:00+00:00",
    }
    assert ledger.entry_hash(plain, list(reversed(WORKED_LINES))) == WORKED_HASH
    # Every hashed field, the previous hash and each line count.
    for name in (*ledger.HASHED_FIELDS, "occurred_at", "prev_hash"):
        changed = {**plain, name: "changed"}
        assert ledger.entry_hash(changed, WORKED_LINES) != WORKED_HASH, name
    for line, name in ((0, "account_id"), (1, "amount_satang")):
        lines = [dict(each) for each in WORKED_LINES]
        lines[line][name] += 1
        assert ledger.entry_hash(WORKED_ENTRY, lines) != WORKED_HASH, name


# Tampering: each edit below must fail the check with its message, naming the entry (or,
# for an entry gone from a chain's end, the chain). Each returns ``(message, name)``.


def named(entry):
    return f"({entry['key']})"


def amount(objects, i):
    objects[i]["lines"][0]["amount_satang"] += 1
    return "does not balance", named(objects[i])


def amount_rebalanced(objects, i):
    objects[i]["lines"][0]["amount_satang"] += 100
    objects[i]["lines"][1]["amount_satang"] -= 100
    return "its hash does not match", named(objects[i])


def account_id(objects, i):
    objects[i]["lines"][0]["account_id"] = objects[i]["lines"][1]["account_id"]
    return "its hash does not match", named(objects[i])


def account_code(objects, i):
    objects[i]["lines"][0]["account"] = "cash"
    return "is 'cash' here, but earlier", named(objects[i])


def kind(objects, i):
    objects[i]["kind"] = "payment"
    return "its hash does not match", named(objects[i])


def local_date(objects, i):
    objects[i]["local_date"] = "2025-12-31"
    return "its hash does not match", named(objects[i])


def occurred_at(objects, i):
    objects[i]["occurred_at"] = "2025" + objects[i]["occurred_at"][4:]
    return "its hash does not match", named(objects[i])


def key(objects, i):
    objects[i]["key"] += "-2"
    return "its hash does not match", named(objects[i])


def memo(objects, i):
    objects[i]["memo"] = "changed"
    return "its hash does not match", named(objects[i])


def levy_amount(objects, i):
    objects[i]["levy_satang"] += 1
    return "its hash does not match", named(objects[i])


def stored_hash(objects, i):
    objects[i]["hash"] = "0" * 64
    return "its hash does not match", named(objects[i])


def prev_hash(objects, i):
    objects[i]["prev_hash"] = "0" * 64
    return "does not follow its predecessor", named(objects[i])


def seq(objects, i):
    objects[i]["seq"] = 3
    return "is number 3, expected 2", named(objects[i])


def chain(objects, i):
    objects[i]["chain"] = "main"
    return "is in chain main, but its accounts belong to fund:", named(objects[i])


def deleted(objects, i):
    del objects[i]
    return "is number 3, expected 2", named(objects[i])  # the entry now in its place


def reordered(objects, i):
    objects[i], objects[i + 1] = objects[i + 1], objects[i]
    return "is number 3, expected 2", named(objects[i])


def added(objects, i):
    objects.insert(i, dict(objects[i]))
    return "is number 2, expected 3", named(objects[i])


def moved_after_the_other_chains(objects, i):
    objects.insert(-1, objects.pop(i))  # just before the end line
    return "comes after the next chain's entries", named(objects[-2])


def last_deleted_and_end_line_fixed(objects, i):
    last = max(j for j, obj in enumerate(objects) if obj.get("chain") == objects[i]["chain"])
    removed = objects.pop(last)
    objects[-1]["entries"] -= 1
    objects[-1]["lines"] -= len(removed["lines"])
    return "the header counts", f"chain {removed['chain']}:"


@pytest.mark.parametrize(
    "tamper",
    [
        amount,
        amount_rebalanced,
        account_id,
        account_code,
        kind,
        local_date,
        occurred_at,
        key,
        memo,
        levy_amount,
        stored_hash,
        prev_hash,
        seq,
        chain,
        deleted,
        reordered,
        added,
        moved_after_the_other_chains,
        last_deleted_and_end_line_fixed,
    ],
)
def test_tampering_is_caught(app, db, business, tmp_path, tamper):
    path = export_to(app, tmp_path)
    objects = read(path)
    # The second entry of the first chain (a fund's, of at least 3 entries).
    assert objects[0]["chains"][0]["chain"].startswith("fund:")
    target = next(i for i, obj in enumerate(objects) if obj.get("seq") == 2)
    message, name = tamper(objects, target)
    write(path, objects)

    result = run(app, "verify", "--file", str(path))

    assert result.exit_code == 1, result.output
    assert "export OK" not in result.output
    problems = [line for line in result.output.splitlines() if line.startswith("DISCREPANCY")]
    assert any(message in line and name in line for line in problems), result.output


# Files that are not an export at all: a clear error, exit 2.


def _lines(path):
    return path.read_text().splitlines(keepends=True)


def _entry_field(name, value):
    def edit(path):
        objects = read(path)
        objects[1][name] = value
        write(path, objects)

    return edit


def _line_field(name, value):
    def edit(path):
        objects = read(path)
        objects[1]["lines"][0][name] = value
        write(path, objects)

    return edit


def _missing(name):
    def edit(path):
        objects = read(path)
        del objects[1][name]
        write(path, objects)

    return edit


def _header(name, value):
    def edit(path):
        objects = read(path)
        objects[0][name] = value
        write(path, objects)

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda path: path.write_text(""), "the file is empty"),
        (lambda path: path.write_text("hello\n"), "line 1: not valid JSON"),
        (lambda path: path.write_text("[1, 2]\n"), "expected a JSON object"),
        (lambda path: path.write_bytes(b"\xff\xfe\x00"), "not UTF-8"),
        (lambda path: path.write_text("".join(_lines(path)[:3])), "cut short"),
        (lambda path: path.write_text(path.read_text()[:-100]), "not valid JSON"),
        (lambda path: path.write_text(path.read_text() + "{}\n"), "more after the end line"),
        (_header("format", "something-else"), "not a ledger export"),
        (_header("version", 99), "unknown export version 99"),
        (_header("chains", "main"), "'chains' must be a list"),
        (_missing("hash"), "the field 'hash' is missing"),
        (_missing("lines"), "the field 'lines' is missing"),
        (_entry_field("seq", "2"), "'seq' must be an integer, not a string"),
        (_entry_field("lines", [1]), "each of 'lines' must be an object"),
        (_line_field("amount_satang", 100.0), "must be an integer, not a decimal number"),
        (_line_field("amount_satang", True), "must be an integer, not true or false"),
        (_line_field("amount_satang", "100"), "must be an integer, not a string"),
        (_entry_field("type", "surprise"), "unknown line type 'surprise'"),
    ],
)
def test_a_malformed_file_is_a_clean_error(app, db, business, tmp_path, edit, message):
    path = export_to(app, tmp_path)
    edit(path)

    result = run(app, "verify", "--file", str(path))

    assert result.exit_code == 2, result.output
    assert "Error:" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_a_missing_file_is_a_usage_error(app, tmp_path):
    result = run(app, "verify", "--file", str(tmp_path / "nowhere.jsonl"))

    assert result.exit_code == 2 and "does not exist" in result.output
