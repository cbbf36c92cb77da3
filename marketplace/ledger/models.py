"""The double-entry ledger, from the marketplace's point of view.

Lines carry signed amounts: a debit is positive, a credit negative, and every entry's lines
sum to zero. An account's ``balance_satang`` is its natural balance: what the marketplace
holds (cash, a fund's debt) or owes (to a seller, to a fund). Entries are append-only and
each chain (one per fund, and "main" for the rest) is hash-linked.
"""

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.dbtypes import UTCDateTime, str_enum, utcnow
from marketplace.extensions import db


class AccountKind(enum.StrEnum):
    #: Asset: money in the marketplace's bank account.
    CASH = "cash"
    #: Liability: what the marketplace owes a seller for its sales.
    SELLER_PAYABLE = "seller_payable"
    #: Liability: levies the marketplace holds for a fund.
    FUND_PAYABLE = "fund_payable"
    #: Asset: levies reversed after the fund was already paid them; later levies settle it.
    FUND_RECEIVABLE = "fund_receivable"
    #: The marketplace's own income: platform fees on sales, less those refunded.
    PLATFORM_REVENUE = "platform_revenue"
    #: Liability: a seller's proceeds released after delivery and the hold, free to be paid
    #: (SELLER_PAYABLE holds those still pending; see marketplace/payouts/proceeds.py).
    SELLER_AVAILABLE = "seller_available"
    #: Liability: a seller's proceeds reserved by a payout not yet paid.
    SELLER_IN_PAYOUT = "seller_in_payout"
    #: Asset: what a seller owes back (a refund after the money was paid out); later
    #: proceeds settle it before anything is available.
    SELLER_RECEIVABLE = "seller_receivable"


ASSET_KINDS = (AccountKind.CASH, AccountKind.FUND_RECEIVABLE, AccountKind.SELLER_RECEIVABLE)
#: Accounts whose balance the database never lets below zero.
NEVER_NEGATIVE = (
    AccountKind.FUND_PAYABLE,
    AccountKind.FUND_RECEIVABLE,
    AccountKind.SELLER_AVAILABLE,
    AccountKind.SELLER_IN_PAYOUT,
    AccountKind.SELLER_RECEIVABLE,
)


class EntryKind(enum.StrEnum):
    PAYMENT = "payment"
    LEVY = "levy"
    LEVY_REVERSAL = "levy_reversal"
    REFUND = "refund"
    REMITTANCE = "remittance"
    #: The platform fee of an order item, and its share given back by a refund.
    FEE = "fee"
    FEE_REVERSAL = "fee_reversal"
    #: A shipment's proceeds moved from pending to the seller's released money.
    RELEASE = "release"
    #: A payout: its amount reserved, paid out of cash, or back to available on failure.
    PAYOUT_RESERVE = "payout_reserve"
    PAYOUT = "payout"
    PAYOUT_FAILED = "payout_failed"


class Account(db.Model):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint(
            "kind NOT IN ('fund_payable', 'fund_receivable') OR balance_satang >= 0",
            name="fund_balances_not_negative",
        ),
        CheckConstraint(
            "kind NOT IN ('seller_available', 'seller_in_payout', 'seller_receivable')"
            " OR balance_satang >= 0",
            name="seller_balances_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "cash", "seller:12", "seller-available:12", "fund:3", "fund-receivable:3"...
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind))
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("sellers.id"), nullable=True)
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("funds.id"), nullable=True, index=True)
    balance_satang: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_asset(self):
        return self.kind in ASSET_KINDS


