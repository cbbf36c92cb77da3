"""Seed the demo marketplace through the same services the pages use. Idempotent."""

from datetime import date, timedelta

from sqlalchemy import func, select

from marketplace.accounts import services as accounts
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Category, Product, ProductStatus
from marketplace.demo import data, pictures
from marketplace.extensions import db
from marketplace.funds import services as funds
from marketplace.funds.models import Fund
from marketplace.geo import services as geo
from marketplace.grouporders import services as grouporders
from marketplace.grouporders.models import GroupOrder
from marketplace.levies import services as levies
from marketplace.levies.models import LevyRule
from marketplace.sellers import services as sellers
from marketplace.sellers.models import Seller
from marketplace.shipping import services as shipping

#: Demo levy rules apply to orders from this day.
DEMO_RULES_FROM = date(2026, 1, 1)


def is_seeded():
    return bool(db.session.scalar(select(func.count()).select_from(Seller)))


def _user(spec, password):
    user = accounts.get_by_email(spec["email"])
    if user is not None:
        return user, False
    user = accounts.register(
        spec["email"], password, spec["name"], spec.get("language", "th"), spec.get("phone", "")
    )
    if spec.get("ship"):
        subdistrict_code, postal_code, line = spec["ship"]
        accounts.update_shipping_address(
            user,
            name=spec["name"],
            phone=spec["phone"],
            address_line=line,
            subdistrict_code=subdistrict_code,
            postal_code=postal_code,
        )
    return user, True


def _organisation(model, spec, admin, create, set_verified, people_key, is_linked, add_person):
    organisation = db.session.scalar(select(model).where(model.name_th == spec["name_th"]))
    created = organisation is None
    if created:
        organisation = create(admin, spec)
        set_verified(admin, organisation, True)
    for email in spec[people_key]:
        user = accounts.get_by_email(email)
        if not is_linked(user, organisation.id):
            add_person(admin, organisation, email)
    return organisation, created


def _product(seller, spec):
    existing = db.session.scalar(
        select(Product).where(Product.seller_id == seller.id, Product.name_th == spec["name_th"])
    )
    if existing is not None:
        return existing, False
    member = seller.members[0].user
    category = db.session.scalar(select(Category).where(Category.slug == spec["category"]))
    draft = catalog.ProductDraft(
        name_th=spec["name_th"],
        name_en=spec["name_en"],
        description=spec.get("description", ""),
        unit_label=spec["unit_label"],
        unit_label_en=spec.get("unit_label_en", ""),
        category_id=category.id,
        price_satang=spec["price_satang"],
        stock=spec["stock"],
        weight_grams=spec["weight_grams"],
        status=ProductStatus.ACTIVE,
        price_tiers=tuple(catalog.PriceTier(*tier) for tier in spec.get("price_tiers", ())),
    )
    product = catalog.create_product(member, seller, draft)
    picture = pictures.picture(spec["name_en"])
    if picture is not None:
        catalog.add_image(member, product, picture)
    return product, True


