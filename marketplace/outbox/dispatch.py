"""Publish outbox messages once their transaction has committed, never after a rollback.

With a broker the message goes to Celery (a bounded publish: when the broker is down the
row stays undone and the beat sweep sends it later). With no broker (the embedded
default) the task runs in-process, in an application context of its own.
"""

import logging

from flask import current_app

log = logging.getLogger(__name__)

PUBLISH_RETRY_PAUSE = 0.2


def publish(message):
    celery = current_app.extensions["celery"]
    kwargs = {**message["payload"], "outbox_id": message["id"]}
    if not current_app.config["CELERY_BROKER_URL"]:
        _run_in_process(celery, message, kwargs)
        return
    try:
        celery.send_task(
            message["task"],
            kwargs=kwargs,
            retry=True,
            # Two attempts within CELERY_PUBLISH_TIMEOUT (tasks.celery_settings sets each
            # attempt's socket timeouts); then the row waits for the sweep.
            retry_policy={
                "max_retries": 1,
                "interval_start": PUBLISH_RETRY_PAUSE,
                "interval_step": 0,
                "interval_max": PUBLISH_RETRY_PAUSE,
            },
        )
    except Exception:  # the broker is down: the sweep will publish it again
        log.warning(
            "outbox message %s (%s) not published; left for the sweep",
            message["id"],
            message["task"],
            exc_info=True,
        )


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
