"""What treasurers read: levies accrued, reversed and remitted, from the ledger alone.

Totals come from the per-day levy table the ledger keeps with each posting, so a month's
report costs the same however long the journal grows; drill-down reads the journal entries
of the period through their (fund, day) index.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from marketplace.downloads import csv_text
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.geo.models import Province
from marketplace.ledger.models import (
    Account,
    AccountKind,
    EntryKind,
    FundLevyDay,
    FundLevyMonth,
    JournalEntry,
    LevyDimension,
    Remittance,
)
from marketplace.levies.services import today
from marketplace.money import baht_text
from marketplace.orders.models import Order, OrderItem
from marketplace.sellers.models import Seller

#: The longest period one report covers, and the years a report may ask about.
MAX_DAYS = 366 * 5
FIRST_YEAR, LAST_YEAR = 2000, 2200
#: Order items per drill-down page.
ITEMS_PER_PAGE = 200


def period(start=None, end=None, default_today=None):
    """``(start, end)`` of a report, both days inclusive: from the 1st of the current month
    and to today when not given; a DomainError when the period is not one to report on."""
    now = default_today or today()
    start = start or now.replace(day=1)
    end = end or now
    if not (FIRST_YEAR <= start.year <= LAST_YEAR and FIRST_YEAR <= end.year <= LAST_YEAR):
        raise DomainError(
            _l("Choose dates between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR),
            field="from",
        )
    if end < start:
        raise DomainError(_l("The period ends before it starts."), field="to")
    if (end - start).days > MAX_DAYS:
        raise DomainError(_l("Choose a period of at most five years."), field="to")
    return start, end


@dataclass
class Row:
    key: object
    label: str
    accrued_satang: int = 0
    reversed_satang: int = 0
    units: int = 0

    @property
    def net_satang(self):
        return self.accrued_satang - self.reversed_satang


@dataclass
class LevyReport:
    fund_id: int
    start: date
    end: date
    accrued_satang: int = 0
    reversed_satang: int = 0
    remitted_satang: int = 0
    balance_satang: int = 0
    by_product: list = field(default_factory=list)
    by_seller: list = field(default_factory=list)
    by_buyer_province: list = field(default_factory=list)

    @property
    def net_satang(self):
        return self.accrued_satang - self.reversed_satang

    def as_dict(self):
        def rows(items, key_name):
            return [
                {
                    key_name: row.key,
                    "name": row.label,
                    "accrued_satang": row.accrued_satang,
                    "reversed_satang": row.reversed_satang,
                    "net_satang": row.net_satang,
                }
                for row in items
            ]

        return {
            "fund_id": self.fund_id,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "accrued_satang": self.accrued_satang,
            "reversed_satang": self.reversed_satang,
            "net_satang": self.net_satang,
            "remitted_satang": self.remitted_satang,
            "balance_satang": self.balance_satang,
            "by_product": rows(self.by_product, "product_id"),
            "by_seller": rows(self.by_seller, "seller_id"),
            "by_buyer_province": rows(self.by_buyer_province, "province_code"),
        }


def account_balances(fund_id):
    """The fund's ledger accounts: ``{AccountKind: balance_satang}``."""
    return dict(
        db.session.execute(
            select(Account.kind, Account.balance_satang).where(Account.fund_id == fund_id)
        ).all()
    )


def balance(fund_id):
    """What the marketplace owes the fund now (negative: the fund owes levies back)."""
    rows = account_balances(fund_id)
    return rows.get(AccountKind.FUND_PAYABLE, 0) - rows.get(AccountKind.FUND_RECEIVABLE, 0)


def ledger_page(fund_id, after_id=0, limit=100):
    """The fund's journal entries with their lines, oldest first, after entry ``after_id``.

    Returns ``(entries, more)``: ``more`` says whether entries follow the last one.
    """
    rows = db.session.scalars(
        select(JournalEntry)
        .where(JournalEntry.fund_id == fund_id, JournalEntry.id > after_id)
        .options(selectinload(JournalEntry.lines))
        .order_by(JournalEntry.id)
        .limit(limit + 1)
    ).all()
    return rows[:limit], len(rows) > limit


