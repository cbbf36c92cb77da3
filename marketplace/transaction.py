"""Run work when the outermost database transaction commits, or when work is rolled back.

Services register callbacks in the current session; nothing runs before the request's
(or task's) one commit, and a savepoint understands its share:

- ``on_commit(fn)`` runs ``fn()`` after the outermost transaction commits; dropped if the
  transaction, or the savepoint it was registered in, rolls back;
- ``on_rollback(fn)`` runs ``fn()`` if the outermost transaction, or the savepoint it was
  registered in, rolls back (to undo work outside the database, such as written files);
  dropped on commit.

SQLAlchemy fires ``after_commit`` also when a savepoint is released, and a savepoint's
rollback is a rollback event too; the bookkeeping here tells the two apart.
"""

import logging

from flask_sqlalchemy.session import Session
from sqlalchemy import event

from marketplace.extensions import db

log = logging.getLogger(__name__)

_CALLBACKS = "transaction_callbacks"
_MARKS = "transaction_savepoint_marks"
_RELEASED = "transaction_savepoints_released"


def _callbacks(session):
    return session.info.setdefault(_CALLBACKS, [])


def _register(session, kind, fn):
    session = session or db.session()
    if not session.in_transaction():
        session.connection()  # begin now, so the callback belongs to this transaction
    _callbacks(session).append((kind, fn))


def on_commit(fn, session=None):
    _register(session, "commit", fn)


def on_rollback(fn, session=None):
    _register(session, "rollback", fn)


def _run(fn):
    try:
        fn()
    except Exception:  # a callback must never break the commit that already happened
        log.exception("transaction callback %r failed", fn)


def _after_transaction_create(session, transaction):
    if transaction.nested:
        session.info.setdefault(_MARKS, {})[transaction] = len(_callbacks(session))


def _after_commit(session):
    savepoint = session.get_nested_transaction()
    if savepoint is not None:  # a savepoint released: the outer transaction goes on
        session.info.setdefault(_RELEASED, set()).add(savepoint)
        return
    callbacks = session.info.pop(_CALLBACKS, [])
    for kind, fn in callbacks:
        if kind == "commit":
            _run(fn)


def _after_transaction_end(session, transaction):
    if transaction.nested:
        mark = session.info.get(_MARKS, {}).pop(transaction, None)
        released = session.info.get(_RELEASED, set())
        if transaction in released:
            released.discard(transaction)
        elif mark is not None:  # rolled back: its callbacks go, its undo work runs
            callbacks = _callbacks(session)
            undone, callbacks[mark:] = callbacks[mark:], []
            for kind, fn in undone:
                if kind == "rollback":
                    _run(fn)
    elif transaction.parent is None:
        # The outermost transaction ended without committing what is left.
        for kind, fn in session.info.pop(_CALLBACKS, []):
            if kind == "rollback":
                _run(fn)
        session.info.pop(_MARKS, None)
        session.info.pop(_RELEASED, None)


def install():
    """Listen on every Flask-SQLAlchemy session; idempotent."""
    for name, fn in (
        ("after_transaction_create", _after_transaction_create),
        ("after_commit", _after_commit),
        ("after_transaction_end", _after_transaction_end),
    ):
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)
