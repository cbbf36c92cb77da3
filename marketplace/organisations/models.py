"""What sellers and funds share: names, a place down to the subdistrict, contact, bank."""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from marketplace.dbtypes import UTCDateTime, utcnow
from marketplace.i18n import localized


class OrganisationMixin:
    name_th: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    address_line: Mapped[str] = mapped_column(String(255), default="")
    postal_code: Mapped[str] = mapped_column(String(5))
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    #: Account that payouts (sellers) or remittances (funds) are paid into.
    bank_name: Mapped[str] = mapped_column(String(100), default="")
    bank_account_name: Mapped[str] = mapped_column(String(200), default="")
    bank_account_number: Mapped[str] = mapped_column(String(20), default="")
    #: Set by an admin once the organisation is checked; only verified ones face buyers.
    verified: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @declared_attr
    def subdistrict_code(cls) -> Mapped[str]:
        return mapped_column(ForeignKey("subdistricts.code"), index=True)

    @declared_attr
    def subdistrict(cls) -> Mapped["Subdistrict"]:  # noqa: F821
        return relationship("Subdistrict")

    def __repr__(self):
        return f"<{type(self).__name__} {self.id} {self.name_th}>"

    @property
    def name(self):
        return localized(self.name_th, self.name_en)

    @property
    def province_code(self):
        return self.subdistrict_code[:2]