def _names(model, key_column, ids):
    if not ids:
        return {}
    return {
        key: (name_th, name_en)
        for key, name_th, name_en in db.session.execute(
            select(key_column, model.name_th, model.name_en).where(key_column.in_(ids))
        )
    }


def name_of(kind, key, language="th"):
    """The name of one product, seller or province (``kind``) as the report shows it; None
    when there is none by that key."""
    from marketplace.catalog.models import Product

    model, column = {
        "product": (Product, Product.id),
        "seller": (Seller, Seller.id),
        "province": (Province, Province.code),
    }[kind]
    names = _names(model, column, [key])
    if key not in names:
        return None
    name_th, name_en = names[key]
    return name_en if language == "en" and name_en else name_th


def _rows(grouped, names, language):
    rows = []
    for key, accrued, reversed_, units in grouped:
        name_th, name_en = names.get(key, (str(key), ""))
        label = name_en if language == "en" and name_en else name_th
        rows.append(Row(key, label, int(accrued or 0), int(reversed_ or 0), int(units or 0)))
    return sorted(rows, key=lambda row: (-row.net_satang, row.label))


def whole_months(start, end):
    """Split ``start``..``end`` into the whole months inside it and the days left at its edges."""
    first = start if start.day == 1 else _next_month(start)
    months = []
    while _next_month(first) - timedelta(days=1) <= end:
        months.append(first)
        first = _next_month(first)
    if not months:
        return [], [(start, end)]
    edges = []
    if start < months[0]:
        edges.append((start, months[0] - timedelta(days=1)))
    after = _next_month(months[-1])
    if after <= end:
        edges.append((after, end))
    return months, edges


def _next_month(day):
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _breakdowns(fund_id, start, end):
    """``(by product, by seller, by province)`` dicts of [accrued, reversed, units]."""
    totals = {LevyDimension.PRODUCT: {}, LevyDimension.SELLER: {}, LevyDimension.PROVINCE: {}}

    def add(dimension, key, accrued, reversed_, units):
        row = totals[dimension].setdefault(key, [0, 0, 0])
        row[0] += int(accrued or 0)
        row[1] += int(reversed_ or 0)
        row[2] += int(units or 0)

    months, edges = whole_months(start, end)
    if months:
        for dimension, key, accrued, reversed_, units in db.session.execute(
            select(
                FundLevyMonth.dimension,
                FundLevyMonth.key,
                func.sum(FundLevyMonth.accrued_satang),
                func.sum(FundLevyMonth.reversed_satang),
                func.sum(FundLevyMonth.accrued_units - FundLevyMonth.reversed_units),
            )
            .where(FundLevyMonth.fund_id == fund_id, FundLevyMonth.month.in_(months))
            .group_by(FundLevyMonth.dimension, FundLevyMonth.key)
        ):
            dimension = LevyDimension(dimension)
            key = key if dimension == LevyDimension.PROVINCE else int(key)
            add(dimension, key, accrued, reversed_, units)
    for first, last in edges:
        for product_id, seller_id, province, accrued, reversed_, units in db.session.execute(
            select(
                FundLevyDay.product_id,
                FundLevyDay.seller_id,
                FundLevyDay.buyer_province_code,
                func.sum(FundLevyDay.accrued_satang),
                func.sum(FundLevyDay.reversed_satang),
                func.sum(FundLevyDay.accrued_units - FundLevyDay.reversed_units),
            )
            .where(FundLevyDay.fund_id == fund_id, FundLevyDay.day.between(first, last))
            .group_by(
                FundLevyDay.product_id, FundLevyDay.seller_id, FundLevyDay.buyer_province_code
            )
        ):
            add(LevyDimension.PRODUCT, product_id, accrued, reversed_, units)
            add(LevyDimension.SELLER, seller_id, accrued, reversed_, units)
            add(LevyDimension.PROVINCE, province, accrued, reversed_, units)
    return (
        totals[LevyDimension.PRODUCT],
        totals[LevyDimension.SELLER],
        totals[LevyDimension.PROVINCE],
    )


