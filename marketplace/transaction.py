"""The unit of work: one commit at the boundary of a request, task or command; work run
when that commit happens or is rolled back; and no network call inside a transaction.

Services flush and never commit. The boundary (a view, a Celery task, a CLI command) makes
its changes inside :func:`unit_of_work` (or :func:`attempt`, for a form whose service may
refuse), which commits once when the work is done and rolls back if it raises, as indico's
``RH.process`` does for its request handlers.

A call over the network (Stripe above all) never runs with a transaction open: a slow
answer would hold the connection and every row lock taken so far. The boundary reads what
the call needs, ends that read-only transaction with :func:`end_reads`, makes the call, and
records the answer in a unit of work of its own; :func:`require_no_transaction` is the
guard the one Stripe module runs before every call.

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
from contextlib import contextmanager

from flask_sqlalchemy.session import Session
from sqlalchemy import event

from marketplace.errors import DomainError
from marketplace.extensions import db

log = logging.getLogger(__name__)

_CALLBACKS = "transaction_callbacks"
_MARKS = "transaction_savepoint_marks"
_RELEASED = "transaction_savepoints_released"
#: Set once the transaction has written (or locked) anything: flushed ORM changes, an
#: INSERT, UPDATE or DELETE, or a SELECT ... FOR UPDATE.
_WROTE = "transaction_wrote"


class TransactionOpen(RuntimeError):
    """A network call was about to run inside an open database transaction (a bug)."""


@contextmanager
def unit_of_work(session=None):
    """Be the boundary of one request, task or command: commit once when the block ends,
    roll back (and re-raise) if it raises."""
    session = session or db.session()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()


def attempt(call, refused=None):
    """Run ``call()`` (a service) as the unit of work of a page's POST.

    Returns ``(True, result)`` once committed. When the service refuses (a DomainError)
    its work is rolled back, ``refused(error)`` shows the error (``form.show_error``) and
    ``(False, error)`` is returned: a refused POST commits nothing.
    """
    try:
        with unit_of_work():
            result = call()
    except DomainError as error:
        if refused is not None:
            refused(error)
        return False, error
    return True, result


def end_reads(session=None):
    """End the session's transaction, which must have written nothing, before a call over
    the network: the call then holds no connection, snapshot or row lock. Objects loaded so
    far are expired and load again when next used (in a transaction of their own)."""
    session = session or db.session()
    if not session.in_transaction():
        return
    if (
        session.new
        or session.dirty
        or session.deleted
        or session.info.get(_WROTE)
        or session.info.get(_CALLBACKS)
    ):
        raise TransactionOpen(
            "end_reads() in a transaction that has written: commit the work first, or make "
            "the network call before it"
        )
    session.rollback()


def require_no_transaction(what, session=None):
    """Refuse to go on with ``what`` (a network call) while a transaction is open."""
    session = session or db.session()
    if session.in_transaction():
        raise TransactionOpen(f"{what} inside an open database transaction")


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
        session.info.pop(_WROTE, None)
        # The outermost transaction ended without committing what is left.
        for kind, fn in session.info.pop(_CALLBACKS, []):
            if kind == "rollback":
                _run(fn)
        session.info.pop(_MARKS, None)
        session.info.pop(_RELEASED, None)


def _after_flush(session, flush_context):
    session.info[_WROTE] = True


def _do_orm_execute(state):
    statement = state.statement
    if (
        state.is_insert
        or state.is_update
        or state.is_delete
        or getattr(statement, "_for_update_arg", None) is not None
    ):
        state.session.info[_WROTE] = True


def install():
    """Listen on every Flask-SQLAlchemy session; idempotent."""
    for name, fn in (
        ("after_flush", _after_flush),
        ("do_orm_execute", _do_orm_execute),
        ("after_transaction_create", _after_transaction_create),
        ("after_commit", _after_commit),
        ("after_transaction_end", _after_transaction_end),
    ):
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)
