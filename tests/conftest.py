"""Fixtures: every test runs on SQLite and on PostgreSQL.

The suite creates its own databases (a SQLite file in a temporary folder, and a fresh
PostgreSQL database it drops at the end), builds them with the migrations, and loads the
geography once. After each test every other table is emptied.

PostgreSQL is used whenever it is reachable; with ``CI=true`` an unreachable PostgreSQL
(or Redis, for the tests that need it) fails the run instead of skipping.
"""

import contextvars
import os
import re
import tempfile
import uuid

import flask_migrate
import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from config import TestingConfig
from marketplace import create_app
from marketplace.catalog import services as catalog
from marketplace.extensions import db as _db
from marketplace.geo import services as geo
from marketplace.shipping import services as shipping

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"
#: Reference data kept between tests (loaded once per database).
KEPT_TABLES = {"regions", "provinces", "districts", "subdistricts", "subdistrict_postal_codes"}
PASSWORD = "correct-horse-42"


def unavailable(what):
    """Skip on a developer machine, fail in CI: CI must run against the real service."""
    if IN_CI:
        pytest.fail(f"{what} is not reachable and CI=true", pytrace=False)
    pytest.skip(f"{what} is not reachable")


def _postgres_admin_engine():
    return create_engine(
        POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )


def create_postgres_database(prefix="talat_test"):
    """Create an empty database and return its URL (or skip / fail when PostgreSQL is down)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = _postgres_admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        engine.dispose()
        unavailable(f"PostgreSQL at {POSTGRES_URL} ({exc.__class__.__name__})")
    engine.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url):
    name = make_url(url).database
    engine = _postgres_admin_engine()
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


#: Product pictures the tests upload go here, never under instance/.
UPLOAD_FOLDER = tempfile.mkdtemp(prefix="talat-uploads-")


def make_config(database_url, **overrides):
    overrides.setdefault("SQLALCHEMY_DATABASE_URI", database_url)
    overrides.setdefault("UPLOAD_FOLDER", UPLOAD_FOLDER)
    return TestingConfig(env={}, **overrides)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    """A migrated database with the geography loaded: ``{"backend", "url"}``."""
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    else:
        url = create_postgres_database()
    app = create_app(make_config(url))
    with app.app_context():
        flask_migrate.upgrade()
        geo.load_geography()
        _db.session.commit()
        _db.engine.dispose()
    yield {"backend": backend, "url": url}
    if backend == "postgresql":
        drop_postgres_database(url)


def _empty_tables(app):
    with app.app_context():
        tables = [t for t in reversed(_db.metadata.sorted_tables) if t.name not in KEPT_TABLES]
        if _db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            _db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                _db.session.execute(table.delete())
        # Reference rows the migrations provide.
        catalog.ensure_default_categories()
        shipping.ensure_default_table()
        _db.session.commit()


class Client(FlaskClient):
    """A test client whose every request runs in an application context of its own.

    Flask reuses an app context the test has pushed (the ``db`` fixture does), which
    would share ``g`` and the database session between requests. Running each request
    in a fresh ``contextvars.Context`` gives it its own, as in production.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)

    def csrf_token(self, url="/about"):
        page = self.get(url).get_data(as_text=True)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert match, f"no CSRF token on {url}"
        return match.group(1)

    def submit(self, url, data, **kwargs):
        """POST a form the way a browser does: with this session's CSRF token."""
        return self.post(url, data={"csrf_token": self.csrf_token(), **data}, **kwargs)

    def login(self, email, password=PASSWORD):
        response = self.submit("/login", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response


def pytest_collection_modifyitems(items):
    """``postgres_only`` tests run on the PostgreSQL database alone."""
    for item in items:
        params = getattr(item, "callspec", None)
        if (
            item.get_closest_marker("postgres_only")
            and params
            and params.params.get("database") == "sqlite"
        ):
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (row locks, triggers)"))


@pytest.fixture
def make_app(database):
    """Build an app on the test database, with config overrides; emptied and closed after."""
    apps = []

    def factory(**overrides):
        app = create_app(make_config(database["url"], **overrides))
        app.test_client_class = Client
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            _db.engine.dispose()
    cleaner = create_app(make_config(database["url"]))
    _empty_tables(cleaner)
    with cleaner.app_context():
        _db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    """The database, with an app context pushed for the test (requests get their own)."""
    with app.app_context():
        yield _db
        _db.session.rollback()


@pytest.fixture
def backend(database):
    return database["backend"]


@pytest.fixture(scope="session")
def redis_url():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} ({exc.__class__.__name__})")
    finally:
        client.close()
    return REDIS_URL


#: Figures tests measure (reliability recovery times, throughput), shown after the run.
_FIGURES = []


@pytest.fixture
def figures():
    """``figures(text)`` records a measured figure; the run prints them all at its end."""

    def record(text):
        _FIGURES.append(text)
        print(text)

    return record


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("measured figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


def statements_during(action):
    """The SQL statements ``action()`` runs."""
    statements = []

    def remember(connection, cursor, statement, *args):
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", remember)
    try:
        action()
    finally:
        event.remove(_db.engine, "before_cursor_execute", remember)
    return statements
