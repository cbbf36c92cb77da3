"""The outbox hands work to Celery only after the transaction commits, never after a rollback."""

import json
import logging
import socket
import time
import uuid
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select

from marketplace.dbtypes import utcnow
from marketplace.outbox import dispatch
from marketplace.outbox import services as outbox
from marketplace.outbox.models import OutboxMessage
from tests.factories import UserFactory

WELCOME = "tasks.mail.send_welcome_email"


def mails_to(caplog, email):
    return sum(
        1
        for r in caplog.records
        if r.name == "marketplace.mail" and f"to={email}" in r.getMessage()
    )


@pytest.fixture
def mail_log(caplog):
    caplog.set_level(logging.INFO, logger="marketplace.mail")
    return caplog


def test_in_process_task_runs_only_after_commit(db, mail_log):
    user = UserFactory(email="buyer@example.com")
    message = outbox.enqueue(WELCOME, user_id=user.id)
    db.session.flush()

    assert mails_to(mail_log, "buyer@example.com") == 0  # not before the commit

    db.session.commit()

    assert mails_to(mail_log, "buyer@example.com") == 1
    db.session.refresh(message)
    assert message.is_done


def test_nothing_is_dispatched_after_a_rollback(db, mail_log):
    user = UserFactory(email="buyer@example.com")
    db.session.commit()
    outbox.enqueue(WELCOME, user_id=user.id)

    db.session.rollback()
    assert "transaction_callbacks" not in db.session.info
    db.session.commit()  # a later commit must not publish the rolled-back message

    assert mails_to(mail_log, "buyer@example.com") == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_savepoints_neither_publish_early_nor_drop_earlier_messages(db, monkeypatch):
    from marketplace.accounts import services as accounts

    published = []
    monkeypatch.setattr(dispatch, "publish", published.append)
    accounts.register("first@example.com", "correct-horse-42", "หนึ่ง")  # uses a savepoint
    accounts.register("second@example.com", "correct-horse-42", "สอง")
    with pytest.raises(Exception), db.session.begin_nested():  # noqa: B017, PT011
        outbox.enqueue(WELCOME, user_id=999)
        raise RuntimeError("undo this part only")
    assert published == []  # releasing a savepoint is not the commit

    db.session.commit()

    assert [m["payload"] for m in published] == [
        {"user_id": u}
        for u in sorted(
            db.session.scalars(select(OutboxMessage.payload["user_id"].as_integer())).all()
        )
    ]
    assert len(published) == 2


def test_on_rollback_work_runs_for_a_rolled_back_savepoint_and_transaction(db):
    from marketplace import transaction

    ran = []
    transaction.on_rollback(lambda: ran.append("outer"))
    transaction.on_commit(lambda: ran.append("committed"))
    with pytest.raises(RuntimeError), db.session.begin_nested():
        transaction.on_rollback(lambda: ran.append("savepoint"))
        transaction.on_commit(lambda: ran.append("never"))
        raise RuntimeError
    assert ran == ["savepoint"]
    db.session.commit()
    assert ran == ["savepoint", "committed"]
    transaction.on_rollback(lambda: ran.append("rolled back"))
    db.session.rollback()
    assert ran == ["savepoint", "committed", "rolled back"]


def test_a_repeated_delivery_does_the_work_once(app, db, mail_log):
    user = UserFactory(email="buyer@example.com")
    message = outbox.enqueue(WELCOME, user_id=user.id)
    db.session.commit()
    task = app.extensions["celery"].tasks[WELCOME]

    for _ in range(3):
        assert task.apply(kwargs={"outbox_id": message.id, "user_id": user.id}).get() is False

    assert mails_to(mail_log, "buyer@example.com") == 1


