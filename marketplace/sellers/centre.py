"""The seller centre: what a seller's members look at first, read from the services that
own each part (orders to ship, products, levies and fees, the balance). It reads only."""

from dataclasses import dataclass
from datetime import date, timedelta

from marketplace.catalog import services as catalog
from marketplace.funds import reports
from marketplace.levies.services import today
from marketplace.orders import services as orders
from marketplace.payouts import proceeds
from marketplace.payouts import services as payouts

#: "Recent sales": the levies and fees of this many Bangkok days, today included.
RECENT_DAYS = 30
#: Parcels listed at most (the count says how many wait in all; the shipments page has all).
SHOWN_TO_SHIP = 30


@dataclass
class Overview:
    #: Shipments of paid orders still being prepared, the longest waiting first.
    to_ship: list
    #: How many wait in all (``to_ship`` may show fewer).
    to_ship_count: int
    products: list
    #: Levies from the recent sales, a reports.Row per fund.
    levies: list
    #: Platform fees from the recent sales (payouts.FeeTotals).
    fees: object
    #: proceeds.Balance now.
    balance: object
    start: date
    end: date

    @property
    def levies_satang(self):
        return sum(row.net_satang for row in self.levies)

    @property
    def deducted_satang(self):
        """Levies and fees taken from the recent sales, in all."""
        return self.levies_satang + self.fees.net_satang


def overview(seller_id, language, now=None):
    """Everything the centre shows of ``seller_id``."""
    end = today(now)
    start = end - timedelta(days=RECENT_DAYS - 1)
    return Overview(
        to_ship=orders.shipments_to_ship(seller_id, limit=SHOWN_TO_SHIP),
        to_ship_count=orders.count_to_ship(seller_id),
        products=catalog.seller_products(seller_id),
        levies=reports.seller_levies(seller_id, start, end, language),
        fees=payouts.fee_totals(seller_id, start, end),
        balance=proceeds.balance(seller_id, now=now),
        start=start,
        end=end,
    )
