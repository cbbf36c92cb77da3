"""factory_boy factories; they flush into the current app context's session."""

from datetime import date

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.accounts.passwords import hash_password
from marketplace.catalog.models import Category, Product, ProductStatus
from marketplace.catalog.services import search_text_for
from marketplace.extensions import db
from marketplace.funds.models import Fund, FundTreasurer
from marketplace.levies.models import Beneficiary, LevyKind, LevyScope, Side
from marketplace.sellers.models import Seller, SellerKind, SellerMember
from tests.conftest import PASSWORD

#: A delivery address in Hat Yai that checkout's form accepts.
ADDRESS = {
    "name": "สมศรี",
    "phone": "0812345678",
    "address_line": "1",
    "subdistrict_code": "830107",
    "postal_code": "83130",
}


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name", locale="th_TH")
    password_hash = factory.LazyFunction(lambda: hash_password(PASSWORD))
    language = "th"
    is_admin = False


class AdminFactory(UserFactory):
    is_admin = True


class SellerFactory(Base):
    class Meta:
        model = Seller

    name_th = factory.Sequence(lambda n: f"วิสาหกิจชุมชนทดสอบ {n}")
    name_en = factory.Sequence(lambda n: f"Test Community Enterprise {n}")
    kind = SellerKind.COMMUNITY_ENTERPRISE
    # Ban Khwao, Ban Khwao, Chaiyaphum
    subdistrict_code = "360201"
    postal_code = "36170"
    verified = True


class FundFactory(Base):
    class Meta:
        model = Fund

    name_th = factory.Sequence(lambda n: f"กองทุนสวัสดิการชุมชนทดสอบ {n}")
    # Rawai, Mueang Phuket, Phuket
    subdistrict_code = "830107"
    postal_code = "83130"
    verified = True


class SellerMemberFactory(Base):
    class Meta:
        model = SellerMember

    seller = factory.SubFactory(SellerFactory)
    user = factory.SubFactory(UserFactory)


class FundTreasurerFactory(Base):
    class Meta:
        model = FundTreasurer

    fund = factory.SubFactory(FundFactory)
    user = factory.SubFactory(UserFactory)


class ProductFactory(Base):
    class Meta:
        model = Product

    seller = factory.SubFactory(SellerFactory)
    category = factory.LazyFunction(
        lambda: db.session.scalar(select(Category).order_by(Category.id))
    )
    name_th = factory.Sequence(lambda n: f"สินค้าทดสอบ {n}")
    name_en = factory.Sequence(lambda n: f"Test product {n}")
    unit_label = "ชิ้น"
    price_satang = 10000
    stock = 10
    weight_grams = 500
    status = ProductStatus.ACTIVE
    search_text = factory.LazyAttribute(
        lambda o: search_text_for(
            {
                "name_th": o.name_th,
                "name_en": o.name_en,
                "unit_label": o.unit_label,
                "description": "",
            }
        )
    )


def agreed_levy(
    member,
    treasurer,
    product=None,
    *,
    kind="per_unit",
    rate=400,
    scope=None,
    effective_from=date(2026, 1, 1),
    admin=None,
):
    """An active levy rule of ``rate`` (satang per unit or per kg, or basis points), proposed
    by ``member`` (a SellerMember): for the fund of ``treasurer`` (a FundTreasurer) and
    accepted by that treasurer, or with no treasurer for the buyer's own fund and accepted
    by ``admin``. For ``product`` when one is given, else for all of the seller's products."""
    from marketplace.levies import services as levies

    terms = levies.LevyTerms(
        seller_id=member.seller_id,
        fund_id=treasurer.fund_id if treasurer is not None else None,
        beneficiary=Beneficiary.FUND if treasurer is not None else Beneficiary.BUYER_FUND,
        scope=LevyScope(scope or ("product" if product is not None else "seller")),
        product_id=product.id if product is not None else None,
        kind=LevyKind(kind),
        rate=rate,
        effective_from=effective_from,
    )
    rule = levies.propose(member.user, Side.SELLER, terms)
    levies.accept(treasurer.user if treasurer is not None else admin, rule)
    return rule
