"""Logs: one line per event, with the request id on web lines and the task id on task lines."""

import io
import json
import logging
import re
import sys

import pytest
from flask import g

from marketplace.logs import (
    JsonFormatter,
    TextFormatter,
    gunicorn_logconfig,
    logging_settings,
    make_handler,
)
from tests.conftest import PASSWORD
from tests.factories import UserFactory

NEW_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_lines():
    """Every record the root logger handles, as the production handler writes it (JSON)."""
    stream = io.StringIO()
    handler = make_handler(json_lines=True, stream=stream)
    handler.name = "test-json"
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)

    def lines(logger=None):
        text = stream.getvalue()
        parsed = [json.loads(line) for line in text.splitlines()]
        return [entry for entry in parsed if logger is None or entry["logger"] == logger]

    lines.raw = stream.getvalue
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


def access_lines(log_lines, path=None):
    return [e for e in log_lines("marketplace.access") if path is None or e["path"] == path]


# Request ids


def test_every_request_gets_a_new_id_sent_back(client):
    first = client.get("/about").headers["X-Request-ID"]
    second = client.get("/about").headers["X-Request-ID"]

    assert NEW_ID.fullmatch(first) and NEW_ID.fullmatch(second)
    assert first != second


@pytest.mark.parametrize("incoming", ["7f3a9c0e1b2d4e5f", "nginx-1.req:42/a_b", "x" * 100])
def test_a_sane_incoming_request_id_is_kept(client, incoming):
    response = client.get("/about", headers={"X-Request-ID": incoming})

    assert response.headers["X-Request-ID"] == incoming


@pytest.mark.parametrize(
    "incoming", ["x" * 101, "abc\x01def", "tab\tid", "caf\xe9", "   ", "del\x7f"]
)
def test_an_insane_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/about", headers={"X-Request-ID": incoming})

    assert NEW_ID.fullmatch(response.headers["X-Request-ID"])


def test_lines_logged_while_handling_a_request_carry_its_id(make_app, log_lines):
    app = make_app()
    seen = {}

    @app.get("/_log-test")
    def log_something():
        seen["g"] = g.request_id
        logging.getLogger("marketplace.test").warning("in the view: %s", "hello")
        return "ok"

    response = app.test_client().get("/_log-test", headers={"X-Request-ID": "req-123"})

    assert response.headers["X-Request-ID"] == seen["g"] == "req-123"
    [line] = log_lines("marketplace.test")
    assert line["message"] == "in the view: hello"
    assert line["level"] == "WARNING"
    assert line["request_id"] == "req-123"
    assert "task_id" not in line
    # Outside the request, lines have no request id.
    logging.getLogger("marketplace.test").warning("after")
    assert "request_id" not in log_lines("marketplace.test")[-1]


# The access line


def test_one_access_line_per_request_without_the_query_string(client, log_lines):
    response = client.get("/about?email=somying@example.com&token=secret-token")

    [line] = access_lines(log_lines)
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["path"] == "/about"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], int) and line["duration_ms"] >= 0
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["message"] == f"GET /about 200 {line['duration_ms']}ms"
    assert "user_id" not in line
    raw = log_lines.raw()
    assert "somying" not in raw and "secret-token" not in raw and "?" not in raw


def test_access_line_of_a_missing_page_says_404(client, log_lines):
    client.get("/no-such-page")

    [line] = access_lines(log_lines, "/no-such-page")
    assert line["status"] == 404


def test_access_line_names_the_signed_in_user_by_id_only(client, db, log_lines):
    user = UserFactory(email="somchai@example.com")
    db.session.commit()
    client.login("somchai@example.com")

    client.get("/account", headers={"Authorization": "Bearer not-a-real-token"})

    [line] = access_lines(log_lines, "/account")
    assert line["status"] == 200
    assert line["user_id"] == user.id
    logins = [e for e in access_lines(log_lines, "/login") if e["method"] == "POST"]
    assert [e["status"] for e in logins] == [302]
    raw = log_lines.raw()
    assert "somchai@example.com" not in raw
    assert PASSWORD not in raw and "not-a-real-token" not in raw


def test_static_files_have_no_access_line_and_health_checks_log_at_debug(client, log_lines):
    client.get("/static/no-such-file.css")
    client.get("/healthz")

    assert not [e for e in access_lines(log_lines) if e["path"].startswith("/static/")]
    [health] = access_lines(log_lines, "/healthz")
    assert health["level"] == "DEBUG"


# Tasks


