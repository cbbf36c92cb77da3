"""Units in the reader's language: a product's unit in English on English pages, the Thai one
otherwise; an order item keeps both as they were when it was sold."""

from marketplace.orders import services as orders
from tests.factories import ADDRESS, ProductFactory, UserFactory


def test_the_unit_reads_in_the_pages_language_and_the_order_keeps_it(client, db):
    rice = ProductFactory(unit_label="ถุง 5 กก.", unit_label_en="5 kg bag", price_satang=35000)
    plain = ProductFactory(unit_label="ชิ้น", unit_label_en="")
    buyer = UserFactory()
    db.session.commit()
    thai = client.get(f"/products/{rice.id}").get_data(as_text=True)
    assert "/ ถุง 5 กก." in thai and "5 kg bag" not in thai
    client.post("/language/en", data={"csrf_token": client.csrf_token()})
    english = client.get(f"/products/{rice.id}").get_data(as_text=True)
    assert "/ 5 kg bag" in english and "/ ถุง 5 กก." not in english
    assert "/ ชิ้น" in client.get(f"/products/{plain.id}").get_data(as_text=True)
    order = orders.place_order(buyer, [(rice.id, 1)], address=ADDRESS)
    db.session.commit()
    rice.unit_label_en = "bag of 5 kg"
    db.session.commit()
    item = order.items[0]
    assert (item.unit_label, item.unit_label_en) == ("ถุง 5 กก.", "5 kg bag")


def test_the_api_reads_and_writes_the_english_unit(client, db):
    from tests.factories import SellerMemberFactory
    from tests.test_api import token_for

    member = SellerMemberFactory(user__email="member@example.com")
    product = ProductFactory(seller=member.seller, unit_label="ต้น")
    db.session.commit()
    headers = {"Authorization": f"Bearer {token_for(client, 'member@example.com')}"}
    changed = client.patch(
        f"/api/v1/products/{product.id}", json={"unit_en": "seedling"}, headers=headers
    )
    assert changed.status_code == 200, changed.json
    assert (changed.json["unit"], changed.json["unit_en"]) == ("ต้น", "seedling")
    assert client.get(f"/api/v1/products/{product.id}").json["unit_en"] == "seedling"
