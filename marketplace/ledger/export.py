"""An offline copy of the ledger: ``flask ledger export`` and ``flask ledger verify --file``.

The export is JSON Lines, one JSON object a line, amounts in integer satang:

- a header: ``{"type": "header", "format": FORMAT, "version": 1, "exported_at", "fund_id",
  "chains": [{"chain", "entries", "head_hash"}]}`` (``fund_id`` is null for the whole ledger);
- every entry, chain after chain in the header's order and by ``seq`` within a chain:
  ``{"type": "entry", "id", <the hashed fields>, "prev_hash", "hash",
  "lines": [{"account_id", "account", "amount_satang"}]}``;
- an end line, ``{"type": "end", "entries", "lines"}``, so a file cut short is noticed.

Checking a file reads nothing else. It recomputes each hash with the ledger's own
``entry_hash``, which finds any change to an entry's content; the chains (``seq`` and
``prev_hash``), the header's counts and head hashes and the end line find entries deleted,
added or moved. The hash covers account ids, not codes: a code must name one account
throughout the file, and fund accounts must belong to the entry's chain.
"""

import json
import re
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.dbtypes import utcnow
from marketplace.extensions import db
from marketplace.funds.models import Fund
from marketplace.ledger.models import Account, EntryKind, JournalEntry, JournalLine
from marketplace.ledger.services import MAIN_CHAIN, entry_hash, hashed_fields
from marketplace.ledger.verify import BATCH, Report

FORMAT = "talat-chumchon-ledger-export"
VERSION = 1
KINDS = {kind.value for kind in EntryKind}
FUND_ACCOUNT = re.compile(r"fund(?:-receivable)?:(\d+)")


class ExportError(Exception):
    """Not a readable export (bad JSON, a missing field, a wrong type, cut short), or no such
    fund to export."""


# Writing


def export(write, fund_id=None):
    """Write the ledger, or one fund's chain, with ``write(text)``; return the counts.

    Reads in a session of its own, BATCH entries at a time. Each chain is read up to the
    head it had when the export began: entries posted meanwhile wait for the next export.
    """
    counts = {"entries": 0, "lines": 0}
    with Session(db.engine) as session:
        if fund_id is not None and session.get(Fund, fund_id) is None:
            raise ExportError(f"there is no fund {fund_id}")
        heads = _chain_heads(session, fund_id)
        _write(write, _header(heads, fund_id))
        for chain, _count, top, _hash in heads:
            for entry in _chain_entries(session, chain, top):
                _write(write, entry)
                counts["entries"] += 1
                counts["lines"] += len(entry["lines"])
    _write(write, {"type": "end", **counts})
    counts["chains"] = len(heads)
    return counts


def _write(write, obj):
    # ASCII-only JSON (Thai memos escaped): safe on any terminal, read back exactly.
    write(json.dumps(obj, separators=(",", ":")) + "\n")


def _header(heads, fund_id):
    return {
        "type": "header",
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utcnow().isoformat(),
        "fund_id": fund_id,
        "chains": [
            {"chain": chain, "entries": count, "head_hash": head_hash}
            for chain, count, _top, head_hash in heads
        ],
    }


def _chain_heads(session, fund_id):
    """``(chain, entries, last seq, last hash)`` of each chain (of the fund's alone)."""
    query = (
        select(JournalEntry.chain, func.count(), func.max(JournalEntry.seq))
        .group_by(JournalEntry.chain)
        .order_by(JournalEntry.chain)
    )
    if fund_id is not None:
        query = query.where(JournalEntry.chain == f"fund:{fund_id}")
    heads = []
    for chain, count, top in session.execute(query).all():
        head_hash = session.scalar(
            select(JournalEntry.hash).where(JournalEntry.chain == chain, JournalEntry.seq == top)
        )
        heads.append((chain, count, top, head_hash))
    if fund_id is not None and not heads:  # a fund with nothing posted yet
        heads.append((f"fund:{fund_id}", 0, 0, ""))
    return heads


def _chain_entries(session, chain, top):
    """The chain's entries up to ``seq`` ``top``, as export lines, BATCH at a time."""
    last_seq = 0
    while last_seq < top:
        entries = session.scalars(
            select(JournalEntry)
            .where(
                JournalEntry.chain == chain, JournalEntry.seq > last_seq, JournalEntry.seq <= top
            )
            .order_by(JournalEntry.seq)
            .limit(BATCH)
        ).all()
        if not entries:
            break
        lines = _lines_of(session, [entry.id for entry in entries])
        for entry in entries:
            yield {
                "type": "entry",
                "id": entry.id,
                **hashed_fields(entry),
                "prev_hash": entry.prev_hash,
                "hash": entry.hash,
                "lines": lines[entry.id],
            }
        last_seq = entries[-1].seq
        session.expunge_all()


def _lines_of(session, entry_ids):
    lines = defaultdict(list)
    for entry_id, account_id, code, amount in session.execute(
        select(
            JournalLine.entry_id, JournalLine.account_id, Account.code, JournalLine.amount_satang
        )
        .join(Account, Account.id == JournalLine.account_id)
        .where(JournalLine.entry_id.in_(entry_ids))
        .order_by(JournalLine.id)
    ):
        lines[entry_id].append({"account_id": account_id, "account": code, "amount_satang": amount})
    return lines


