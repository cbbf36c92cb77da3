"""Celery, bound to the Flask app (Flask's FlaskTask pattern). Only this package defines tasks.

Worker: ``celery -A tasks.worker worker``; beat (exactly one): ``celery -A tasks.worker beat``.
"""

import logging
import threading
import time
import traceback
from datetime import datetime

from celery import Celery, Task
from celery.schedules import crontab

from config import INSTANCE_DIR
from marketplace.audit.context import origin as audit_origin
from marketplace.extensions import db
from marketplace.i18n import BANGKOK
from marketplace.outbox import services as outbox_services

log = logging.getLogger(__name__)

MAX_RETRIES = 8

#: Modules holding tasks; imported so every worker registers them.
TASK_MODULES = (
    "tasks.outbox",
    "tasks.mail",
    "tasks.notifications",
    "tasks.orders",
    "tasks.levy",
    "tasks.payments",
    "tasks.payouts",
    "tasks.grouporders",
    "tasks.bench",
)


def bangkok_now():
    """Now in Bangkok, for schedules set in Bangkok time (a module function: beat pickles
    its schedule)."""
    return datetime.now(BANGKOK)


def weekly(moment):
    """A crontab for ``"mon 09:00"`` (a weekday and a Bangkok time)."""
    day, clock = moment.split()
    hour, minute = clock.split(":")
    return crontab(minute=int(minute), hour=int(hour), day_of_week=day, nowfun=bangkok_now)


def beat_schedule(config):
    """The whole beat schedule, in one place."""
    schedule = _beat_schedule(config)
    if config.get("PAYOUT_RUN_SCHEDULE"):
        # Off by default: an admin starts runs. Only a real beat keeps crontab schedules.
        schedule["payouts-weekly-run"] = {
            "task": "tasks.payouts.start_run",
            "schedule": weekly(config["PAYOUT_RUN_SCHEDULE"]),
        }
    return schedule


def _beat_schedule(config):
    sweep_every = float(config["OUTBOX_SWEEP_INTERVAL"])
    return {
        "outbox-sweep": {
            "task": "tasks.outbox.sweep",
            "schedule": sweep_every,
            # A sweep nobody ran in time is dropped: the next one does its work.
            "options": {"expires": sweep_every},
        },
        "orders-expire-unpaid": {
            "task": "tasks.orders.expire_unpaid",
            "schedule": float(config["ORDER_EXPIRY_SWEEP_INTERVAL"]),
            "options": {"expires": float(config["ORDER_EXPIRY_SWEEP_INTERVAL"])},
        },
        "orders-auto-deliver": {
            "task": "tasks.orders.auto_deliver",
            "schedule": 3600.0,
            "options": {"expires": 3600.0},
        },
        "grouporders-close-due": {
            "task": "tasks.grouporders.close_due",
            "schedule": float(config["GROUP_ORDER_CLOSE_SWEEP_INTERVAL"]),
            "options": {"expires": float(config["GROUP_ORDER_CLOSE_SWEEP_INTERVAL"])},
        },
        "payouts-release-due": {
            "task": "tasks.payouts.release_due",
            "schedule": 3600.0,
            "options": {"expires": 3600.0},
        },
    }


#: A publish gets two attempts, each with socket timeouts of this share of
#: CELERY_PUBLISH_TIMEOUT, a short pause between, and a hard stop at the whole budget
#: (marketplace/outbox/dispatch.py).
PUBLISH_ATTEMPT_SHARE = 0.4
#: Workers and beat wait on the broker longer than a web request may (see tasks/worker.py).
WORKER_SOCKET_TIMEOUT = 10


def celery_settings(config):
    attempt = config["CELERY_PUBLISH_TIMEOUT"] * PUBLISH_ATTEMPT_SHARE
    return {
        "broker_url": config["CELERY_BROKER_URL"] or "memory://",
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "event_serializer": "json",
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": config["CELERY_DEFAULT_QUEUE"],
        "enable_utc": True,
        "timezone": "UTC",
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            # Longer than any countdown a task retries with, so Redis never redelivers early.
            "visibility_timeout": 3600,
            # A web request that publishes never waits on a refused or hung Redis for more
            # than CELERY_PUBLISH_TIMEOUT in all (marketplace/outbox/dispatch.py).
            "socket_connect_timeout": attempt,
            "socket_timeout": attempt,
        },
        "worker_hijack_root_logger": False,
        "beat_schedule": beat_schedule(config),
        "beat_schedule_filename": str(INSTANCE_DIR / "celerybeat-schedule"),
        "imports": TASK_MODULES,
    }


def celery_init_app(app):
    class FlaskTask(Task):
        """Run every task inside an app context of its own (its own database session)."""

        autoretry_for = (Exception,)
        retry_backoff = 2
        retry_backoff_max = 300
        retry_jitter = True
        max_retries = MAX_RETRIES

        def __call__(self, *args, **kwargs):
            with app.app_context(), audit_origin("task"):
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_settings(app.config))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    for module in TASK_MODULES:
        __import__(module)
    install_embedded_beat(app)
    return celery_app


