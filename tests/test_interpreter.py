"""The interpreter: Python 3.11 corrupts its heap under this application (issue 11).

With a few hundred verified sellers, a page that loads them all with their places after
loading some products killed gunicorn workers with SIGSEGV in one request of six. The crash
stayed with every third-party C extension taken out (SQLAlchemy's Cython modules deleted,
markupsafe and psycopg in pure Python, aiohttp, yaml and the rest never imported): pure
Python code cannot corrupt memory, so the fault is CPython 3.11's own (seen on 3.11.7 and
Debian's 3.11.2). The same packages on 3.12.1 and 3.13.0 served thousands of such
requests. ``make install`` therefore builds the virtualenv with Python 3.12 or newer
(scripts/find_python), and these tests fail on an interpreter that crashes.
"""

import subprocess
import sys
from pathlib import Path

import flask_migrate
import pytest
from sqlalchemy import text

from tests.conftest import create_postgres_database, drop_postgres_database, make_config

ROOT = Path(__file__).resolve().parent.parent

#: Run in a fresh interpreter: the home page, made to list every seller (as it did before
#: it was bounded), requested again and again; a crash ends the process with SIGSEGV.
PROBE = """
import sys
from config import TestingConfig
from marketplace import create_app
from marketplace.main import views

views.HOME_ORGANISATIONS = 10_000
app = create_app(TestingConfig(env={}, SQLALCHEMY_DATABASE_URI=sys.argv[1]))
client = app.test_client()
for _ in range(int(sys.argv[2])):
    response = client.get("/")
    assert response.status_code == 200, response.status_code
assert response.data.count(b"/sellers/") >= 400
print("served")
"""


def test_the_virtualenv_runs_python_3_12_or_newer():
    assert sys.version_info >= (3, 12), (
        f"Python {sys.version.split()[0]} crashes under this application (see this module); "
        "rebuild the virtualenv with `make clean install`"
    )


@pytest.fixture
def crowded_market():
    """A PostgreSQL database with 404 verified sellers all over Thailand and 200 products."""
    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.geo import services as geo

    url = create_postgres_database("talat_crash")
    app = create_app(make_config(url))
    try:
        with app.app_context():
            flask_migrate.upgrade()
            geo.load_geography()
            db.session.execute(
                text(
                    "INSERT INTO sellers (name_th, name_en, description, address_line,"
                    " postal_code, contact_name, phone, email, bank_name, bank_account_name,"
                    " bank_account_number, verified, created_at, subdistrict_code, kind,"
                    " promptpay_id, offers_pickup, pickup_note)"
                    " SELECT 'วิสาหกิจชุมชน ' || g, 'Group ' || g, 'ข้าวหอมมะลิ', '', '10200', '',"
                    " '', '', '', '', '', true, now(),"
                    " (SELECT code FROM subdistricts ORDER BY md5(code || g) LIMIT 1),"
                    " 'other', '', false, '' FROM generate_series(1, 404) g"
                )
            )
            db.session.execute(
                text(
                    "INSERT INTO categories (slug, name_th, name_en, position, active)"
                    " VALUES ('rice', 'ข้าว', 'Rice', 1, true) ON CONFLICT DO NOTHING"
                )
            )
            db.session.execute(
                text(
                    "INSERT INTO products (seller_id, category_id, name_th, name_en,"
                    " description, unit_label, price_satang, stock, weight_grams, status,"
                    " search_text, created_at, updated_at)"
                    " SELECT 1 + g % 404, (SELECT min(id) FROM categories), 'ข้าวหอมมะลิ ' || g, '',"
                    " '', 'ถุง', 10000 + g, 100, 5000, 'active', 'ข้าวหอมมะลิ ' || g,"
                    " now() - g * interval '1 minute', now() FROM generate_series(1, 200) g"
                )
            )
            db.session.commit()
            db.engine.dispose()
        yield url
    finally:
        drop_postgres_database(url)


def test_pages_loading_hundreds_of_sellers_do_not_crash_the_interpreter(crowded_market):
    # On Python 3.11.7 this probe died with SIGSEGV within 40 requests, every time.
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, crowded_market, "60"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert probe.returncode == 0, (
        f"exit {probe.returncode}: {probe.stdout[-2000:]}\n{probe.stderr[-4000:]}"
    )
    assert "served" in probe.stdout
