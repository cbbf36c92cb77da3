"""Where an action comes from, set at the boundary and read by the audit service.

Web requests store the client's address (``request.remote_addr``: the client's own behind
``TRUSTED_PROXIES``, after ProxyFix); Celery tasks and CLI commands store "task" or "cli".
Services never read ``request``: they read this.
"""

from contextlib import contextmanager
from contextvars import ContextVar

_origin = ContextVar("marketplace_audit_origin", default="")


def current_origin():
    """The client's address, "task", "cli", or "" when nobody said."""
    return _origin.get()


@contextmanager
def origin(value):
    """Within the block, audit records say they came from ``value`` ("task", "cli"...)."""
    token = _origin.set(value)
    try:
        yield
    finally:
        _origin.reset(token)


def install(app):
    """Store each request's client address for the audit trail, and forget it after."""
    from flask import g, request

    @app.before_request
    def remember_client_address():
        g._audit_origin_token = _origin.set((request.remote_addr or "")[:45])

    @app.teardown_request
    def forget_client_address(error=None):
        token = g.pop("_audit_origin_token", None)
        if token is not None:
            try:
                _origin.reset(token)
            except ValueError:  # set in another context: nothing of ours to undo
                _origin.set("")
