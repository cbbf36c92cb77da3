"""Benchmark: one fund's one-month levy report with 100,000 and 1,000,000 journal lines.

Run with ``make bench`` (or ``.venv/bin/python -m benchmarks.levy_report``). It creates its
own PostgreSQL databases (``TEST_POSTGRES_URL``, default postgres@127.0.0.1:5432), builds
the schema with the migrations, and fills the journal with levy postings (two lines an
entry, with the per-day and per-month totals the ledger keeps) for 20 funds, 60 sellers,
300 products and every province. It times ``funds.reports.levy_report`` for one fund and
one month: the median of 30 runs after 3 warm-up runs.

The journal grows as a marketplace's does: the same business every day, for longer. At
100,000 lines it holds two months; at 1,000,000 twenty; the report is for the first month
both times. The target: under 100 ms, growing by no more than 1.5x.

For comparison it also fills a second database where the same two months hold ten times
the business, and prints that growth: there the month itself has more products and
provinces to list (bounded by the catalog, since whole months read the monthly table).
The databases are dropped at the end.
"""

import os
import statistics
import sys
import time
import uuid
from datetime import date

import flask_migrate
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import TestingConfig
from marketplace import create_app
from marketplace.extensions import db
from marketplace.funds import reports
from marketplace.geo import services as geo

ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
FUNDS, SELLERS, PRODUCTS = 20, 60, 300
START = date(2025, 1, 1)
#: Entries a day in the growing journal: 50,000 entries (100,000 lines) make two months.
PER_DAY = 50_000 // 59
RUNS, WARMUP = 30, 3
TARGET_MS, GROWTH = 100.0, 1.5


def admin_engine():
    return create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")


def create_database():
    name = f"talat_bench_{uuid.uuid4().hex[:8]}"
    with admin_engine().connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False), name


def drop_database(name):
    with admin_engine().connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def seed_reference_rows():
    """Funds, sellers, products and a user, by plain SQL (the benchmark needs ids only)."""
    statements = [
        "INSERT INTO users (email, password_hash, name, phone, language, is_admin, active,"
        " created_at, ship_name, ship_phone, ship_address_line, ship_postal_code)"
        " VALUES ('bench@example.com', 'x', 'bench', '', 'th', true, true, now(), '', '', '', '')",
        f"INSERT INTO funds (name_th, name_en, description, address_line, postal_code,"
        f" contact_name, phone, email, bank_name, bank_account_name, bank_account_number,"
        f" verified, created_at, subdistrict_code)"
        f" SELECT 'กองทุน ' || g, '', '', '', '83130', '', '', '', '', '', '', true, now(), '830107'"
        f" FROM generate_series(1, {FUNDS}) g",
        f"INSERT INTO sellers (name_th, name_en, description, address_line, postal_code,"
        f" contact_name, phone, email, bank_name, bank_account_name, bank_account_number,"
        f" verified, created_at, subdistrict_code, kind, promptpay_id, offers_pickup, pickup_note)"
        f" SELECT 'กลุ่ม ' || g, '', '', '', '36170', '', '', '', '', '', '', true, now(), '360201',"
        f" 'other', '', false, '' FROM generate_series(1, {SELLERS}) g",
        f"INSERT INTO products (seller_id, category_id, name_th, name_en, description,"
        f" unit_label, price_satang, stock, weight_grams, status, search_text, created_at,"
        f" updated_at)"
        f" SELECT 1 + (g % {SELLERS}), 1, 'สินค้า ' || g, '', '', 'ชิ้น', 10000, 100, 500,"
        f" 'active', '', now(), now() FROM generate_series(1, {PRODUCTS}) g",
    ]
    for statement in statements:
        db.session.execute(text(statement))
    db.session.commit()


