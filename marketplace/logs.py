"""Logging: one line per event; JSON when ``LOG_JSON`` is on (production).

Every record handled by the marketplace handler carries its context: ``request_id`` while
a web request is handled (see :func:`install_request_ids`), ``task_id`` and ``task_name``
inside a Celery task (worker, or ``.apply()`` in-process). :class:`ContextFilter` adds
them; the formatters print them (JSON fields, or a short ``[...]`` suffix in plain text).

Web processes log one access line per request (``marketplace.access``); gunicorn's own
access log is off and its error log goes through the same handler (``gunicorn.conf.py``).
"""

import contextlib
import json
import logging
import math
import os
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

_HANDLER_NAME = "marketplace"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: The request id of the request being handled in this context (thread, greenlet).
_request_id = ContextVar("marketplace_request_id", default=None)

#: What :class:`ContextFilter` adds to records, in this order.
CONTEXT_FIELDS = ("request_id", "task_id", "task_name")

#: A LogRecord's own attributes: everything else on a record is an ``extra``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
#: Extras never written: celery's ``data`` repeats task arguments and return values.
_SKIPPED_EXTRAS = frozenset({"data"})
#: JSON allows these raw; ``str.splitlines`` and some log readers break lines on them.
_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}

access_log = logging.getLogger("marketplace.access")


# Context


def current_request_id():
    """The id of the request being handled, or None."""
    return _request_id.get()


def _current_task():
    try:
        from celery._state import get_current_task

        task = get_current_task()
        if task is None:
            return None, None
        return getattr(task.request, "id", None), task.name
    except Exception:
        return None, None


class ContextFilter(logging.Filter):
    """Adds ``request_id``, ``task_id`` and ``task_name`` (when known) to every record."""

    def filter(self, record):
        with contextlib.suppress(Exception):  # context is a bonus: never lose the line
            if getattr(record, "request_id", None) is None:
                request_id = _request_id.get()
                if request_id is not None:
                    record.request_id = request_id
            if getattr(record, "task_id", None) is None:
                task_id, task_name = _current_task()
                if task_id is not None:
                    record.task_id = task_id
                    record.task_name = task_name
        return True


def _context(record):
    return {
        name: getattr(record, name)
        for name in CONTEXT_FIELDS
        if getattr(record, name, None) is not None
    }


# Formatters


def _message(record):
    try:
        return record.getMessage()
    except Exception:
        return f"{record.msg!s} (bad log arguments: {record.args!r})"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line; never raises."""

    def format(self, record):
        try:
            return self._format(record)
        except Exception as exc:
            fallback = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "level": getattr(record, "levelname", "ERROR"),
                "logger": str(getattr(record, "name", "")),
                "message": f"unformattable log record ({exc.__class__.__name__})",
            }
            return json.dumps(fallback)

    def _format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
        }
        if record.exc_info:
            try:
                entry["exception"] = self.formatException(record.exc_info)
            except Exception:
                entry["exception"] = repr(record.exc_info[1])
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        entry.update(_context(record))
        for key, value in record.__dict__.items():
            key = str(key)
            if (
                key in entry
                or key in _RECORD_ATTRIBUTES
                or key in _SKIPPED_EXTRAS
                or key.startswith("_")
            ):
                continue
            entry[key] = value
        try:
            line = json.dumps(entry, ensure_ascii=False, allow_nan=False, default=_safe_str)
        except (TypeError, ValueError, RecursionError):  # odd keys, cycles, NaN: as text
            entry = {key: _plain(value) for key, value in entry.items()}
            line = json.dumps(entry, ensure_ascii=False)
        if any(ch in line for ch in _LINE_BREAKS):
            for ch, escaped in _LINE_BREAKS.items():
                line = line.replace(ch, escaped)
        return line


def _plain(value):
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return _safe_str(value)


def _safe_str(value):
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


class TextFormatter(logging.Formatter):
    """The plain format, with the context as a short suffix: ``[req=… task=name[id]]``."""

    def __init__(self, fmt=PLAIN_FORMAT, *args, **kwargs):
        super().__init__(fmt, *args, **kwargs)

    def formatMessage(self, record):  # noqa: N802 (logging's name)
        line = super().formatMessage(record)
        tags = []
        if getattr(record, "request_id", None):
            tags.append(f"req={record.request_id}")
        if getattr(record, "task_id", None):
            tags.append(f"task={record.task_name}[{record.task_id}]")
        return f"{line} [{' '.join(tags)}]" if tags else line


def make_handler(json_lines, stream=None):
    """The marketplace handler: a stream (stderr), the context filter, the chosen format."""
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.name = _HANDLER_NAME
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    return handler


def configure_logging(app):
    """Send every log record (the app's, celery's, gunicorn's) to one stderr handler."""
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)  # its lines would be printed twice
    for name in ("celery", "celery.task", "celery.redirected"):
        # Celery's own lines (received, succeeded, retry) reach the root handler only.
        logger = logging.getLogger(name)
        logger.propagate = True
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
    root = logging.getLogger()
    if any(getattr(h, "name", None) == _HANDLER_NAME for h in root.handlers):
        return
    root.addHandler(make_handler(app.config["LOG_JSON"]))
    root.setLevel(app.config["LOG_LEVEL"])


