"""Configuration: classes, overrides, and production refusing to start without its settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).parent / "flask")
PRODUCTION = {
    "MARKETPLACE_CONFIG": "production",
    "SECRET_KEY": "a-real-secret",
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/talat",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def run(command, env_changes, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    env.update(env_changes)
    for name in drop:
        env.pop(name, None)
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"])
@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-c", "import wsgi"],
        [FLASK, "--app", "wsgi", "routes"],
        [FLASK, "--app", "wsgi", "db", "upgrade"],
        [sys.executable, "-c", "import tasks.worker"],
    ],
    ids=["import-wsgi", "flask-routes", "flask-db-upgrade", "celery-worker-module"],
)
def test_production_refuses_to_start_without_a_required_setting(missing, command):
    result = run(command, {k: v for k, v in PRODUCTION.items() if k != missing})

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert missing in lines[0]


def test_production_refuses_a_sqlite_database():
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_config(env={**PRODUCTION, "DATABASE_URL": "sqlite:///x.db"})


def test_production_with_every_setting_loads():
    config = load_config(env=PRODUCTION)

    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://postgres@127.0.0.1:5432/talat"
    assert config.SESSION_COOKIE_SECURE is True
    assert config.LOG_JSON is True


def test_default_is_sqlite_under_instance_with_no_broker():
    config = load_config(env={})

    assert config.SQLALCHEMY_DATABASE_URI.startswith("sqlite:///")
    assert config.SQLALCHEMY_DATABASE_URI.endswith("instance/talat.sqlite3")
    assert config.CELERY_BROKER_URL == ""


@pytest.mark.parametrize("name", ["default", "testing", "production"])
def test_database_and_broker_urls_override_every_class(name):
    env = {
        **PRODUCTION,
        "MARKETPLACE_CONFIG": name,
        "DATABASE_URL": "postgresql://u@db.internal:5432/other",
        "CELERY_BROKER_URL": "redis://queue.internal:6379/3",
    }

    config = load_config(env=env)

    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@db.internal:5432/other"
    assert config.CELERY_BROKER_URL == "redis://queue.internal:6379/3"


def test_default_can_point_at_another_sqlite_file():
    config = load_config(env={"DATABASE_URL": "sqlite:////tmp/elsewhere.sqlite3"})
    assert config.SQLALCHEMY_DATABASE_URI == "sqlite:////tmp/elsewhere.sqlite3"


def test_unknown_config_name_and_bad_numbers_are_named():
    with pytest.raises(ConfigError, match="MARKETPLACE_CONFIG"):
        load_config(env={"MARKETPLACE_CONFIG": "staging"})
    with pytest.raises(ConfigError, match="OUTBOX_REDISPATCH_AFTER"):
        load_config(env={"OUTBOX_REDISPATCH_AFTER": "soon"})


def test_without_secret_key_a_random_one_is_made_once_and_kept(tmp_path, monkeypatch):
    import stat

    import config

    key_file = tmp_path / "instance" / "secret_key"
    monkeypatch.setattr(config, "SECRET_KEY_FILE", key_file)

    first = load_config("default", env={}).SECRET_KEY
    again = load_config("default", env={}).SECRET_KEY

    assert len(first) >= 64 and first == again == key_file.read_text().strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # Another install gets another key; a key set in the environment wins.
    other = tmp_path / "elsewhere" / "secret_key"
    monkeypatch.setattr(config, "SECRET_KEY_FILE", other)
    assert first != load_config("default", env={}).SECRET_KEY
    assert load_config("default", env={"SECRET_KEY": "from-env"}).SECRET_KEY == "from-env"
    # No fixed fallback key is left anywhere in the configuration.
    assert "dev-only-insecure-key" not in (ROOT / "config.py").read_text()


def test_a_session_signed_with_another_installs_key_signs_nobody_in(make_app, db):
    from tests.conftest import PASSWORD
    from tests.factories import AdminFactory

    AdminFactory(email="admin@example.com")
    db.session.commit()
    forger = make_app(SECRET_KEY="dev-only-insecure-key-change-me").test_client()
    forger.login("admin@example.com", PASSWORD)
    cookie = forger.get_cookie("session").value

    victim = make_app().test_client()
    victim.set_cookie("session", cookie)

    assert forger.get("/admin/").status_code == 200
    assert victim.get("/admin/").status_code == 302  # sent to sign in
