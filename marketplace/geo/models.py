"""Thai administrative geography, keyed by DOPA codes."""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.i18n import localized


class _Named:
    """Thai and English names; ``name`` is the one for the current language."""

    name_th: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))

    @property
    def name(self):
        return localized(self.name_th, self.name_en)


class Region(_Named, db.Model):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: Order in which regions are listed.
    position: Mapped[int] = mapped_column(default=0)

    provinces: Mapped[list["Province"]] = relationship(
        back_populates="region", order_by="Province.name_th"
    )


class Province(_Named, db.Model):
    __tablename__ = "provinces"

    #: Two-digit DOPA code, e.g. "36" for Chaiyaphum.
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)

    region: Mapped[Region] = relationship(back_populates="provinces")
    districts: Mapped[list["District"]] = relationship(
        back_populates="province", order_by="District.code"
    )


class District(_Named, db.Model):
    __tablename__ = "districts"

    #: Four-digit DOPA code; its first two digits are the province's.
    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"), index=True)

    province: Mapped[Province] = relationship(back_populates="districts")
    subdistricts: Mapped[list["Subdistrict"]] = relationship(
        back_populates="district", order_by="Subdistrict.code"
    )


class Subdistrict(_Named, db.Model):
    __tablename__ = "subdistricts"

    #: Six-digit DOPA code; its first four digits are the district's.
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), index=True)

    district: Mapped[District] = relationship(back_populates="subdistricts")
    postal_codes: Mapped[list["PostalCode"]] = relationship(
        back_populates="subdistrict",
        order_by="PostalCode.postal_code",
        cascade="all, delete-orphan",
    )

    @property
    def province_code(self):
        return self.code[:2]

    @property
    def postal_code_list(self):
        return [p.postal_code for p in self.postal_codes]


class PostalCode(db.Model):
    """One postal code used in a subdistrict; a subdistrict can have several."""

    __tablename__ = "subdistrict_postal_codes"

    subdistrict_code: Mapped[str] = mapped_column(ForeignKey("subdistricts.code"), primary_key=True)
    postal_code: Mapped[str] = mapped_column(String(5), primary_key=True, index=True)

    subdistrict: Mapped[Subdistrict] = relationship(back_populates="postal_codes")
