"""A real Celery worker process does the outbox's work, once, whatever the broker repeats."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.outbox.models import OutboxMessage
from tests.test_outbox import broker  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.worker


@pytest.fixture
def worker(database, broker, tmp_path):  # noqa: F811
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "MARKETPLACE_CONFIG": "testing",
        "DATABASE_URL": database["url"],
        "CELERY_BROKER_URL": broker["url"],
        "CELERY_DEFAULT_QUEUE": broker["queue"],
        "LOG_LEVEL": "INFO",
    }
    with open(log, "w") as out:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "tasks.worker",
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-Q",
                broker["queue"],
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    yield {"log": log, "process": process}
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_worker_does_outbox_work_once_despite_repeated_messages(make_app, broker, worker):  # noqa: F811
    app = make_app(CELERY_BROKER_URL=broker["url"], CELERY_DEFAULT_QUEUE=broker["queue"])
    client = app.test_client()

    response = client.submit(
        "/register",
        {
            "name": "ผู้ซื้อจากภูเก็ต",
            "email": "phuket@example.com",
            "password": "correct-horse-42",
            "confirm": "correct-horse-42",
            "language": "th",
        },
    )
    assert response.status_code == 302

    def done():
        with app.app_context():
            message = db.session.scalar(select(OutboxMessage))
            return message is not None and message.is_done

    assert wait_until(done), worker["log"].read_text()

    # The broker delivers the same message again, three more times: nothing more happens.
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage))
        celery = app.extensions["celery"]
        for _ in range(3):
            celery.send_task(message.task, kwargs={**message.payload, "outbox_id": message.id})
    assert wait_until(lambda: worker["log"].read_text().count("succeeded") >= 4), worker[
        "log"
    ].read_text()
    log = worker["log"].read_text()
    assert log.count("mail to=phuket@example.com") == 1, log