def seed(password):
    """Create what is missing of the demo data; return ``[(kind, name, created)]``."""
    if not geo.is_loaded():
        geo.load_geography()
    catalog.ensure_default_categories()
    shipping.ensure_default_table()
    report = []
    admin = accounts.get_by_email(data.ADMIN["email"])
    if admin is None:
        admin = accounts.create_admin(data.ADMIN["email"], password, name=data.ADMIN["name"])
        report.append(("user", admin.email, True))
    else:
        report.append(("user", admin.email, False))
    for spec in data.USERS:
        user, created = _user(spec, password)
        report.append(("user", user.email, created))
    for spec in data.SELLERS:
        seller, created = _organisation(
            Seller,
            spec,
            admin,
            sellers.create_seller,
            sellers.set_seller_verified,
            "members",
            lambda user, seller_id: user.is_member_of(seller_id),
            sellers.add_member,
        )
        if created and spec.get("pickup_note"):
            shipping.save_seller_shipping(
                admin, seller, tiers=None, offers_pickup=True, pickup_note=spec["pickup_note"]
            )
        report.append(("seller", seller.name_th, created))
    for seller_name, products in data.PRODUCTS.items():
        seller = db.session.scalar(select(Seller).where(Seller.name_th == seller_name))
        for spec in products:
            product, created = _product(seller, spec)
            report.append(("product", product.name_th, created))
    for spec in data.FUNDS:
        fund, created = _organisation(
            Fund,
            spec,
            admin,
            funds.create_fund,
            funds.set_fund_verified,
            "treasurers",
            lambda user, fund_id: user.is_treasurer_of(fund_id),
            funds.add_treasurer,
        )
        report.append(("fund", fund.name_th, created))
    for email, fund_name in data.BUYER_FUNDS.items():
        user = accounts.get_by_email(email)
        if user.fund_id is None:
            user.fund_id = db.session.scalar(select(Fund.id).where(Fund.name_th == fund_name))
    for spec in data.LEVY_RULES:
        rule, created = _levy_rule(spec)
        report.append(("levy", f"{spec['seller']}: {spec['kind']} {spec['rate']}", created))
    group, created = _group_order(data.GROUP_ORDER)
    report.append(("group order", group.title, created))
    db.session.flush()
    return report


def _group_order(spec):
    """The demo group order, open for a week from when it is seeded, with two pledges."""
    existing = db.session.scalar(select(GroupOrder).where(GroupOrder.title == spec["title"]))
    if existing is not None:
        return existing, False
    organiser = accounts.get_by_email(spec["organiser"])
    seller = db.session.scalar(select(Seller).where(Seller.name_th == spec["seller"]))
    products = {
        p.name_th: p
        for p in db.session.scalars(select(Product).where(Product.seller_id == seller.id))
    }
    fund_id = db.session.scalar(select(Fund.id).where(Fund.name_th == spec["fund"]))
    terms = grouporders.GroupOrderTerms(
        seller_id=seller.id,
        title=spec["title"],
        closes_at=grouporders.default_closing_time() + timedelta(days=spec["days_open"] - 3),
        product_ids=tuple(products[name].id for name in spec["products"]),
        address=spec["shipping"],
        fund_id=fund_id,
        note=spec["note"],
    )
    group = grouporders.open_group_order(organiser, terms)
    for email, units in spec["pledges"]:
        grouporders.pledge(
            accounts.get_by_email(email),
            group,
            [(products[name].id, count) for name, count in units.items()],
        )
    return group, True


def _levy_rule(spec):
    seller = db.session.scalar(select(Seller).where(Seller.name_th == spec["seller"]))
    fund = (
        db.session.scalar(select(Fund).where(Fund.name_th == spec["fund"]))
        if spec["fund"]
        else None
    )
    existing = db.session.scalar(
        select(LevyRule).where(
            LevyRule.seller_id == seller.id,
            LevyRule.kind == spec["kind"],
            LevyRule.beneficiary == spec["beneficiary"],
        )
    )
    if existing is not None:
        return existing, False
    product_id = category_id = None
    if spec["scope"] == "product":
        product_id = db.session.scalar(
            select(Product.id).where(
                Product.seller_id == seller.id, Product.name_th == spec["product"]
            )
        )
    if spec["scope"] == "category":
        category_id = db.session.scalar(
            select(Category.id).where(Category.slug == spec["category"])
        )
    terms = levies.LevyTerms(
        seller_id=seller.id,
        fund_id=fund.id if fund else None,
        beneficiary=spec["beneficiary"],
        scope=spec["scope"],
        category_id=category_id,
        product_id=product_id,
        kind=spec["kind"],
        rate=spec["rate"],
        effective_from=DEMO_RULES_FROM,
    )
    rule = levies.propose(accounts.get_by_email(spec["proposer"]), spec["side"], terms)
    levies.accept(accounts.get_by_email(spec["accepter"]), rule)
    return rule, True
