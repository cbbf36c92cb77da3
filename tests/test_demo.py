from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.catalog.models import Product
from marketplace.funds.models import Fund
from marketplace.outbox import services as outbox
from marketplace.sellers.models import Seller


def counts(db):
    db.session.expire_all()
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (User, Seller, Fund)
    }


def test_demo_seed_is_complete_and_idempotent(app, db, client):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    after_first = counts(db)
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0, second.output

    assert counts(db) == after_first == {"User": 8, "Seller": 4, "Fund": 2}
    # Every welcome mail went out: no outbox row left undone.
    assert outbox.pending_count() == 0
    assert "talat-demo-2569" in first.output and "created" not in second.output

    sellers = {s.name_en: s for s in db.session.scalars(select(Seller))}
    rice = sellers["Ban Khwao Organic Jasmine Rice Community Enterprise"]
    assert rice.subdistrict.district.province.name_en == "Chaiyaphum" and rice.verified
    weaving = sellers["Na Thon Khlum Reed Weaving Group"]
    assert (weaving.subdistrict.name_en, weaving.subdistrict.district.name_en) == (
        "Na Thon",
        "Thung Wa",
    )
    assert sellers["Khiri Wong Mangosteen Seedling Nursery"].province_code == "80"
    assert sellers["Dong Khi Lek Ma-sang Tree Growers"].subdistrict.name_th == "ดงขี้เหล็ก"
    funds = {f.name_en: f for f in db.session.scalars(select(Fund))}
    assert funds["Rawai Community Welfare Fund"].province_code == "83"
    assert funds["Ban Khwao Community Welfare Fund"].province_code == "36"

    # One user per role can sign in with the printed password.
    for email, page in [
        ("admin@demo.local", "/admin/"),
        ("seller@demo.local", f"/sellers/{rice.id}/edit"),
        ("treasurer@demo.local", f"/funds/{funds['Rawai Community Welfare Fund'].id}/edit"),
        ("buyer@demo.local", "/account"),
    ]:
        client.login(email, "talat-demo-2569")
        assert client.get(page).status_code == 200, email
        client.submit("/logout", {})

    home = client.get("/").get_data(as_text=True)
    assert "วิสาหกิจชุมชนข้าวหอมมะลิอินทรีย์บ้านเขว้า" in home and "กลุ่มจักสานคลุ้มบ้านนาทอน" in home

    # A living catalog: every demo seller sells something, the rice bag at ฿350.
    products = db.session.scalars(select(Product)).all()
    assert {p.seller_id for p in products} == set(s.id for s in sellers.values())
    bag = next(p for p in products if p.name_th == "ข้าวหอมมะลิอินทรีย์ ถุง 5 กก.")
    assert (bag.price_satang, bag.unit_label, bag.seller_id) == (35000, "ถุง 5 กก.", rice.id)
    assert "ข้าวหอมมะลิอินทรีย์ ถุง 5 กก." in client.get("/products?q=มะลิ").get_data(as_text=True)


def test_demo_seed_if_empty_leaves_a_used_marketplace_alone(app, db):
    from tests.factories import SellerFactory

    SellerFactory()
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["demo", "seed", "--if-empty"])

    assert result.exit_code == 0
    assert counts(db) == {"User": 0, "Seller": 1, "Fund": 0}


def test_demo_seed_is_refused_in_production(make_app):
    from marketplace.extensions import db

    # No app context pushed here: the command must run in the production-like app's own.
    production_like = make_app(ENV_NAME="production")

    result = production_like.test_cli_runner().invoke(args=["demo", "seed"])

    assert result.exit_code != 0
    assert "production" in result.output
    with production_like.app_context():
        assert counts(db) == {"User": 0, "Seller": 0, "Fund": 0}
