"""Seller payouts: proceeds released after the hold (beat), the weekly run when one is
scheduled (beat), mail when a payout is paid (outbox)."""

from celery import shared_task

from marketplace.extensions import db
from marketplace.payouts import notifications, proceeds, services
from marketplace.payouts.models import Payout, PayoutStatus
from tasks import run_outbox_work


@shared_task(name="tasks.payouts.release_due")
def release_due():
    """Post the release of every delivered shipment whose hold is over."""
    count = proceeds.release_due()
    db.session.commit()
    return count


@shared_task(name="tasks.payouts.payout_paid")
def payout_paid(outbox_id, payout_id):
    """Mail the seller's members that the payout was sent."""

    def work():
        payout = db.session.get(Payout, payout_id)
        if payout is not None and payout.status == PayoutStatus.PAID:
            notifications.payout_paid(payout)

    return run_outbox_work(outbox_id, work)


@shared_task(name="tasks.payouts.start_run")
def start_run():
    """The weekly payout run (PAYOUT_RUN_SCHEDULE), started by the beat."""
    run = services.start_run(None, system="task")
    db.session.commit()
    return run.id
