"""Mail tasks. Mail goes to the log in the embedded default, to SMTP when configured."""

from celery import shared_task

from marketplace import mail
from marketplace.accounts import services as accounts
from marketplace.accounts.models import User
from marketplace.extensions import db
from tasks import run_outbox_work


def _to_user(user_id, send):
    """Outbox work: ``send(user)`` to an active user who still exists."""

    def work():
        user = db.session.get(User, user_id)
        if user is not None and user.active:
            send(user)

    return work


@shared_task(name="tasks.mail.send_welcome_email")
def send_welcome_email(outbox_id, user_id):
    return run_outbox_work(outbox_id, _to_user(user_id, mail.send_welcome))


@shared_task(name="tasks.mail.send_registration_link")
def send_registration_link(outbox_id, pending_id):
    def work():
        pending, token = accounts.registration_link_token(pending_id)
        if pending is not None:
            mail.send_registration_link(pending.email, pending.language, token)

    return run_outbox_work(outbox_id, work)


@shared_task(name="tasks.mail.send_account_exists")
def send_account_exists(outbox_id, user_id):
    return run_outbox_work(outbox_id, _to_user(user_id, mail.send_account_exists))


@shared_task(name="tasks.mail.send_password_reset")
def send_password_reset(outbox_id, user_id):
    def send(user):
        mail.send_password_reset(user, accounts.password_reset_token(user))

    return run_outbox_work(outbox_id, _to_user(user_id, send))