def test_a_failed_task_is_recorded_and_the_sweep_runs_it_again(make_app, mail_log):
    from marketplace.extensions import db

    broken = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=1)  # nothing listens there
    with broken.app_context():
        user = UserFactory(email="buyer@example.com")
        message = outbox.enqueue(WELCOME, user_id=user.id)
        db.session.commit()  # the request still succeeds
        db.session.refresh(message)
        assert not message.is_done
        assert message.failure_count == 1 and "ConnectionRefused" in message.last_error
        message_id = message.id

    fixed = make_app()
    result = fixed.test_cli_runner().invoke(args=["outbox", "sweep", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    with fixed.app_context():
        assert db.session.get(OutboxMessage, message_id).is_done
    assert mails_to(mail_log, "buyer@example.com") == 1


def test_sweep_redispatches_only_rows_left_undone_long_enough(db, monkeypatch):
    published = []
    monkeypatch.setattr(dispatch, "publish", published.append)
    now = utcnow()
    old = OutboxMessage(
        task=WELCOME, payload={"user_id": 1}, created_at=now - timedelta(seconds=120)
    )
    fresh = OutboxMessage(
        task=WELCOME, payload={"user_id": 1}, created_at=now - timedelta(seconds=5)
    )
    done = OutboxMessage(
        task=WELCOME, payload={"user_id": 1}, created_at=now - timedelta(seconds=120), done_at=now
    )
    db.session.add_all([old, fresh, done])
    db.session.flush()

    assert outbox.redispatch_due(60, now=now) == 1
    assert published == []  # not before the commit
    db.session.commit()
    assert [m["id"] for m in published] == [old.id]
    assert old.redispatch_count == 1 and old.dispatched_at == now
    # Sent again just now: not again until the delay has passed once more.
    assert outbox.redispatch_due(60, now=now + timedelta(seconds=30)) == 0


@pytest.fixture
def broker(redis_url):
    """A Redis database and a queue name of this test's own."""
    url = redis_url.rsplit("/", 1)[0] + "/15"
    queue = f"test-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(url)
    yield {"url": url, "queue": queue, "redis": client}
    client.delete(queue)
    client.close()


def queued(broker):
    return [json.loads(raw) for raw in broker["redis"].lrange(broker["queue"], 0, -1)]


def test_with_a_broker_the_message_is_published_after_commit_only(make_app, broker):
    from marketplace.extensions import db

    app = make_app(CELERY_BROKER_URL=broker["url"], CELERY_DEFAULT_QUEUE=broker["queue"])
    with app.app_context():
        user = UserFactory()
        db.session.commit()

        outbox.enqueue(WELCOME, user_id=user.id)
        db.session.rollback()
        kept = outbox.enqueue(WELCOME, user_id=user.id)
        assert queued(broker) == []

        db.session.commit()

        messages = queued(broker)
        assert len(messages) == 1
        assert messages[0]["headers"]["task"] == WELCOME
        body = json.loads(__import__("base64").b64decode(messages[0]["body"]))
        assert body[1] == {"user_id": user.id, "outbox_id": kept.id}
        db.session.refresh(kept)
        assert not kept.is_done  # the worker marks it done, not the publisher


def test_with_the_broker_down_the_commit_stands_and_the_row_waits(make_app):
    from marketplace.extensions import db

    app = make_app(CELERY_BROKER_URL="redis://127.0.0.1:1/0", CELERY_PUBLISH_TIMEOUT=1)
    with app.app_context():
        user = UserFactory()
        message = outbox.enqueue(WELCOME, user_id=user.id)
        started = time.monotonic()
        db.session.commit()
        elapsed = time.monotonic() - started

        assert elapsed < 5
        assert outbox.pending_count() == 1
        db.session.refresh(message)
        assert not message.is_done


@pytest.fixture
def hung_broker():
    """A port whose connections the kernel accepts and nobody ever answers (a hung Redis)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    listener.close()


def test_a_hung_broker_costs_a_commit_one_bounded_wait_whatever_it_hands_over(
    make_app, hung_broker
):
    from marketplace.extensions import db

    app = make_app(CELERY_BROKER_URL=hung_broker, CELERY_PUBLISH_TIMEOUT=1)
    with app.app_context():
        user = UserFactory()
        messages = [outbox.enqueue(WELCOME, user_id=user.id) for _ in range(4)]
        started = time.monotonic()
        db.session.commit()
        elapsed = time.monotonic() - started

        # One wait of CELERY_PUBLISH_TIMEOUT, not one per message.
        assert elapsed < 1.5, elapsed
        assert outbox.pending_count() == 4
        for message in messages:
            db.session.refresh(message)
            assert not message.is_done and message.redispatch_count == 0

        # Moments later the next commit does not wait on the broker at all.
        outbox.enqueue(WELCOME, user_id=user.id)
        started = time.monotonic()
        db.session.commit()
        assert time.monotonic() - started < 0.3
        assert outbox.pending_count() == 5


def test_after_the_pause_the_app_tries_the_broker_again(make_app, hung_broker, monkeypatch):
    from marketplace.extensions import db

    monkeypatch.setattr(dispatch, "BROKER_DOWN_PAUSE", 0.5)
    app = make_app(CELERY_BROKER_URL=hung_broker, CELERY_PUBLISH_TIMEOUT=1)
    with app.app_context():
        user = UserFactory()
        outbox.enqueue(WELCOME, user_id=user.id)
        db.session.commit()  # fails: the pause begins
        time.sleep(0.6)

        outbox.enqueue(WELCOME, user_id=user.id)
        started = time.monotonic()
        db.session.commit()
        # A real attempt again (it waits on the hung broker), not a skip.
        assert time.monotonic() - started >= 0.9
        assert outbox.pending_count() == 2