def levy_report(fund_id, start, end, language="th"):
    """Totals and breakdowns for one fund and period: whole months from the monthly table,
    the days at the edges from the daily one, so the cost does not grow with the journal."""
    from marketplace.catalog.models import Product

    report = LevyReport(fund_id=fund_id, start=start, end=end)
    products, sellers, provinces = _breakdowns(fund_id, start, end)

    def rows(totals):
        return [(key, *values) for key, values in totals.items()]

    report.by_product = _rows(rows(products), _names(Product, Product.id, list(products)), language)
    report.by_seller = _rows(rows(sellers), _names(Seller, Seller.id, list(sellers)), language)
    report.by_buyer_province = _rows(
        rows(provinces), _names(Province, Province.code, list(provinces)), language
    )
    report.accrued_satang = sum(row.accrued_satang for row in report.by_seller)
    report.reversed_satang = sum(row.reversed_satang for row in report.by_seller)
    report.remitted_satang = int(
        db.session.scalar(
            select(func.coalesce(func.sum(Remittance.amount_satang), 0)).where(
                Remittance.fund_id == fund_id, Remittance.remitted_on.between(start, end)
            )
        )
    )
    report.balance_satang = balance(fund_id)
    return report


@dataclass
class LevyLineView:
    entry: JournalEntry
    order_number: str
    item_name: str

    @property
    def units(self):
        """Units the posting counts: a reversal's are refunded, so negative."""
        return -self.entry.units if self.entry.levy_satang < 0 else self.entry.units


@dataclass
class EntryTotals:
    count: int = 0
    units: int = 0
    levy_satang: int = 0


def _entries_query(fund_id, start, end, product_id=None, seller_id=None, province=None):
    query = select(JournalEntry).where(
        JournalEntry.fund_id == fund_id,
        JournalEntry.local_date.between(start, end),
        JournalEntry.kind.in_((EntryKind.LEVY, EntryKind.LEVY_REVERSAL)),
    )
    if product_id:
        query = query.where(JournalEntry.product_id == product_id)
    if seller_id:
        query = query.where(JournalEntry.seller_id == seller_id)
    if province:
        query = query.where(JournalEntry.buyer_province_code == province)
    return query


def _item_name(name_th, name_en, language):
    return name_en if language == "en" and name_en else name_th


def entries(
    fund_id,
    start,
    end,
    *,
    product_id=None,
    seller_id=None,
    province=None,
    page=1,
    language="th",
):
    """One page of the levy postings behind a report, newest first, with order and item.

    Returns ``(lines, totals)``: ``totals`` counts and adds up every posting that matches
    (units net of refunded ones, levies net of reversals), not only this page's.
    """
    filters = {"product_id": product_id, "seller_id": seller_id, "province": province}
    matching = _entries_query(fund_id, start, end, **filters).subquery()
    count, units, levy = db.session.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(
                    case((matching.c.levy_satang < 0, -matching.c.units), else_=matching.c.units)
                ),
                0,
            ),
            func.coalesce(func.sum(matching.c.levy_satang), 0),
        ).select_from(matching)
    ).one()
    query = (
        _entries_query(fund_id, start, end, **filters)
        .add_columns(Order.number, OrderItem.name_th, OrderItem.name_en)
        .join(Order, JournalEntry.order_id == Order.id)
        .join(OrderItem, JournalEntry.order_item_id == OrderItem.id)
        .order_by(JournalEntry.local_date.desc(), JournalEntry.id.desc())
        .limit(ITEMS_PER_PAGE)
        .offset((max(page, 1) - 1) * ITEMS_PER_PAGE)
    )
    lines = [
        LevyLineView(entry, number, _item_name(name_th, name_en, language))
        for entry, number, name_th, name_en in db.session.execute(query)
    ]
    return lines, EntryTotals(int(count), int(units), int(levy))