# Reading: the fields each kind of line must have, and their JSON types

INT, STR, LIST = (int,), (str,), (list,)
INT_OR_NULL, STR_OR_NULL = (int, type(None)), (str, type(None))
HEADER_FIELDS = {
    "format": STR,
    "version": INT,
    "exported_at": STR,
    "fund_id": INT_OR_NULL,
    "chains": LIST,
}
CHAIN_FIELDS = {"chain": STR, "entries": INT, "head_hash": STR}
ENTRY_FIELDS = {
    "id": INT,
    "key": STR,
    "kind": STR,
    "memo": STR,
    "chain": STR,
    "seq": INT,
    "occurred_at": STR,
    "local_date": STR,
    "order_id": INT_OR_NULL,
    "order_item_id": INT_OR_NULL,
    "order_item_levy_id": INT_OR_NULL,
    "refund_id": INT_OR_NULL,
    "remittance_id": INT_OR_NULL,
    "fund_id": INT_OR_NULL,
    "seller_id": INT_OR_NULL,
    "product_id": INT_OR_NULL,
    "buyer_province_code": STR_OR_NULL,
    "levy_satang": INT,
    "units": INT,
    "prev_hash": STR,
    "hash": STR,
    "lines": LIST,
}
LINE_FIELDS = {"account_id": INT, "account": STR, "amount_satang": INT}
END_FIELDS = {"entries": INT, "lines": INT}
TYPE_NAMES = {
    int: "an integer",
    str: "a string",
    list: "a list",
    dict: "an object",
    float: "a decimal number",
    bool: "true or false",
    type(None): "null",
}


def verify_file(path):
    """Check an export, reading nothing but the file: a Report, or ExportError if unreadable."""
    checker = None
    for number, obj in _objects(path):
        kind = obj.get("type")
        if checker is None:
            checker = _Checker(_valid_header(obj, number))
        elif checker.ended:
            raise ExportError(f"line {number}: there is more after the end line")
        elif kind == "entry":
            checker.entry(_valid_entry(obj, number))
        elif kind == "end":
            checker.end(_valid(obj, END_FIELDS, f"line {number} (the end line)"))
        else:
            raise ExportError(f"line {number}: unknown line type {kind!r}")
    if checker is None:
        raise ExportError("the file is empty: no header line")
    if not checker.ended:
        raise ExportError("the file has no end line: it was cut short")
    checker.finish()
    return checker.report


def _objects(path):
    """``(line number, JSON object)`` for each non-blank line of the file."""
    try:
        with open(path, encoding="utf-8") as lines:
            for number, text in enumerate(lines, start=1):
                if text.strip():
                    yield number, _parse(text, number)
    except UnicodeDecodeError:
        raise ExportError("the file is not UTF-8 text") from None
    except OSError as error:
        raise ExportError(f"cannot read the file: {error.strerror}") from None


def _parse(text, number):
    try:
        obj = json.loads(text)
    except ValueError as error:
        raise ExportError(f"line {number}: not valid JSON ({error})") from None
    except RecursionError:
        raise ExportError(f"line {number}: JSON nested too deeply") from None
    if not isinstance(obj, dict):
        raise ExportError(f"line {number}: expected a JSON object, found {_type_name(obj)}")
    return obj


def _valid(obj, fields, where):
    """``obj``, once every field is there with one of its JSON types (true is no integer)."""
    for name, types in fields.items():
        if name not in obj:
            raise ExportError(f"{where}: the field {name!r} is missing")
        if type(obj[name]) not in types:
            wanted = " or ".join(TYPE_NAMES[t] for t in types)
            raise ExportError(f"{where}: {name!r} must be {wanted}, not {_type_name(obj[name])}")
    return obj


def _type_name(value):
    return TYPE_NAMES.get(type(value), type(value).__name__)


def _valid_header(obj, number):
    where = f"line {number} (the header)"
    if obj.get("type") != "header" or obj.get("format") != FORMAT:
        raise ExportError(f"{where}: not a ledger export (format {FORMAT!r} expected)")
    _valid(obj, HEADER_FIELDS, where)
    if obj["version"] != VERSION:
        raise ExportError(f"{where}: unknown export version {obj['version']} (known: {VERSION})")
    for chain in obj["chains"]:
        if not isinstance(chain, dict):
            raise ExportError(f"{where}: each of 'chains' must be an object")
        _valid(chain, CHAIN_FIELDS, where)
    names = [chain["chain"] for chain in obj["chains"]]
    if len(set(names)) != len(names):
        raise ExportError(f"{where}: a chain is listed twice")
    if obj["fund_id"] is not None and names != [f"fund:{obj['fund_id']}"]:
        raise ExportError(f"{where}: an export of fund {obj['fund_id']} lists chains {names}")
    return obj


