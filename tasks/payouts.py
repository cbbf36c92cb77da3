"""Seller payouts: proceeds released after the hold (beat), the weekly run when one is
scheduled (beat), mail when a payout is paid or failed and when a seller's payout details
change (outbox)."""

from celery import shared_task

from marketplace.audit.models import AuditRecord
from marketplace.extensions import db
from marketplace.payouts import notifications, proceeds, services
from marketplace.payouts.models import Payout, PayoutStatus
from marketplace.sellers.models import Seller
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


@shared_task(name="tasks.payouts.payout_failed")
def payout_failed(outbox_id, payout_id):
    """Mail the seller's members that the payout did not reach them, and why."""

    def work():
        payout = db.session.get(Payout, payout_id)
        if payout is not None and payout.status == PayoutStatus.FAILED:
            notifications.payout_failed(payout)

    return run_outbox_work(outbox_id, work)


@shared_task(name="tasks.payouts.payout_details_changed")
def payout_details_changed(outbox_id, seller_id, record_id):
    """Mail the seller's members that its payout details were changed (the audit record
    says by whom, and from what to what)."""

    def work():
        seller = db.session.get(Seller, seller_id)
        record = db.session.get(AuditRecord, record_id)
        if seller is not None and record is not None:
            notifications.payout_details_changed(seller, record)

    return run_outbox_work(outbox_id, work)


@shared_task(name="tasks.payouts.start_run")
def start_run():
    """The weekly payout run (PAYOUT_RUN_SCHEDULE), started by the beat."""
    run = services.start_run(None, system="task")
    db.session.commit()
    return run.id
