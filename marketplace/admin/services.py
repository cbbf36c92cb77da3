"""What waits for an admin: the back office's overview, counted where each thing lives."""

from dataclasses import dataclass

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.funds import services as funds
from marketplace.levies import services as levies
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as orders
from marketplace.payments import services as payments
from marketplace.payouts.models import Payout, PayoutStatus
from marketplace.sellers import services as sellers


@dataclass(frozen=True)
class Waiting:
    #: ``[(order, payment)]``: buyers reported a transfer; an admin checks the account.
    reported_transfers: list
    #: How many there are (``reported_transfers`` shows at most 50).
    reported_count: int
    #: What Stripe reported that needs an admin's eyes.
    payment_issues: list
    unverified_sellers: list
    unverified_funds: list
    #: Levies for the buyer's own fund that sellers proposed: the marketplace accepts them.
    levy_proposals: int
    #: Refunds Stripe has not paid back yet.
    pending_refunds: int
    #: Seller payouts of a run not yet marked paid, and their sum.
    payouts_to_send: int
    payouts_to_send_satang: int

    @property
    def anything(self):
        return any(
            (
                self.reported_count,
                self.payment_issues,
                self.unverified_sellers,
                self.unverified_funds,
                self.levy_proposals,
                self.pending_refunds,
                self.payouts_to_send,
            )
        )


def waiting():
    count, satang = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Payout.amount_satang), 0)).where(
            Payout.status == PayoutStatus.PENDING
        )
    ).one()
    return Waiting(
        reported_transfers=orders.reported_transfers(),
        reported_count=orders.count_reported_transfers(),
        payment_issues=payments.open_issues(),
        unverified_sellers=[s for s in sellers.all_sellers() if not s.verified],
        unverified_funds=[f for f in funds.all_funds() if not f.verified],
        levy_proposals=len(levies.rules_for_admin()),
        pending_refunds=order_refunds.count_pending_refunds(),
        payouts_to_send=count,
        payouts_to_send_satang=int(satang),
    )