def audit_rows(
    fund_id,
    start,
    end,
    *,
    after_seq=0,
    limit=1000,
    product_id=None,
    seller_id=None,
    province=None,
    language="th",
):
    """Levy postings of the period in the order of the fund's hash chain, after position
    ``after_seq``, at most ``limit``: what an auditor checks, each entry with its hash and
    the one before it (``LevyLineView``s)."""
    query = (
        _entries_query(
            fund_id, start, end, product_id=product_id, seller_id=seller_id, province=province
        )
        .where(JournalEntry.seq > after_seq)
        .add_columns(Order.number, OrderItem.name_th, OrderItem.name_en)
        .join(Order, JournalEntry.order_id == Order.id)
        .join(OrderItem, JournalEntry.order_item_id == OrderItem.id)
        .order_by(JournalEntry.seq)
        .limit(limit)
    )
    return [
        LevyLineView(entry, number, _item_name(name_th, name_en, language))
        for entry, number, name_th, name_en in db.session.execute(query)
    ]


def remittances(fund_id, limit=100):
    return db.session.scalars(
        select(Remittance)
        .where(Remittance.fund_id == fund_id)
        .order_by(Remittance.remitted_on.desc(), Remittance.id.desc())
        .limit(limit)
    ).all()


@dataclass
class Dashboard:
    balance_satang: int
    month_accrued_satang: int
    year_accrued_satang: int
    year_reversed_satang: int
    year_remitted_satang: int
    months: list  # [(first day of month, accrued, reversed)], oldest first


def _first_of_months_back(day, count):
    months, current = [], day.replace(day=1)
    for _ in range(count):
        months.append(current)
        current = (current - timedelta(days=1)).replace(day=1)
    return list(reversed(months))


def dashboard(fund_id, on_day=None):
    on_day = on_day or today()
    month_start, year_start = on_day.replace(day=1), on_day.replace(month=1, day=1)
    months = _first_of_months_back(on_day, 12)
    daily = db.session.execute(
        select(
            FundLevyDay.day,
            func.sum(FundLevyDay.accrued_satang),
            func.sum(FundLevyDay.reversed_satang),
        )
        .where(
            FundLevyDay.fund_id == fund_id,
            FundLevyDay.day.between(min(months[0], year_start), on_day),
        )
        .group_by(FundLevyDay.day)
    ).all()
    per_month = {m: [0, 0] for m in months}
    month_accrued = year_accrued = year_reversed = 0
    for day, accrued, reversed_ in daily:
        accrued, reversed_ = int(accrued or 0), int(reversed_ or 0)
        first = day.replace(day=1)
        if first in per_month:
            per_month[first][0] += accrued
            per_month[first][1] += reversed_
        if day >= year_start:
            year_accrued += accrued
            year_reversed += reversed_
        if day >= month_start:
            month_accrued += accrued
    remitted = db.session.scalar(
        select(func.coalesce(func.sum(Remittance.amount_satang), 0)).where(
            Remittance.fund_id == fund_id, Remittance.remitted_on.between(year_start, on_day)
        )
    )
    return Dashboard(
        balance_satang=balance(fund_id),
        month_accrued_satang=month_accrued,
        year_accrued_satang=year_accrued,
        year_reversed_satang=year_reversed,
        year_remitted_satang=int(remitted),
        months=[(m, v[0], v[1]) for m, v in per_month.items()],
    )


def monthly_levies(fund_id, first_month, last_month):
    """``{first day of a month: (accrued, reversed)}`` of the whole months from
    ``first_month`` to ``last_month``, read from the monthly totals (each levy is counted
    once under its seller)."""
    rows = db.session.execute(
        select(
            FundLevyMonth.month,
            func.sum(FundLevyMonth.accrued_satang),
            func.sum(FundLevyMonth.reversed_satang),
        )
        .where(
            FundLevyMonth.fund_id == fund_id,
            FundLevyMonth.dimension == LevyDimension.SELLER,
            FundLevyMonth.month.between(first_month, last_month),
        )
        .group_by(FundLevyMonth.month)
    )
    return {month: (int(accrued or 0), int(reversed_ or 0)) for month, accrued, reversed_ in rows}


