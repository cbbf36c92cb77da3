"""Mail tasks. Mail goes to the log in the embedded default, to SMTP when configured."""

from celery import shared_task

from marketplace import mail
from marketplace.accounts.models import User
from marketplace.extensions import db
from tasks import run_outbox_work


@shared_task(name="tasks.mail.send_welcome_email")
def send_welcome_email(outbox_id, user_id):
    def work():
        user = db.session.get(User, user_id)
        if user is not None:
            mail.send_welcome(user)

    return run_outbox_work(outbox_id, work)