def test_lines_logged_inside_a_task_carry_its_id_and_name(app, log_lines):
    celery = app.extensions["celery"]

    @celery.task(name="tests.logs.say_hello", shared=False)
    def say_hello():
        logging.getLogger("marketplace.test").info("hello from a task")
        return 1

    result = say_hello.apply()

    assert result.successful()
    [line] = log_lines("marketplace.test")
    assert line["task_id"] == result.id
    assert line["task_name"] == "tests.logs.say_hello"
    assert "request_id" not in line
    logging.getLogger("marketplace.test").info("after the task")
    assert "task_id" not in log_lines("marketplace.test")[-1]


def test_a_task_run_in_process_during_a_request_carries_both_ids(client, log_lines):
    """The embedded default: the registration mail's task runs in-process after the commit."""
    form = {
        "name": "สมหญิง รักชุมชน",
        "email": "somying@example.com",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "language": "th",
    }
    response = client.submit("/register", form)

    assert response.status_code == 302
    [mail] = log_lines("marketplace.mail")
    assert mail["task_name"] == "tasks.mail.send_registration_link"
    assert mail["task_id"]
    assert mail["request_id"] == response.headers["X-Request-ID"]


# Formatters


def _record(msg="hello", args=(), exc_info=None, **extra):
    record = logging.LogRecord("marketplace.test", logging.ERROR, __file__, 1, msg, args, exc_info)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


class Unprintable:
    def __str__(self):
        raise RuntimeError("no")

    __repr__ = __str__


def test_json_line_holds_the_exception_and_odd_extras_on_one_line():
    try:
        raise ValueError("broken\nacross lines")
    except ValueError:
        exc_info = sys.exc_info()
    cycle = []
    cycle.append(cycle)
    record = _record(
        "line one\nline two\u2028three",
        exc_info=exc_info,
        request_id="req-1",
        task_id="task-1",
        task_name="tasks.x",
        when=object(),
        raw=b"\x00\xff",
        numbers={1, 2},
        unprintable=Unprintable(),
        data={"args": "secret"},
    )

    line = JsonFormatter().format(record)

    assert len(line.splitlines()) == 1
    entry = json.loads(line)
    assert entry["message"] == "line one\nline two\u2028three"
    assert entry["level"] == "ERROR" and entry["logger"] == "marketplace.test"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"])
    assert "ValueError: broken" in entry["exception"]
    assert entry["request_id"] == "req-1"
    assert (entry["task_id"], entry["task_name"]) == ("task-1", "tasks.x")
    assert entry["when"].startswith("<object object")
    assert entry["unprintable"] == "<unprintable Unprintable>"
    assert "data" not in entry  # celery's task arguments stay out

    # A cycle, NaN and keys JSON cannot hold: still one valid line.
    entry = json.loads(
        JsonFormatter().format(_record(cycle=cycle, nan=float("nan"), keyed={(1, 2): 3}))
    )
    assert entry["message"] == "hello"
    assert entry["nan"] == "nan"


def test_json_line_survives_bad_log_arguments():
    entry = json.loads(JsonFormatter().format(_record("%d items", args=("many",))))

    assert entry["message"].startswith("%d items")


def test_plain_lines_end_with_the_context():
    formatter = TextFormatter()

    assert formatter.format(_record("hi", request_id="abc")).endswith(
        "marketplace.test: hi [req=abc]"
    )
    assert formatter.format(_record("hi", task_id="t1", task_name="tasks.x")).endswith(
        "hi [task=tasks.x[t1]]"
    )
    assert formatter.format(_record("hi")).endswith("marketplace.test: hi")


# Settings for processes without an app (gunicorn)


def test_logging_settings_follow_the_configuration_classes():
    assert logging_settings({}) == ("INFO", False)
    assert logging_settings({"MARKETPLACE_CONFIG": "production"}) == ("INFO", True)
    assert logging_settings(
        {"MARKETPLACE_CONFIG": "production", "LOG_JSON": "false", "LOG_LEVEL": "debug"}
    ) == ("DEBUG", False)
    # Another setting being wrong does not hide the log settings.
    assert logging_settings({"LOG_JSON": "true", "TRUSTED_PROXIES": "many"}) == ("INFO", True)


def test_gunicorn_logs_through_one_handler_and_writes_no_access_log():
    config = gunicorn_logconfig({"MARKETPLACE_CONFIG": "production"})

    assert config["handlers"]["marketplace"]["formatter"] == "json"
    assert config["root"]["handlers"] == ["marketplace"]
    assert config["loggers"]["gunicorn.error"]["handlers"] == []
    assert config["loggers"]["gunicorn.error"]["propagate"] is True
    assert config["loggers"]["gunicorn.access"]["propagate"] is False
    assert gunicorn_logconfig({})["handlers"]["marketplace"]["formatter"] == "plain"
