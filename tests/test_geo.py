import pytest
from sqlalchemy import delete, func, select

from marketplace.errors import DomainError
from marketplace.geo import services as geo
from marketplace.geo.models import District, PostalCode, Province, Region, Subdistrict

REGION_SIZES = {"north": 9, "central": 22, "northeast": 20, "west": 5, "east": 7, "south": 14}


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def wipe_geography(db):
    for model in (PostalCode, Subdistrict, District, Province, Region):
        db.session.execute(delete(model))
    db.session.commit()


def test_geo_load_from_empty_then_again_changes_nothing(app, db):
    wipe_geography(db)
    runner = app.test_cli_runner()

    first = runner.invoke(args=["geo", "load"])

    assert first.exit_code == 0, first.output
    db.session.expire_all()
    assert (count(db, Province), count(db, District), count(db, Subdistrict)) == (77, 928, 7436)
    postal_before = count(db, PostalCode)
    assert postal_before >= 7436

    second = runner.invoke(args=["geo", "load"])

    assert second.exit_code == 0
    assert "0 added, 0 updated" in second.output
    assert (
        "provinces: 0 added" in second.output
        and "postal_codes: 0 added, 0 removed" in second.output
    )
    db.session.expire_all()
    assert (count(db, Province), count(db, District), count(db, Subdistrict)) == (77, 928, 7436)
    assert count(db, PostalCode) == postal_before


def test_every_province_has_a_region_in_the_six_region_scheme(db):
    sizes = dict(
        db.session.execute(
            select(Province.region_code, func.count()).group_by(Province.region_code)
        ).all()
    )
    assert sizes == REGION_SIZES
    assert db.session.scalar(select(func.count()).where(Province.region_code.is_(None))) == 0
    bangkok = db.session.get(Province, "10")
    assert (bangkok.name_th, bangkok.region.name_en) == ("กรุงเทพมหานคร", "Central")
    assert db.session.get(Province, "83").region.code == "south"
    assert db.session.get(Province, "36").region.code == "northeast"


def test_geo_load_repairs_a_changed_name_and_a_lost_postal_code(app, db):
    db.session.get(Province, "36").name_en = "Chaiyapoom"
    db.session.execute(delete(PostalCode).where(PostalCode.subdistrict_code == "360201"))
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["geo", "load"])

    assert "provinces: 0 added, 1 updated" in result.output
    assert "postal_codes: 1 added, 0 removed" in result.output
    db.session.expire_all()
    assert db.session.get(Province, "36").name_en == "Chaiyaphum"
    assert db.session.get(Subdistrict, "360201").postal_code_list == ["36170"]


def test_the_demo_places_exist(db):
    na_thon = db.session.get(Subdistrict, "910602")
    assert (na_thon.name_th, na_thon.district.name_th, na_thon.district.province.name_th) == (
        "นาทอน",
        "ทุ่งหว้า",
        "สตูล",
    )
    assert db.session.get(Subdistrict, "250111").name_th == "ดงขี้เหล็ก"


def test_check_address(db):
    assert geo.check_address("830107", "83130").code == "830107"
    with pytest.raises(DomainError) as wrong_code:
        geo.check_address("830107", "10110")
    assert wrong_code.value.field == "postal_code"
    with pytest.raises(DomainError) as no_place:
        geo.check_address("000000", "83130")
    assert no_place.value.field == "subdistrict"


def test_picker_endpoints(client):
    districts = client.get("/geo/provinces/91/districts").json
    assert {"code": "9106", "name": "ทุ่งหว้า"} in districts

    subdistricts = client.get("/geo/districts/9106/subdistricts").json
    assert {"code": "910602", "name": "นาทอน", "postal_codes": ["91120"]} in subdistricts
    assert client.get("/geo/provinces/99/districts").json == []
