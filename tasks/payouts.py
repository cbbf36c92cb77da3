"""Seller payouts: proceeds released after the hold (beat), mail when a payout is paid."""

from celery import shared_task

from marketplace.extensions import db
from marketplace.payouts import proceeds


@shared_task(name="tasks.payouts.release_due")
def release_due():
    """Post the release of every delivered shipment whose hold is over."""
    count = proceeds.release_due()
    db.session.commit()
    return count
