"""Fixtures: every test runs on SQLite and on PostgreSQL.

The suite creates its own databases (a SQLite file in a temporary folder, and a fresh
PostgreSQL database it drops at the end), builds them with the migrations, and loads the
geography once. After each test every other table the test changed is emptied again
(``Cleaner``).

PostgreSQL is used whenever it is reachable; with ``CI=true`` an unreachable PostgreSQL
(or Redis, for the tests that need it) fails the run instead of skipping.

``TEST_SQLITE_TEMPLATE`` (a file path; ``make mutation`` sets it) keeps the migrated SQLite
database with its geography after the first build and copies it for every later session,
so a run that starts pytest many times (one per mutant) migrates once.
"""

import contextvars
import json
import os
import re
import shutil
import tempfile
import uuid

import flask_migrate
import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine, make_url

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
#: The browser tests' fixtures (Chromium, the app served on a free port).
pytest_plugins = ("tests.browser_kit",)


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
            # A test database is thrown away: commits need not wait for the WAL to reach
            # the disk (only a crash of PostgreSQL itself could lose them; none is staged).
            connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
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


@event.listens_for(Engine, "connect")
def _sqlite_without_fsync(dbapi_connection, connection_record):
    """The suite's SQLite files are thrown away: no fsync at each commit. Locking, and so
    what other connections see and when, is the same (``synchronous`` is durability only)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.execute("PRAGMA synchronous = OFF")


#: Product pictures the tests upload go here, never under instance/.
UPLOAD_FOLDER = tempfile.mkdtemp(prefix="talat-uploads-")


def make_config(database_url, **overrides):
    overrides.setdefault("SQLALCHEMY_DATABASE_URI", database_url)
    overrides.setdefault("UPLOAD_FOLDER", UPLOAD_FOLDER)
    return TestingConfig(env={}, **overrides)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    """A migrated database with the geography loaded: ``{"backend", "url", "cleaner"}``."""
    backend = request.param
    template = os.environ.get("TEST_SQLITE_TEMPLATE") if backend == "sqlite" else None
    copied = bool(template) and os.path.exists(template)
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        if copied:
            shutil.copyfile(template, path)
        url = f"sqlite:///{path}"
    else:
        url = create_postgres_database()
    cleaner = Cleaner(url)
    if not copied:
        with cleaner.app.app_context():
            flask_migrate.upgrade()
            geo.load_geography()
            _db.session.commit()
        if template:
            _keep_template(path, template)
    cleaner.clean(everything=True)
    shared_app = SharedApp(url)
    yield {"backend": backend, "url": url, "cleaner": cleaner, "shared_app": shared_app}
    shared_app.close()
    cleaner.close()
    if backend == "postgresql":
        drop_postgres_database(url)


def _keep_template(path, template):
    """Keep the migrated SQLite file with its geography as ``template`` (written whole, then
    renamed, so a reader never sees half of it)."""
    partial = f"{template}.{os.getpid()}"
    shutil.copyfile(path, partial)
    os.replace(partial, template)


class Cleaner:
    """Puts the database back as the first test found it, emptying only what changed.

    After a test, every table but the geography (``KEPT_TABLES``) is as it was after the
    first cleaning: empty, or holding just the reference rows the app makes for itself
    (default categories, the default shipping table), with the ids counting from 1 again.
    A table counts as changed when it holds rows it did not, its reference rows differ, or
    (PostgreSQL) one of its sequences moved: the test wrote to it even if it deleted the rows
    again or rolled back. Changed tables are emptied with DELETE (children first) and their
    sequences restarted; reference rows are made again. This is what ``TRUNCATE ... RESTART
    IDENTITY`` of every table did, at a fraction of its cost on PostgreSQL (a TRUNCATE
    replaces each table's and index's files), and without building an app per test.
    """

    def __init__(self, url):
        # One app for the session: its connection is kept between tests (pre-pinged, since
        # a test may end backends), so a cleaning costs a few statements.
        self.app = create_app(make_config(url, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True}))
        self.tables = [t for t in reversed(_db.metadata.sorted_tables) if t.name not in KEPT_TABLES]
        self.reference = {}  # table name -> its rows right after a cleaning
        self.sequences = {}  # sequence name -> (table name, last value after a cleaning)
        self.guarded = set()  # tables whose triggers refuse DELETE (append-only)
        with self.app.app_context():
            self.postgres = _db.engine.dialect.name == "postgresql"
        self._holding = " UNION ALL ".join(
            f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in self.tables
        )

    def _rows(self, table):
        return _db.session.execute(select(table).order_by(*table.primary_key.columns)).all()

    def _sequence_values(self):
        rows = _db.session.execute(
            text(
                "SELECT sequencename, last_value FROM pg_sequences "
                "WHERE schemaname = current_schema()"
            )
        )
        return dict(rows.all())

    def _changed(self):
        """The tables the test changed, by what they hold and (PostgreSQL) their sequences."""
        holding = set(_db.session.execute(text(self._holding)).scalars())
        changed = {
            t.name
            for t in self.tables
            if (t.name in holding) != (t.name in self.reference)
            or (t.name in holding and self._rows(t) != self.reference[t.name])
        }
        if self.postgres:
            for name, value in self._sequence_values().items():
                table, clean_value = self.sequences.get(name, (None, None))
                if table is not None and value != clean_value:
                    changed.add(table)
        return changed

    def clean(self, everything=False):
        with self.app.app_context():
            if self.postgres and not self.sequences:
                self._find_sequences_and_guards()
            changed = {t.name for t in self.tables} if everything else self._changed()
            if not changed:
                _db.session.rollback()
                return
            for table in self.tables:  # children first
                if table.name not in changed:
                    continue
                guarded = table.name in self.guarded
                if guarded:  # within this transaction only: others never see it off
                    _db.session.execute(text(f'ALTER TABLE "{table.name}" DISABLE TRIGGER USER'))
                _db.session.execute(table.delete())
                if guarded:
                    _db.session.execute(text(f'ALTER TABLE "{table.name}" ENABLE TRIGGER USER'))
            restarts = [name for name, (table, _) in self.sequences.items() if table in changed]
            if restarts:
                _db.session.execute(
                    text("SELECT " + ", ".join(f"setval('\"{n}\"', 1, false)" for n in restarts))
                )
            # Reference rows the app makes for itself (the migrations provide them too).
            catalog.ensure_default_categories()
            shipping.ensure_default_table()
            _db.session.commit()
            holding = set(_db.session.execute(text(self._holding)).scalars())
            self.reference = {t.name: self._rows(t) for t in self.tables if t.name in holding}
            if self.postgres:
                values = self._sequence_values()
                self.sequences = {
                    name: (table, values.get(name)) for name, (table, _) in self.sequences.items()
                }
            _db.session.rollback()

    def _find_sequences_and_guards(self):
        """Each sequence's table (serial or identity columns), and the guarded tables."""
        names = {t.name for t in self.tables}
        owned = _db.session.execute(
            text(
                "SELECT s.relname, t.relname FROM pg_class s "
                "JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i') "
                "JOIN pg_class t ON t.oid = d.refobjid "
                "WHERE s.relkind = 'S' AND t.relnamespace = to_regnamespace(current_schema())"
            )
        ).all()
        self.sequences = {seq: (table, None) for seq, table in owned if table in names}
        guarded = _db.session.execute(
            text(
                "SELECT DISTINCT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
                "WHERE NOT g.tgisinternal AND c.relnamespace = to_regnamespace(current_schema())"
            )
        ).scalars()
        self.guarded = set(guarded) & names

    def close(self):
        with self.app.app_context():
            _db.engine.dispose()


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


