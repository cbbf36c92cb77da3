"""gunicorn settings: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Environment:

- ``GUNICORN_BIND``: the address to listen on, e.g. ``0.0.0.0:8000`` or
  ``unix:/run/talat.sock``; when unset, ``HOST`` (default ``127.0.0.1``) and ``PORT``
  (default ``8000``).
- ``WEB_CONCURRENCY``: worker processes (default 2).
- ``LOG_LEVEL``, ``LOG_JSON``: as for the app. gunicorn's own lines go through the app's
  handler (one JSON object per line when ``LOG_JSON`` is on, as in production); its access
  log is off because the app writes one access line per request, with the request id.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from marketplace.logs import gunicorn_logconfig  # noqa: E402 (needs the path above)

bind = os.environ.get("GUNICORN_BIND") or (
    f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"
)
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
graceful_timeout = 30
accesslog = None
logconfig_dict = gunicorn_logconfig()
# No control socket: its default path is one per user, shared by every gunicorn on the machine.
control_socket_disable = True


def post_worker_init(worker):
    """Warm each worker before it takes a request: SQLAlchemy configures its mappers and
    loads the PostgreSQL dialect on the first query, and a pooled connection opens; the
    first buyer served by that worker would otherwise wait over a second for it."""
    from sqlalchemy.orm import configure_mappers

    from marketplace.extensions import db

    configure_mappers()
    try:
        with worker.wsgi.app_context(), db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except Exception as error:  # noqa: BLE001 (the database may be down: requests will say so)
        worker.log.warning("worker warm-up: no database connection yet: %s", error)
