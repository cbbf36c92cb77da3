"""Health of the parts the marketplace needs: the database and the broker."""

import logging

import redis
from sqlalchemy import text

from marketplace.extensions import db

log = logging.getLogger(__name__)


def _database():
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:
        db.session.rollback()
        log.warning("health: database unreachable: %s", exc)
        return "unreachable"


def _broker(url):
    if not url:
        return "none (tasks run in-process)"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    except Exception as exc:
        log.warning("health: broker unreachable: %s", exc)
        return "unreachable"


def check_health(app):
    """``{"status", "database", "broker"}``; status names the parts that are down."""
    report = {"database": _database(), "broker": _broker(app.config["CELERY_BROKER_URL"])}
    down = [part for part, state in report.items() if state == "unreachable"]
    report["status"] = "ok" if not down else "down: " + ", ".join(down)
    return report