def add_postings(first_entry, count, per_day, ids=None):
    """``count`` levy postings (two lines each), ``per_day`` a day from START, with totals.

    ``ids`` names the funds, sellers and products to spread them over (``{"funds": [...],
    ...}``); by default those ``seed_reference_rows`` made. The lines move the payables of
    the first seller and the first fund.
    """
    ids = ids or {
        "funds": list(range(1, FUNDS + 1)),
        "sellers": list(range(1, SELLERS + 1)),
        "products": list(range(1, PRODUCTS + 1)),
    }
    provinces = db.session.execute(
        text("SELECT array_agg(code ORDER BY code) FROM provinces")
    ).scalar()
    db.session.execute(
        text(
            f"""
            INSERT INTO journal_entries (key, kind, chain, seq, prev_hash, hash, occurred_at,
                local_date, created_at, memo, fund_id, seller_id, product_id,
                buyer_province_code, levy_satang, units)
            SELECT 'bench:' || g, 'levy', 'bench:' || g, 1, '', md5(g::text) || md5(g::text),
                now(), DATE '{START.isoformat()}' + ((g - 1) / {per_day}), now(), '',
                f[1 + g % cardinality(f)], s[1 + g % cardinality(s)],
                p[1 + g % cardinality(p)],
                (CAST(:provinces AS text[]))[1 + (g % 77)], 100 + (g % 900), 1 + (g % 5)
            FROM generate_series({first_entry}, {first_entry + count - 1}) g,
                CAST(:funds AS int[]) f, CAST(:sellers AS int[]) s, CAST(:products AS int[]) p
            """
        ),
        {"provinces": provinces, **ids},
    )
    seller, fund = ids["sellers"][0], ids["funds"][0]
    db.session.execute(
        text(
            f"""
            INSERT INTO ledger_accounts (code, kind, seller_id, fund_id, balance_satang,
                created_at)
            VALUES ('seller:{seller}', 'seller_payable', {seller}, NULL, 0, now()),
                ('fund:{fund}', 'fund_payable', NULL, {fund}, 0, now())
            ON CONFLICT (code) DO NOTHING
            """
        )
    )
    db.session.execute(
        text(
            f"""
            INSERT INTO journal_lines (entry_id, account_id, amount_satang)
            SELECT e.id, a.id, CASE WHEN a.kind = 'seller_payable' THEN e.levy_satang
                                    ELSE -e.levy_satang END
            FROM journal_entries e
            CROSS JOIN (SELECT id, kind FROM ledger_accounts
                        WHERE code IN ('seller:{seller}', 'fund:{fund}')) a
            WHERE e.key LIKE 'bench:%' AND e.id >= (
                SELECT min(id) FROM journal_entries WHERE key = 'bench:{first_entry}')
            """
        )
    )
    rebuild_day_totals()
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def rebuild_day_totals():
    """The per-day and per-month totals, as the ledger keeps them with each posting."""
    db.session.execute(text("DELETE FROM fund_levy_months"))
    db.session.execute(text("DELETE FROM fund_levy_days"))
    db.session.execute(
        text(
            """
            INSERT INTO fund_levy_days (fund_id, day, seller_id, product_id, buyer_province_code,
                accrued_satang, reversed_satang, accrued_units, reversed_units)
            SELECT fund_id, local_date, seller_id, product_id, buyer_province_code,
                sum(levy_satang), 0, sum(units), 0
            FROM journal_entries WHERE kind = 'levy'
            GROUP BY fund_id, local_date, seller_id, product_id, buyer_province_code
            """
        )
    )
    for dimension, column in (
        ("product", "product_id::text"),
        ("seller", "seller_id::text"),
        ("province", "buyer_province_code"),
    ):
        db.session.execute(
            text(
                f"""
                INSERT INTO fund_levy_months (fund_id, month, dimension, key, accrued_satang,
                    reversed_satang, accrued_units, reversed_units)
                SELECT fund_id, date_trunc('month', day)::date, '{dimension}', {column},
                    sum(accrued_satang), sum(reversed_satang), sum(accrued_units),
                    sum(reversed_units)
                FROM fund_levy_days GROUP BY 1, 2, 4
                """
            )
        )


def time_report(fund_id=1, start=date(2025, 1, 1), end=date(2025, 1, 31)):
    timings = []
    for run in range(WARMUP + RUNS):
        db.session.expire_all()
        began = time.perf_counter()
        report = reports.levy_report(fund_id, start, end)
        elapsed = (time.perf_counter() - began) * 1000
        db.session.rollback()
        if run >= WARMUP:
            timings.append(elapsed)
    return statistics.median(timings), max(timings), report


def count_lines():
    return db.session.execute(text("SELECT count(*) FROM journal_lines")).scalar()


def run(per_day_for, log):
    """Fill a fresh database in two steps; return [(lines, median ms, max ms, accrued)]."""
    url, name = create_database()
    try:
        app = create_app(TestingConfig(env={}, SQLALCHEMY_DATABASE_URI=url))
        with app.app_context():
            flask_migrate.upgrade()
            geo.load_geography()
            db.session.commit()
            seed_reference_rows()
            results, first = [], 1
            for entries in (50_000, 450_000):
                began = time.perf_counter()
                add_postings(first, entries, per_day_for(first + entries - 1))
                first += entries
                fill = time.perf_counter() - began
                median, worst, report = time_report()
                lines = count_lines()
                results.append((lines, median, worst, report.accrued_satang))
                log(
                    f"{lines:>9,} journal lines: one fund, one month: median {median:.1f} ms "
                    f"(max {worst:.1f} ms), accrued {report.accrued_satang:,} satang "
                    f"(filled in {fill:.0f} s)"
                )
            db.engine.dispose()
        return results
    finally:
        drop_database(name)


def _comment(message):
    print(f"# {message}", flush=True)


def measure(log=_comment):
    """The report figures: the median at 100,000 and 1,000,000 lines, and the growth."""
    log("levy report: the journal grows by months of the same business")
    grows = run(lambda last_entry: PER_DAY, log)
    log("for comparison, ten times the business in the same two months")
    dense = run(lambda last_entry: max(1, last_entry // 59), log)
    return {
        "report_ms_100k": round(grows[0][1], 1),
        "report_ms_1m": round(grows[1][1], 1),
        "report_growth": round(grows[1][1] / grows[0][1], 2),
        "report_dense_ms_1m": round(dense[1][1], 1),
        "report_dense_growth": round(dense[1][1] / dense[0][1], 2),
    }


def main():
    figures = measure()
    for name, value in figures.items():
        print(f"{name}={value}")
    ok = (
        figures["report_ms_1m"] < TARGET_MS
        and figures["report_dense_ms_1m"] < TARGET_MS
        and figures["report_growth"] <= GROWTH
    )
    print(
        f"# target: under {TARGET_MS:.0f} ms, and at most {GROWTH}x as the journal grows: "
        f"{'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
