"""Publish outbox messages once their transaction has committed, never after a rollback.

With a broker the message goes to Celery, within CELERY_PUBLISH_TIMEOUT: when the broker
is down or hung the row stays undone and the beat sweep sends it later. After a failed
publish the process sends nothing for BROKER_DOWN_PAUSE seconds, so a commit that hands
over several messages (a payment: the levies and one notice per shipment) waits on a dead
broker once, not once per message.

With no broker (the embedded default) the task runs in-process, in an application context
of its own.
"""

import logging
import threading
import time

from flask import current_app

log = logging.getLogger(__name__)

PUBLISH_RETRY_PAUSE = 0.2
BROKER_DOWN_PAUSE = 5.0


def publish(message):
    celery = current_app.extensions["celery"]
    kwargs = {**message["payload"], "outbox_id": message["id"]}
    if not current_app.config["CELERY_BROKER_URL"]:
        _run_in_process(celery, message, kwargs)
        return
    state = current_app.extensions.setdefault("outbox", {"broker_down_until": 0.0})
    if time.monotonic() < state["broker_down_until"]:
        log.warning(
            "outbox message %s (%s) not published: the broker failed moments ago; "
            "left for the sweep",
            message["id"],
            message["task"],
        )
        return
    error = _send_within(current_app.config["CELERY_PUBLISH_TIMEOUT"], celery, message, kwargs)
    if error is not None:
        state["broker_down_until"] = time.monotonic() + BROKER_DOWN_PAUSE
        log.warning(
            "outbox message %s (%s) not published; left for the sweep: %s",
            message["id"],
            message["task"],
            error,
        )


def _send_within(budget, celery, message, kwargs):
    """Publish in a helper thread and wait at most ``budget`` seconds; the error, or None.

    The socket timeouts (tasks.celery_settings) already bound each attempt, but a hung
    broker can cost several round trips; the wait here is the hard bound. A send that is
    given up on may still reach the broker later: harmless, as the task claims its outbox
    row and a second copy finds it done.
    """
    outcome = []

    def send():
        try:
            celery.send_task(
                message["task"],
                kwargs=kwargs,
                retry=True,
                # Two attempts, each with socket timeouts of a share of the budget.
                retry_policy={
                    "max_retries": 1,
                    "interval_start": PUBLISH_RETRY_PAUSE,
                    "interval_step": 0,
                    "interval_max": PUBLISH_RETRY_PAUSE,
                },
            )
            outcome.append(None)
        except Exception as error:  # noqa: BLE001 (any failure leaves the row for the sweep)
            outcome.append(error)

    sender = threading.Thread(target=send, name=f"outbox-publish-{message['id']}", daemon=True)
    sender.start()
    sender.join(budget)
    if not outcome:
        return f"no answer from the broker within {budget:g}s"
    error = outcome[0]
    return None if error is None else f"{type(error).__name__}: {error}"


def _run_in_process(celery, message, kwargs):
    task = celery.tasks.get(message["task"])
    if task is None:
        log.error("outbox message %s names unknown task %s", message["id"], message["task"])
        return
    result = task.apply(kwargs=kwargs, retries=task.max_retries or 0)
    if result.failed():
        log.error(
            "outbox message %s (%s) failed in-process; `flask outbox sweep` retries it: %r",
            message["id"],
            message["task"],
            result.result,
        )