#: Tests that share the machine's Redis database 15 (one flushes it): one xdist worker
#: runs them all, one after the other.
SHARED_REDIS_GROUP = "shared-redis"
#: The reliability scenarios run one at a time (their figures and time bounds are about one
#: scenario, not two at once), on one xdist worker, from the start of the run.
RELIABILITY_GROUP = "reliability"


@pytest.hookimpl(trylast=True)  # after pytest groups the tests by database
def pytest_collection_modifyitems(config, items):
    """``postgres_only`` tests run on the PostgreSQL database alone. Under xdist, tests that
    must not overlap share a group, and the reliability scenarios, the longest, go first."""
    for item in items:
        params = getattr(item, "callspec", None)
        if (
            item.get_closest_marker("postgres_only")
            and params
            and params.params.get("database") == "sqlite"
        ):
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (row locks, triggers)"))
    durations = _recorded_durations()
    if durations:  # make mutation: the quickest tests first, so a mutant dies soonest (-x)
        items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
    if not _distributed(config):
        return
    for item in items:
        if item.get_closest_marker("reliability"):
            item.add_marker(pytest.mark.xdist_group(RELIABILITY_GROUP))
        elif "redis_url" in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group(SHARED_REDIS_GROUP))
    items.sort(key=lambda item: item.get_closest_marker("reliability") is None)


