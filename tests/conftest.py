"""Fixtures: every test runs on SQLite and on PostgreSQL.

The suite creates its own databases (a SQLite file in a temporary folder, and a fresh
PostgreSQL database it drops at the end), builds them with the migrations, and loads the
geography once. After each test every other table the test changed is emptied again
(``Cleaner``).

PostgreSQL is used whenever it is reachable; with ``CI=true`` an unreachable PostgreSQL
(or Redis, for the tests that need it) fails the run instead of skipping.

``TEST_SQLITE_TEMPLATE`` (a file path; ``make mutation`` sets it) keeps the migrated SQLite
database with its geography after the first build and copies it for every later session,
so a run that starts pytest many times (one per mutant) migrates once. It also keeps the
SQLite apps (and their engines, with the SQL they compiled) in the process from one pytest
run to the next: mutmut runs the tests once in its fork server and forks that warm process
for each mutant (``_kept_sqlite``).
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
    if template:
        yield from _kept_sqlite(template)
        return
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    else:
        url = create_postgres_database()
    cleaner = Cleaner(url)
    with cleaner.app.app_context():
        flask_migrate.upgrade()
        geo.load_geography()
        _db.session.commit()
    cleaner.clean(everything=True)
    shared_app = SharedApp(url)
    yield {"backend": backend, "url": url, "cleaner": cleaner, "shared_app": shared_app}
    shared_app.close()
    cleaner.close()
    if backend == "postgresql":
        drop_postgres_database(url)


#: make mutation: the SQLite database's cleaner and apps, kept in the process across pytest
#: runs (and inherited by the processes forked from it), by template path.
_KEPT = {}
#: The file name the kept apps are configured with; each process opens its own copy instead.
LIVE_SUFFIX = ".live"


@event.listens_for(Engine, "do_connect")
def _this_process_copy(dialect, connection_record, cargs, cparams):
    """A connection to ``<template>.live`` opens this process's copy of the template."""
    if cargs and isinstance(cargs[0], str) and cargs[0].endswith(LIVE_SUFFIX):
        cargs[0] = _process_copy(cargs[0].removesuffix(LIVE_SUFFIX))


def _process_copy(template):
    return f"{template}.process-{os.getpid()}"


def tamper(*statements, **params):
    """What the app never does (a hand edit, a broken script): SQL straight at the tables,
    on PostgreSQL past the journal's append-only triggers; committed."""
    postgres = _db.engine.dialect.name == "postgresql"
    tables = ("journal_entries", "journal_lines")
    if postgres:
        for table in tables:
            _db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
    for statement in statements:
        _db.session.execute(text(statement), params)
    if postgres:
        for table in tables:
            _db.session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"))
    _db.session.commit()


def sqlite_file(engine):
    """The file a SQLite engine's connections open (this process's copy, for a kept app)."""
    name = engine.url.database
    return _process_copy(name.removesuffix(LIVE_SUFFIX)) if name.endswith(LIVE_SUFFIX) else name


def _kept_sqlite(template):
    """The ``database`` fixture for ``make mutation``: a fresh copy of the template for this
    process, behind the apps this process (or the one it was forked from) already built."""
    path = _process_copy(template)
    copied = os.path.exists(template)
    if copied:
        shutil.copyfile(template, path)
    kept = _KEPT.get(template)
    if kept is None:
        url = f"sqlite:///{template}{LIVE_SUFFIX}"
        kept = {
            "backend": "sqlite",
            "url": url,
            "cleaner": Cleaner(url),
            "shared_app": SharedApp(url, keep_configured=True),
        }
        _KEPT[template] = kept
    # Connections pooled by the process this one was forked from are that process's.
    for app in kept["shared_app"].apps() + [kept["cleaner"].app]:
        _dispose(app, close=False)
    if not copied:
        with kept["cleaner"].app.app_context():
            flask_migrate.upgrade()
            geo.load_geography()
            _db.session.commit()
        _keep_template(path, template)
    kept["cleaner"].clean(everything=True)
    try:
        yield kept
    finally:
        for app in kept["shared_app"].apps() + [kept["cleaner"].app]:
            _dispose(app)
        os.remove(path)


def _dispose(app, close=True):
    with app.app_context():
        for engine in _db.engines.values():
            engine.dispose(close=close)


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
    if durations:
        items.sort(key=_kill_order(durations))
    if not _distributed(config):
        return
    for item in items:
        if item.get_closest_marker("reliability"):
            item.add_marker(pytest.mark.xdist_group(RELIABILITY_GROUP))
        elif "redis_url" in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group(SHARED_REDIS_GROUP))
    items.sort(key=lambda item: item.get_closest_marker("reliability") is None)


if os.environ.get("TEST_DURATIONS"):
    # make mutation: a property that fails has killed its mutant. Shrinking the example to
    # the simplest one can take minutes of CPU, and mutmut would stop it as a timeout.
    from hypothesis import Phase, settings

    settings.register_profile("mutation", phases=[Phase.explicit, Phase.reuse, Phase.generate])
    settings.load_profile("mutation")