@dataclass
class Series:
    """What the report's chart shows: ``by`` ``month`` or ``year``; ``points`` are
    ``(first day of the month or year, accrued, reversed, inside the period)``."""

    by: str
    points: list


#: The report's chart shows this many months (a longer period: one bar a year).
CHART_MONTHS = 12


def report_series(fund_id, start, end):
    """Levies by whole calendar month for the report's chart: the twelve months to the
    period's last one, those the period touches marked; a period of more than twelve
    months by calendar year instead."""
    first, last = start.replace(day=1), end.replace(day=1)
    spanned = (last.year - first.year) * 12 + last.month - first.month + 1
    if spanned <= CHART_MONTHS:
        months = _first_of_months_back(last, CHART_MONTHS)
        totals = monthly_levies(fund_id, months[0], last)
        return Series("month", [(m, *totals.get(m, (0, 0)), first <= m <= last) for m in months])
    years = {year: [0, 0] for year in range(first.year, last.year + 1)}
    for month, (accrued, reversed_) in monthly_levies(fund_id, first, last).items():
        years[month.year][0] += accrued
        years[month.year][1] += reversed_
    return Series("year", [(date(y, 1, 1), a, r, True) for y, (a, r) in years.items()])


def report_csv(report, fund_name, headings):
    """The report as CSV text: UTF-8 with a BOM, so Excel shows Thai; amounts in baht."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)

    cell = csv_text
    writer.writerow([headings["fund"], cell(fund_name)])
    writer.writerow([headings["period"], report.start.isoformat(), report.end.isoformat()])
    writer.writerow([headings["accrued"], baht_text(report.accrued_satang)])
    writer.writerow([headings["reversed"], baht_text(report.reversed_satang)])
    writer.writerow([headings["net"], baht_text(report.net_satang)])
    writer.writerow([headings["remitted"], baht_text(report.remitted_satang)])
    writer.writerow([headings["balance"], baht_text(report.balance_satang)])
    for title, rows in (
        (headings["by_product"], report.by_product),
        (headings["by_seller"], report.by_seller),
        (headings["by_province"], report.by_buyer_province),
    ):
        writer.writerow([])
        writer.writerow(
            [title, headings["accrued"], headings["reversed"], headings["net"], headings["units"]]
        )
        for row in rows:
            writer.writerow(
                [
                    cell(row.label),
                    baht_text(row.accrued_satang),
                    baht_text(row.reversed_satang),
                    baht_text(row.net_satang),
                    row.units,
                ]
            )
    return buffer.getvalue()


def _csv_lines(rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def audit_csv_head(headings):
    """The auditor's CSV starts: a BOM (so Excel shows Thai), then the headings."""
    return "\ufeff" + _csv_lines([headings])


def audit_csv_lines(lines):
    """``audit_rows`` as CSV lines: the levy in baht, units negative for a reversal,
    hashes in full."""
    return _csv_lines(
        [
            line.entry.id,
            line.entry.seq,
            line.entry.local_date.isoformat(),
            csv_text(line.order_number),
            csv_text(line.item_name),
            line.units,
            baht_text(line.entry.levy_satang),
            line.entry.hash,
            line.entry.prev_hash,
        ]
        for line in lines
    )


def seller_levies(seller_id, start, end, language="th"):
    """Levies deducted from one seller's sales in the period, per fund."""
    from marketplace.funds.models import Fund

    grouped = db.session.execute(
        select(
            FundLevyDay.fund_id,
            func.sum(FundLevyDay.accrued_satang),
            func.sum(FundLevyDay.reversed_satang),
            func.sum(FundLevyDay.accrued_units - FundLevyDay.reversed_units),
        )
        .where(FundLevyDay.seller_id == seller_id, FundLevyDay.day.between(start, end))
        .group_by(FundLevyDay.fund_id)
    ).all()
    return _rows(grouped, _names(Fund, Fund.id, [row[0] for row in grouped]), language)