# Web requests: request ids and the access line

_SANE_REQUEST_ID = re.compile(r"[\x20-\x7e]{1,100}")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\U0010ffff]|[\u2028\u2029]")


def sane_request_id(value):
    """``value`` if it can serve as a request id (printable ASCII, 1-100 chars), else None."""
    if value and _SANE_REQUEST_ID.fullmatch(value) and value.strip():
        return value
    return None


def _printable(text):
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _user_id():
    """The signed-in user's id (session or API token) if already loaded; never a query."""
    from flask import g
    from sqlalchemy import inspect
    from sqlalchemy.exc import NoInspectionAvailable

    user = g.get("api_user") or g.get("_login_user")
    if user is None:
        return None
    try:
        identity = inspect(user).identity
    except NoInspectionAvailable:  # the anonymous user
        return None
    return identity[0] if identity and len(identity) == 1 else None


def install_request_ids(app):
    """Give every request an id and write one access line when it is done.

    The id is the incoming ``X-Request-ID`` when sane (nginx sets one), else a new uuid4
    hex. It is on ``g.request_id``, in the ``X-Request-ID`` response header and on every
    record logged while the request is handled. Call it first in ``create_app`` so that its
    hooks run before (and its after-request hooks after) every other one.
    """
    from flask import g, request

    static_prefix = (app.static_url_path or "/static").rstrip("/") + "/"

    @app.before_request
    def assign_request_id():
        g.request_id = sane_request_id(request.headers.get("X-Request-ID")) or uuid.uuid4().hex
        g._request_started = time.perf_counter()
        g._request_id_token = _request_id.set(g.request_id)

    @app.after_request
    def send_request_id(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        g._response_status = response.status_code
        return response

    @app.teardown_request
    def write_access_line(error=None):
        token = g.pop("_request_id_token", None)
        if token is None:
            return
        try:
            path = request.path
            if not path.startswith(static_prefix):
                _access_line(path)
        except Exception:
            logging.getLogger(__name__).exception("could not write the access line")
        finally:
            try:
                _request_id.reset(token)
            except ValueError:  # set in another context: nothing of ours to undo
                _request_id.set(None)


def _access_line(path):
    from flask import g, request

    level = logging.DEBUG if path == "/healthz" else logging.INFO
    if not access_log.isEnabledFor(level):
        return
    status = g.get("_response_status") or 500
    started = g.get("_request_started")
    duration_ms = int(round((time.perf_counter() - started) * 1000)) if started else 0
    method = _printable(request.method)
    path = _printable(path)
    fields = {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
    }
    user_id = _user_id()
    if user_id is not None:
        fields["user_id"] = user_id
    access_log.log(
        level,
        "%s %s %s %sms",
        method,
        path,
        status,
        duration_ms,
        extra=fields,
    )


# gunicorn


def logging_settings(env=None):
    """``(LOG_LEVEL, LOG_JSON)`` as the app reads them, for processes without an app."""
    from config import CONFIGS, Config, ConfigError

    env = os.environ if env is None else env
    cls = CONFIGS.get(env.get("MARKETPLACE_CONFIG") or "default", Config)
    try:
        config = cls(env=env)
    except ConfigError:  # some other setting is wrong: the app will say which
        config = cls(env={key: env[key] for key in ("LOG_LEVEL", "LOG_JSON") if key in env})
    return config.LOG_LEVEL, config.LOG_JSON


def gunicorn_logconfig(env=None):
    """gunicorn's ``logconfig_dict``: its error log through the marketplace handler (JSON
    when ``LOG_JSON``), its access log off (the app writes its own, with the request id)."""
    level, json_lines = logging_settings(env)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {
            "json": {"()": JsonFormatter},
            "plain": {"()": TextFormatter},
        },
        "handlers": {
            _HANDLER_NAME: {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "filters": ["context"],
                "formatter": "json" if json_lines else "plain",
            },
            "null": {"class": "logging.NullHandler"},
        },
        "root": {"level": level, "handlers": [_HANDLER_NAME]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "CRITICAL", "handlers": ["null"], "propagate": False},
            # Seven "setup plugin" lines per process as flask-migrate loads: noise.
            "alembic.runtime.plugins": {"level": "WARNING"},
        },
    }