def _recorded_durations():
    """``{test id: seconds}`` from the file ``TEST_DURATIONS`` names (mutmut's stats, written
    by its first pass over the tests), or ``{}``."""
    path = os.environ.get("TEST_DURATIONS")
    if not path or not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as stats:
        return json.load(stats).get("duration_by_test", {})


def _distributed(config):
    """Whether this run hands its tests to xdist workers (``-n`` above 0)."""
    return bool(getattr(config.option, "numprocesses", None)) or hasattr(config, "workerinput")


class SharedApp:
    """The app of the tests that ask for no config overrides: one per database for the run.

    Building an app costs more than most tests (Werkzeug compiles every URL rule again), so
    the first ``make_app()`` of a test gets this one, put back as built: its configuration,
    no per-app state made since (``app.extensions`` entries such as the catalog's memory or
    the broker's pause), empty rate-limit counters and cache, and its Celery app the default.
    A test may still set it up further (a view of its own) as a new app allows; the app is
    then built afresh for the next test. Tests with overrides, and a test's second app, get
    new apps as before.
    """

    def __init__(self, url):
        self.url = url
        self.app = None

    def get(self):
        if self.app is not None and _structure(self.app) != self.structure:
            self.close()  # a test added views or hooks to it
        if self.app is None:
            self.app = create_app(make_config(self.url))
            self.app.test_client_class = Client
            self.config = dict(self.app.config)
            self.extensions = dict(self.app.extensions)
            self.structure = _structure(self.app)
            return self.app
        app = self.app
        app.config.clear()
        app.config.update(self.config)
        app.extensions.clear()
        app.extensions.update(self.extensions)
        app.extensions["talat_limiter"].storage.reset()
        for cache in app.extensions["cache"].values():
            cache.clear()
        app.extensions["celery"].set_default()
        app._got_first_request = False  # set-up methods work again, as on a new app
        return app

    def close(self):
        if self.app is not None:
            with self.app.app_context():
                _db.engine.dispose()
            self.app = None


def _structure(app):
    """What a test could add to an app: views, URL rules, hooks, error handlers, template
    helpers (each by identity)."""
    hooks = [
        app.before_request_funcs,
        app.after_request_funcs,
        app.teardown_request_funcs,
        app.template_context_processors,
        app.url_value_preprocessors,
        app.url_default_functions,
    ]
    return (
        sorted((name, id(view)) for name, view in app.view_functions.items()),
        sorted(rule.rule for rule in app.url_map.iter_rules()),
        sorted((str(key), [id(f) for f in funcs]) for hook in hooks for key, funcs in hook.items()),
        [id(f) for f in app.teardown_appcontext_funcs],
        sorted(
            (str(scope), str(code), repr(error), id(handler))
            for scope, codes in app.error_handler_spec.items()
            for code, handlers in codes.items()
            for error, handler in handlers.items()
        ),
        sorted(app.jinja_env.filters),
        sorted(app.jinja_env.globals),
        sorted(app.blueprints),
    )


@pytest.fixture
def make_app(database):
    """An app on the test database, with config overrides; the tables are emptied after.

    Without overrides, the test's first app is the database's shared one (``SharedApp``).
    """
    apps = []

    def factory(**overrides):
        if not overrides and not apps:
            app = database["shared_app"].get()
        else:
            app = create_app(make_config(database["url"], **overrides))
            app.test_client_class = Client
        apps.append(app)
        return app

    yield factory
    for app in apps:
        if app is not database["shared_app"].app:
            with app.app_context():
                _db.engine.dispose()
    database["cleaner"].clean()


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
def figures(request):
    """``figures(text)`` records a measured figure; the run prints them all at its end."""

    def record(text):
        # On the test's report, so that it reaches the summary from an xdist worker too.
        request.node.user_properties.append(("figure", text))
        print(text)

    return record


def pytest_runtest_logreport(report):
    if report.when == "call":
        _FIGURES.extend(value for name, value in report.user_properties if name == "figure")


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


if os.environ.get("TEST_SQLITE_TEMPLATE"):
    # make mutation forks a process per mutant after the tests are collected: an app built
    # once here imports, before the fork, every module an app imports lazily.
    create_app(make_config("sqlite://"))