def install_embedded_beat(app):
    """With no broker there is no beat process: run the beat's due tasks after responses.

    The schedule is :func:`beat_schedule`'s. Each due task runs once the response has been
    sent (``call_on_close``), one batch at a time, in an app context of its own.
    """
    if app.config["CELERY_BROKER_URL"] or not app.config["EMBEDDED_BEAT"]:
        return
    schedule = {
        name: entry
        for name, entry in beat_schedule(app.config).items()
        if isinstance(entry["schedule"], float)  # every so many seconds; not a crontab
    }
    last_run = {}
    running = threading.Lock()

    def run_due(names):
        if not running.acquire(blocking=False):
            return
        try:
            celery = app.extensions["celery"]
            for name in names:
                result = celery.tasks[schedule[name]["task"]].apply(retries=MAX_RETRIES)
                if result.failed():
                    log.error("embedded beat: %s failed: %r", name, result.result)
        finally:
            running.release()

    @app.after_request
    def schedule_due_tasks(response):
        now = time.monotonic()
        due = [
            name
            for name, entry in schedule.items()
            if now - last_run.get(name, -entry["schedule"]) >= entry["schedule"]
        ]
        if due:
            for name in due:
                last_run[name] = now
            response.call_on_close(lambda: run_due(due))
        return response


def run_outbox_work(outbox_id, work):
    """Claim outbox row ``outbox_id``, run ``work()``, mark it done, commit once.

    A row that is missing or already done is skipped, so a repeated message changes
    nothing. On failure the transaction is rolled back, the failure is recorded and the
    exception re-raised for Celery to retry with backoff.
    """
    message = outbox_services.claim(outbox_id)
    if message is None:
        db.session.rollback()
        return False
    try:
        work()
        outbox_services.mark_done(message)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        record_outbox_failure(outbox_id, exc)
        raise
    return True


def record_outbox_failure(outbox_id, exc):
    """Count a failed attempt at outbox row ``outbox_id``'s work, in a transaction of its own
    (any open one is rolled back first); the caller re-raises for Celery to retry."""
    db.session.rollback()
    try:
        outbox_services.record_failure(outbox_id, "".join(traceback.format_exception_only(exc)))
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record the failure of outbox message %s", outbox_id)


#: Outbox rows one batch takes together, at most (see run_outbox_batch).
BATCH_SIZE = 100
#: Seconds one task goes on taking further batches of a backlog before it lets others run.
BATCH_BUDGET_SECONDS = 5.0


def run_outbox_batch(outbox_id, task, work, size=None, budget=None):
    """Like :func:`run_outbox_work`, for work that is cheaper done together (levy routing:
    one lock of the hot ledger accounts and one commit for many orders).

    Claims row ``outbox_id`` and up to ``size - 1`` more undone rows of the same ``task``
    that no other transaction holds (``SKIP LOCKED``), runs ``work(messages)``, marks them
    all done and commits once; while batches come back full it takes the next one, for up
    to ``budget`` seconds, so a backlog is drained whatever else waits in the queue. A row
    another batch holds, or one done already, is not this message's to do (should that
    batch fail, the beat sweep sends the row again): it returns False, after taking the
    rows still waiting that no batch holds, the same way (a backlog left by a batch that
    reached its budget is drained by the next message of its task, not by its own messages
    at the back of the queue). If the first batch fails, this row is tried again alone, so
    one bad row never holds up the others.
    """
    size, budget = size or BATCH_SIZE, budget or BATCH_BUDGET_SECONDS
    message = outbox_services.claim(outbox_id, skip_locked=True)
    if message is None:
        # Done already, or held by a batch that is doing it. The rows of this task still
        # waiting that no batch holds are taken now: after a batch stopped at its budget
        # they are the newest, and their own messages wait behind every one queued since.
        waiting = outbox_services.claim_more(task, size)
        if waiting and _run_batch(task, waiting, work):
            _more_batches(task, waiting, work, size, budget)
        else:
            db.session.rollback()
        return False
    messages = [message, *outbox_services.claim_more(task, size - 1, besides=outbox_id)]
    if len(messages) == 1 or not _run_batch(task, messages, work):
        db.session.rollback()
        return run_outbox_work(outbox_id, lambda: work(messages_of(outbox_id)))
    _more_batches(task, messages, work, size, budget)
    return True


def _more_batches(task, last, work, size, budget):
    """While the last batch came back full, take and do the next, for ``budget`` seconds."""
    deadline = time.monotonic() + budget
    while len(last) == size and time.monotonic() < deadline:
        last = outbox_services.claim_more(task, size)
        if not last or not _run_batch(task, last, work):
            db.session.rollback()  # a failed batch's rows are left to their own messages
            break


def _run_batch(task, messages, work):
    """Do one claimed batch and commit; False (rolled back, logged) if it failed."""
    first = messages[0].id
    try:
        work(messages)
        outbox_services.mark_done(*messages)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.warning(
            "a batch of %d %s outbox rows failed (from %s); left to their own messages",
            len(messages),
            task,
            first,
            exc_info=True,
        )
        return False
    return True


def messages_of(outbox_id):
    """The claimed message ``outbox_id`` (in this transaction's session), as a batch of one."""
    from marketplace.outbox.models import OutboxMessage

    return [db.session.get(OutboxMessage, outbox_id)]