def examples(count):
    """How many examples a Hypothesis property test tries: ``count``, or a fifth of it in a
    ``make mutation`` run (each surviving mutant reruns every test that reaches it; there the
    example-based tests do the killing and the property still runs)."""
    return max(count // 5, 1) if os.environ.get("TEST_DURATIONS") else count


def _mutated_function():
    """The function of the mutant under test (``make mutation``), or ``None``."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    return mutant.rpartition("__mutmut_")[0] or None


def _kill_order(durations):
    """make mutation: each mutant's run stops at its first failing test (-x), so the tests
    most likely to fail soonest go first: those that failed on other mutants of the same
    function (by failures per second of their own, from mutmut's stats), then those written
    for the mutated module (``MUTATION_OWN_TESTS``), then those that failed on any mutant
    (by failures per second), then the rest; each tier quickest first otherwise."""
    killers = _killers()
    function = _mutated_function() or ""
    here = killers.get(function, {})
    anywhere = {}
    for tests in killers.values():
        for test, count in tests.items():
            anywhere[test] = anywhere.get(test, 0) + count
    own = tuple(
        test_file
        for module, test_files in json.loads(os.environ.get("MUTATION_OWN_TESTS", "{}")).items()
        if function.startswith(module + ".")
        for test_file in test_files
    )

    def order(item):
        seconds = durations.get(item.nodeid, 0.0) + 0.01
        if item.nodeid in here:
            return (0, -here[item.nodeid] / seconds, seconds)
        if own and item.nodeid.startswith(own):
            return (1, -anywhere.get(item.nodeid, 0) / seconds, seconds)
        if item.nodeid in anywhere:
            return (2, -anywhere[item.nodeid] / seconds, seconds)
        return (3, 0.0, seconds)

    return order


def _killers_path():
    return os.path.join(os.path.dirname(os.environ["TEST_DURATIONS"]), "killers.jsonl")


def _killers():
    """``{function: {test id: how many of its mutants the test failed on}}``: the last full
    run's (``MUTATION_KILLERS_SEED``, tests/mutation_killers.json), then this run's so far."""
    found = {}
    seed = os.environ.get("MUTATION_KILLERS_SEED")
    if seed and os.path.exists(seed):
        with open(seed, encoding="utf-8") as seeded:
            found = json.load(seeded)
    path = _killers_path()
    if os.path.exists(path):
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if line.endswith("\n"):  # a line being written is skipped
                    seen = json.loads(line)
                    tests = found.setdefault(seen["function"], {})
                    tests[seen["test"]] = tests.get(seen["test"], 0) + 1
    return found


def _remember_killer(report):
    """A test failed on a mutant: its function's next mutants run that test first."""
    function = _mutated_function()
    if function and report.failed and os.environ.get("TEST_DURATIONS"):
        line = json.dumps({"function": function, "test": report.nodeid}) + "\n"
        with open(_killers_path(), "a", encoding="utf-8") as killers:
            killers.write(line)


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
    new apps as before, unless ``keep_configured`` (``make mutation``): then a test's first
    app is kept and put back the same way for each set of overrides.
    """

    def __init__(self, url, keep_configured=False):
        self.url = url
        self.keep_configured = keep_configured
        self.kept = {}  # repr of the overrides -> (app, config, extensions, structure)

    def get(self, **overrides):
        key = repr(sorted(overrides.items()))
        kept = self.kept.get(key)
        if kept is not None and _structure(kept[0]) != kept[3]:
            self._close(key)  # a test added views or hooks to it
            kept = None
        if kept is None:
            app = create_app(make_config(self.url, **overrides))
            app.test_client_class = Client
            self.kept[key] = (app, dict(app.config), dict(app.extensions), _structure(app))
            return app
        app, config, extensions, _ = kept
        app.config.clear()
        app.config.update(config)
        app.extensions.clear()
        app.extensions.update(extensions)
        app.extensions["talat_limiter"].storage.reset()
        for cache in app.extensions["cache"].values():
            cache.clear()
        app.extensions["celery"].set_default()
        app._got_first_request = False  # set-up methods work again, as on a new app
        return app

    def shares(self, overrides):
        return not overrides or self.keep_configured

    def holds(self, app):
        return any(kept[0] is app for kept in self.kept.values())

    def apps(self):
        return [kept[0] for kept in self.kept.values()]

    def _close(self, key):
        _dispose(self.kept.pop(key)[0])

    def close(self):
        for key in list(self.kept):
            self._close(key)


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
        if not apps and database["shared_app"].shares(overrides):
            app = database["shared_app"].get(**overrides)
        else:
            app = create_app(make_config(database["url"], **overrides))
            app.test_client_class = Client
        apps.append(app)
        return app

    yield factory
    for app in apps:
        if not database["shared_app"].holds(app):
            _dispose(app)
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
    _remember_killer(report)
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
