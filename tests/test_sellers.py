from tests.factories import AdminFactory, SellerFactory, SellerMemberFactory, UserFactory


def profile(**changes):
    data = {
        "name_th": "วิสาหกิจชุมชนข้าวหอมมะลิบ้านเขว้า",
        "name_en": "Ban Khwao Rice",
        "kind": "community_enterprise",
        "description": "ข้าวหอมมะลิอินทรีย์",
        "address_line": "99 หมู่ 1",
        "province": "36",
        "district": "3602",
        "subdistrict": "360201",
        "postal_code": "36170",
        "contact_name": "บุญมี",
        "phone": "081 234 5678",
        "email": "rice@example.com",
        "promptpay_id": "0812345678",
        "bank_name": "ธ.ก.ส.",
        "bank_account_name": "วิสาหกิจชุมชน",
        "bank_account_number": "020-1234567",
    }
    data.update(changes)
    return data


def test_member_edits_their_own_seller(client, db):
    membership = SellerMemberFactory(user__email="member@example.com")
    seller = membership.seller
    db.session.commit()
    client.login("member@example.com")

    response = client.submit(f"/sellers/{seller.id}/edit", profile())

    assert response.status_code == 302
    db.session.refresh(seller)
    assert seller.name_th == "วิสาหกิจชุมชนข้าวหอมมะลิบ้านเขว้า"
    assert seller.phone == "0812345678"
    assert seller.bank_account_number == "0201234567"
    assert seller.promptpay_id == "0812345678"
    assert seller.verified  # members cannot change verification, and editing keeps it


def test_member_cannot_edit_another_seller(client, db):
    SellerMemberFactory(user__email="member@example.com")
    other = SellerFactory(name_th="กลุ่มอื่น")
    db.session.commit()
    client.login("member@example.com")

    assert client.get(f"/sellers/{other.id}/edit").status_code == 403
    response = client.submit(f"/sellers/{other.id}/edit", profile(name_th="ถูกแก้"))

    assert response.status_code == 403
    db.session.refresh(other)
    assert other.name_th == "กลุ่มอื่น"


def test_buyer_and_guest_cannot_edit_a_seller(client, db):
    seller = SellerFactory()
    UserFactory(email="buyer@example.com")
    db.session.commit()

    guest = client.get(f"/sellers/{seller.id}/edit")
    assert guest.status_code == 302 and "/login" in guest.headers["Location"]
    client.login("buyer@example.com")
    assert client.get(f"/sellers/{seller.id}/edit").status_code == 403


def test_admin_can_edit_any_seller(client, db):
    seller = SellerFactory()
    AdminFactory(email="admin@example.com")
    db.session.commit()
    client.login("admin@example.com")

    assert (
        client.submit(f"/sellers/{seller.id}/edit", profile(name_th="แก้โดยผู้ดูแล")).status_code == 302
    )
    db.session.refresh(seller)
    assert seller.name_th == "แก้โดยผู้ดูแล"


def test_seller_profile_refuses_bad_fields_and_changes_nothing(client, db):
    membership = SellerMemberFactory(user__email="member@example.com")
    seller = membership.seller
    original = seller.name_th
    db.session.commit()
    client.login("member@example.com")

    for bad in (
        {"postal_code": "10200"},
        {"promptpay_id": "12345"},
        {"bank_account_number": "12ab"},
        {"email": "nope"},
        {"kind": "corporation"},
        {"name_th": ""},
    ):
        response = client.submit(f"/sellers/{seller.id}/edit", {**profile(name_th="ใหม่"), **bad})
        assert response.status_code == 400, bad
    db.session.refresh(seller)
    assert seller.name_th == original


def test_unverified_seller_is_hidden_from_the_public_but_not_from_members(client, db):
    membership = SellerMemberFactory(user__email="member@example.com", seller__verified=False)
    seller_id = membership.seller.id
    db.session.commit()

    assert client.get(f"/sellers/{seller_id}").status_code == 404
    client.login("member@example.com")
    page = client.get(f"/sellers/{seller_id}")
    assert page.status_code == 200
    assert "ยังไม่ได้ยืนยัน" in page.get_data(as_text=True)


def test_public_seller_page_shows_origin(client, db):
    seller = SellerFactory(name_th="กลุ่มจักสานคลุ้ม", subdistrict_code="910602", postal_code="91120")
    db.session.commit()

    page = client.get(f"/sellers/{seller.id}").get_data(as_text=True)

    assert "กลุ่มจักสานคลุ้ม" in page
    assert "ตำบลนาทอน อำเภอทุ่งหว้า จังหวัดสตูล 91120" in page

    client.post("/language/en", data={"csrf_token": client.csrf_token()})
    english = client.get(f"/sellers/{seller.id}").get_data(as_text=True)
    assert "Na Thon, Thung Wa, Satun 91120" in english and "Subdistrict" not in english


def test_missing_seller_is_404(client, db):
    AdminFactory(email="admin@example.com")
    db.session.commit()

    assert client.get("/sellers/999999").status_code == 404
    assert client.get("/sellers/999999/edit").status_code == 302  # guests sign in first
    client.login("admin@example.com")
    assert client.get("/sellers/999999/edit").status_code == 404
