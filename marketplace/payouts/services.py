"""Sellers get paid: their proceeds, held until the buyer has the parcel, paid out in runs.

Services flush and never commit.
"""

from dataclasses import dataclass

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger import services as ledger
from marketplace.ledger.models import AccountKind, EntryKind, JournalEntry, JournalLine


@dataclass
class FeeTotals:
    charged_satang: int = 0
    reversed_satang: int = 0

    @property
    def net_satang(self):
        return self.charged_satang - self.reversed_satang


def fee_totals(seller_id, start, end):
    """The platform fees deducted from the seller's sales in the period (Bangkok days),
    and those given back by refunds, read from the ledger."""
    payable = ledger.find_account(AccountKind.SELLER_PAYABLE, seller_id=seller_id)
    if payable is None:
        return FeeTotals()
    rows = db.session.execute(
        select(JournalEntry.kind, func.sum(JournalLine.amount_satang))
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(
            JournalLine.account_id == payable.id,
            JournalEntry.kind.in_((EntryKind.FEE, EntryKind.FEE_REVERSAL)),
            JournalEntry.local_date.between(start, end),
        )
        .group_by(JournalEntry.kind)
    ).all()
    totals = FeeTotals()
    for kind, amount in rows:
        if kind == EntryKind.FEE:
            totals.charged_satang = int(amount)
        else:
            totals.reversed_satang = -int(amount)
    return totals