class JournalEntry(db.Model):
    __tablename__ = "journal_entries"
    __table_args__ = (
        Index("uq_journal_entries_chain_seq", "chain", "seq", unique=True),
        Index("ix_journal_entries_fund_day", "fund_id", "local_date"),
        Index("ix_journal_entries_seller_day", "seller_id", "local_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Idempotency key, e.g. "levy:41:accrue"; a second posting with it changes nothing.
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind))
    #: Hash chain this entry belongs to ("fund:3", or "main") and its place in it.
    chain: Mapped[str] = mapped_column(String(30))
    seq: Mapped[int] = mapped_column()
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64))
    #: When it happened (payment, refund, remittance); ``local_date`` is its Bangkok day.
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    local_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    memo: Mapped[str] = mapped_column(Text, default="")
    # What the entry is about, for reports that read the ledger alone.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), nullable=True, index=True)
    order_item_id: Mapped[int | None] = mapped_column(ForeignKey("order_items.id"), nullable=True)
    order_item_levy_id: Mapped[int | None] = mapped_column(
        ForeignKey("order_item_levies.id"), nullable=True, index=True
    )
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"), nullable=True)
    remittance_id: Mapped[int | None] = mapped_column(ForeignKey("remittances.id"), nullable=True)
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("funds.id"), nullable=True)
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("sellers.id"), nullable=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), nullable=True)
    #: Province (DOPA code) the order was shipped to.
    buyer_province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    #: Levy moved to the fund by this entry: accrual positive, reversal negative, else 0.
    levy_satang: Mapped[int] = mapped_column(BigInteger, default=0)
    units: Mapped[int] = mapped_column(default=0)

    lines: Mapped[list["JournalLine"]] = relationship(
        back_populates="entry", order_by="JournalLine.id", cascade="save-update, merge"
    )


class JournalLine(db.Model):
    __tablename__ = "journal_lines"
    __table_args__ = (Index("ix_journal_lines_account_entry", "account_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    #: Debit positive, credit negative.
    amount_satang: Mapped[int] = mapped_column(BigInteger)

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")
    account: Mapped[Account] = relationship()


class FundLevyDay(db.Model):
    """Levies per fund and Bangkok day, kept with each posting, so reports stay fast."""

    __tablename__ = "fund_levy_days"
    __table_args__ = (
        Index(
            "uq_fund_levy_days_key",
            "fund_id",
            "day",
            "seller_id",
            "product_id",
            "buyer_province_code",
            unique=True,
        ),
        Index("ix_fund_levy_days_seller_day", "seller_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"))
    day: Mapped[date] = mapped_column(Date)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    buyer_province_code: Mapped[str] = mapped_column(String(2))
    accrued_satang: Mapped[int] = mapped_column(BigInteger, default=0)
    reversed_satang: Mapped[int] = mapped_column(BigInteger, default=0)
    accrued_units: Mapped[int] = mapped_column(default=0)
    reversed_units: Mapped[int] = mapped_column(default=0)


class LevyDimension(enum.StrEnum):
    PRODUCT = "product"
    SELLER = "seller"
    PROVINCE = "province"


class FundLevyMonth(db.Model):
    """Levies per fund, Bangkok month and one breakdown (a product, a seller or a province).

    A whole month's report reads at most one row per product, seller and province the fund
    has ever had levies from, however many orders the month held.
    """

    __tablename__ = "fund_levy_months"
    __table_args__ = (
        Index("uq_fund_levy_months_key", "fund_id", "month", "dimension", "key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"))
    #: The first day of the month.
    month: Mapped[date] = mapped_column(Date)
    dimension: Mapped[LevyDimension] = mapped_column(str_enum(LevyDimension))
    #: The product or seller id, or the province code, as text.
    key: Mapped[str] = mapped_column(String(20))
    accrued_satang: Mapped[int] = mapped_column(BigInteger, default=0)
    reversed_satang: Mapped[int] = mapped_column(BigInteger, default=0)
    accrued_units: Mapped[int] = mapped_column(default=0)
    reversed_units: Mapped[int] = mapped_column(default=0)


class Remittance(db.Model):
    """Money paid out of the marketplace's account to a fund."""

    __tablename__ = "remittances"
    __table_args__ = (
        CheckConstraint("amount_satang > 0", name="amount_positive"),
        Index("uq_remittances_fund_reference", "fund_id", "bank_reference", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    amount_satang: Mapped[int] = mapped_column(BigInteger)
    remitted_on: Mapped[date] = mapped_column(Date)
    bank_reference: Mapped[str] = mapped_column(String(100))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