def _valid_entry(obj, number):
    key = obj.get("key")
    where = f"line {number}" + (f" (entry {key})" if isinstance(key, str) else "")
    _valid(obj, ENTRY_FIELDS, where)
    for line in obj["lines"]:
        if not isinstance(line, dict):
            raise ExportError(f"{where}: each of 'lines' must be an object")
        _valid(line, LINE_FIELDS, where)
    return obj


class _Checker:
    """One file's check as it is read: what each chain and account has shown so far."""

    def __init__(self, header):
        self.report = Report(counts={"entries": 0, "lines": 0, "chains": len(header["chains"])})
        self.heads = {chain["chain"]: chain for chain in header["chains"]}
        self.positions = {chain: place for place, chain in enumerate(self.heads)}
        self.position = 0  # the header's place of the chain being read
        self.previous = {}  # chain -> (seq, hash, id) of its last entry read
        self.read = defaultdict(int)  # chain -> entries read
        self.codes = {}  # account id -> code
        self.ids = {}  # code -> account id
        self.clashes = set()  # (account id, code) pairs already reported
        self.ended = False

    def entry(self, entry):
        self.report.counts["entries"] += 1
        self.report.counts["lines"] += len(entry["lines"])
        name = f"entry {entry['id']} ({entry['key']})"
        self._content(entry, name)
        self._accounts(entry, name)
        self._place(entry, name)

    def _content(self, entry, name):
        """Balanced, a known kind, and the hash the ledger's own function gives."""
        total = sum(line["amount_satang"] for line in entry["lines"])
        if not entry["lines"]:
            self.report.problem(f"{name} has no lines")
        elif total != 0:
            self.report.problem(f"{name} does not balance: {total:+d}")
        if entry["kind"] not in KINDS:
            self.report.problem(f"{name}: unknown kind {entry['kind']!r}")
        if entry_hash(entry, entry["lines"]) != entry["hash"]:
            self.report.problem(f"{name}: its hash does not match its content")

    def _accounts(self, entry, name):
        """Each code names one account throughout; fund accounts belong to the entry's chain."""
        funds = set()
        for line in entry["lines"]:
            account_id, code = line["account_id"], line["account"]
            seen_code = self.codes.setdefault(account_id, code)
            seen_id = self.ids.setdefault(code, account_id)
            if (seen_code, seen_id) != (code, account_id) and (
                account_id,
                code,
            ) not in self.clashes:
                self.clashes.add((account_id, code))  # once, not on every later line
                before = (
                    f"it was {seen_code!r}"
                    if seen_code != code
                    else f"{code!r} was account {seen_id}"
                )
                self.report.problem(
                    f"{name}: account {account_id} is {code!r} here, but earlier {before}"
                )
            if match := FUND_ACCOUNT.fullmatch(code):
                funds.add(f"fund:{match[1]}")
        if len(funds) > 1:
            self.report.problem(f"{name} touches more than one fund's accounts")
        elif (owner := funds.pop() if funds else MAIN_CHAIN) != entry["chain"]:
            self.report.problem(
                f"{name} is in chain {entry['chain']}, but its accounts belong to {owner}"
            )

    def _place(self, entry, name):
        """Its chain is listed and read in turn; seq, prev_hash and id follow the entry before."""
        chain = entry["chain"]
        if chain not in self.heads:
            self.report.problem(f"{name} is in chain {chain}, which the header does not list")
        elif self.positions[chain] < self.position:
            self.report.problem(f"chain {chain}: {name} comes after the next chain's entries")
        else:
            self.position = self.positions[chain]
        self.read[chain] += 1
        seq, prev_hash, last_id = self.previous.get(chain, (0, "", 0))
        if entry["seq"] != seq + 1:
            self.report.problem(
                f"chain {chain}: {name} is number {entry['seq']}, expected {seq + 1}"
            )
        if entry["prev_hash"] != prev_hash:
            self.report.problem(f"chain {chain}: {name} does not follow its predecessor")
        if entry["id"] <= last_id:
            self.report.problem(f"chain {chain}: {name} has an id below its predecessor's")
        self.previous[chain] = (entry["seq"], entry["hash"], entry["id"])

    def end(self, end):
        self.ended = True
        counts = self.report.counts
        if (end["entries"], end["lines"]) != (counts["entries"], counts["lines"]):
            self.report.problem(
                f"the end line counts {end['entries']} entries and {end['lines']} lines, "
                f"the file holds {counts['entries']} and {counts['lines']}"
            )

    def finish(self):
        """Every chain ends where the header says: no entry missing at its end."""
        # What to compare with the live ledger: a copy rewritten with every hash recomputed
        # checks out on its own, but its heads are not the ledger's.
        self.report.heads = [
            (chain, head["entries"], head["head_hash"]) for chain, head in self.heads.items()
        ]
        for chain, head in self.heads.items():
            if self.read[chain] != head["entries"]:
                self.report.problem(
                    f"chain {chain}: the header counts {head['entries']} entries, "
                    f"the file holds {self.read[chain]}"
                )
            last_hash = self.previous.get(chain, (0, "", 0))[1]
            if last_hash != head["head_hash"]:
                self.report.problem(
                    f"chain {chain}: its last entry is not the head the header names"
                )
