"""Thai geography: loading it from the geothai package, and checking addresses."""

import geothai
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.catalog import cache as catalog_cache
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.geo.models import District, PostalCode, Province, Region, Subdistrict
from marketplace.geo.regions import PROVINCE_REGION, REGIONS
from marketplace.validation import clean_phone


def _sync(model, key, wanted):
    """Insert rows missing from ``model`` and update changed ones; return (added, updated)."""
    existing = {getattr(row, key): row for row in db.session.scalars(select(model))}
    new_rows, updated = [], 0
    for values in wanted:
        row = existing.get(values[key])
        if row is None:
            new_rows.append(values)
            continue
        changed = False
        for column, value in values.items():
            if getattr(row, column) != value:
                setattr(row, column, value)
                changed = True
        updated += changed
    if new_rows:
        db.session.execute(insert(model), new_rows)
    db.session.flush()
    return len(new_rows), updated


def load_geography():
    """Bring regions, provinces, districts, subdistricts and postal codes in line with geothai.

    Idempotent: a second run changes nothing. Areas no longer in the data are kept, since
    addresses may still point at them.
    """
    provinces = geothai.provinces()
    districts = [d for p in provinces for d in geothai.districts(p.code)]
    subdistricts = [s for d in districts for s in geothai.subdistricts(d.code)]
    missing = [p.code for p in provinces if p.code not in PROVINCE_REGION]
    if missing:
        raise DomainError(f"provinces without a region in regions.py: {', '.join(missing)}")
    catalog_cache.changed()  # place names show on product cards and in the catalog filters

    report = {}
    report["regions"] = _sync(
        Region,
        "code",
        [
            {"code": code, "name_th": th, "name_en": en, "position": position}
            for position, (code, (th, en)) in enumerate(REGIONS.items())
        ],
    )
    report["provinces"] = _sync(
        Province,
        "code",
        [
            {
                "code": p.code,
                "name_th": p.name_th,
                "name_en": p.name_en,
                "region_code": PROVINCE_REGION[p.code],
            }
            for p in provinces
        ],
    )
    report["districts"] = _sync(
        District,
        "code",
        [
            {
                "code": d.code,
                "name_th": d.name_th,
                "name_en": d.name_en,
                "province_code": d.province_code,
            }
            for d in districts
        ],
    )
    report["subdistricts"] = _sync(
        Subdistrict,
        "code",
        [
            {
                "code": s.code,
                "name_th": s.name_th,
                "name_en": s.name_en,
                "district_code": s.district_code,
            }
            for s in subdistricts
        ],
    )
    report["postal_codes"] = _sync_postal_codes(subdistricts)
    return report


def _sync_postal_codes(subdistricts):
    wanted = {(s.code, postal) for s in subdistricts for postal in s.postal_codes}
    codes = {s.code for s in subdistricts}
    have = set(
        db.session.execute(select(PostalCode.subdistrict_code, PostalCode.postal_code)).all()
    )
    have_in_data = {pair for pair in have if pair[0] in codes}
    to_add = wanted - have_in_data
    to_remove = have_in_data - wanted
    for subdistrict_code, postal_code in to_remove:
        db.session.execute(
            delete(PostalCode).where(
                PostalCode.subdistrict_code == subdistrict_code,
                PostalCode.postal_code == postal_code,
            )
        )
    if to_add:
        db.session.execute(
            insert(PostalCode),
            [{"subdistrict_code": s, "postal_code": p} for s, p in sorted(to_add)],
        )
    db.session.flush()
    return len(to_add), len(to_remove)


def counts():
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Region, Province, District, Subdistrict, PostalCode)
    }


def is_loaded():
    return bool(db.session.scalar(select(func.count()).select_from(Subdistrict)))


def regions():
    return db.session.scalars(select(Region).order_by(Region.position)).all()


def provinces():
    return db.session.scalars(select(Province).order_by(Province.name_th)).all()


def districts_of(province_code):
    return db.session.scalars(
        select(District).where(District.province_code == province_code).order_by(District.name_th)
    ).all()


def subdistricts_of(district_code):
    return db.session.scalars(
        select(Subdistrict)
        .where(Subdistrict.district_code == district_code)
        .options(selectinload(Subdistrict.postal_codes))
        .order_by(Subdistrict.name_th)
    ).all()


def check_address(subdistrict_code, postal_code):
    """The subdistrict, when it exists and ``postal_code`` is one of its postal codes."""
    subdistrict = (
        db.session.get(
            Subdistrict,
            subdistrict_code.strip(),
            options=[joinedload(Subdistrict.postal_codes)],
        )
        if subdistrict_code
        else None
    )
    if subdistrict is None:
        raise DomainError(_l("Choose a subdistrict."), field="subdistrict")
    postal_code = (postal_code or "").strip()
    if postal_code not in subdistrict.postal_code_list:
        raise DomainError(
            _l(
                "Postal code %(code)s is not used in %(place)s; it uses %(codes)s.",
                code=postal_code or "-",
                place=subdistrict.name,
                codes=", ".join(subdistrict.postal_code_list),
            ),
            field="postal_code",
        )
    return subdistrict


def clean_address(*, name, phone, address_line, subdistrict_code, postal_code):
    """A shipping address checked and tidied, as the ``ship_*`` columns orders and users
    keep it: a recipient's name and Thai phone number, a house and road, and a postal code
    that belongs to the subdistrict. Errors name the form's fields."""
    name, address_line = (name or "").strip(), (address_line or "").strip()
    if not name:
        raise DomainError(_l("Enter the recipient's name."), field="ship_name")
    phone = clean_phone(phone, field="ship_phone")
    if not phone:
        raise DomainError(_l("Enter the recipient's phone number."), field="ship_phone")
    if not address_line:
        raise DomainError(_l("Enter the house number and road."), field="address_line")
    subdistrict = check_address(subdistrict_code, postal_code)
    return {
        "ship_name": name[:120],
        "ship_phone": phone,
        "ship_address_line": address_line[:255],
        "ship_subdistrict_code": subdistrict.code,
        "ship_postal_code": postal_code.strip(),
    }


def with_place(relationship):
    """Loader option: an organisation's subdistrict, district and province in the same query."""
    return joinedload(relationship).joinedload(Subdistrict.district).joinedload(District.province)
