"""Categories, products and their images, and the catalog query buyers browse."""

import math
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace import transaction
from marketplace.accounts.roles import can_manage_seller
from marketplace.catalog import cache as catalog_cache
from marketplace.catalog import images, tiers
from marketplace.catalog.models import (
    MAX_IMAGES,
    Category,
    Product,
    ProductImage,
    ProductPriceTier,
    ProductStatus,
)
from marketplace.catalog.tiers import NextTier, PriceTier  # noqa: F401 (for callers)
from marketplace.errors import DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.geo.models import District, Province, Subdistrict
from marketplace.guards import MAX_ID
from marketplace.i18n import localized
from marketplace.limits import (
    DESCRIPTION_LENGTH,
    MAX_LINE_QUANTITY,
    MAX_PRICE_SATANG,
    MAX_PRICE_TIERS,
    MAX_STOCK,
    MAX_WEIGHT_GRAMS,
    length,
)
from marketplace.money import format_satang
from marketplace.organisations.services import require_admin
from marketplace.sellers.models import Seller

#: slug, Thai, English: the categories every marketplace starts with.
DEFAULT_CATEGORIES = (
    ("rice-grains", "ข้าวและธัญพืช", "Rice and grains"),
    ("fruit-plants", "ผลไม้ ต้นไม้ และกล้าไม้", "Fruit, plants and seedlings"),
    ("woven-handicraft", "เครื่องจักสานและหัตถกรรม", "Woven goods and handicraft"),
    ("processed-food", "อาหารแปรรูป", "Processed food"),
    ("other", "อื่น ๆ", "Other"),
)
_MAX_PRICE = format_satang(MAX_PRICE_SATANG)
SORTS = ("newest", "price_asc", "price_desc")
PER_PAGE = 24
MAX_PER_PAGE = 60


# Categories


def categories(include_inactive=False):
    query = select(Category).order_by(Category.position, Category.id)
    if not include_inactive:
        query = query.where(Category.active.is_(True))
    return db.session.scalars(query).all()


@dataclass(frozen=True)
class Choice:
    """One option of the catalog's filters: a category (``key`` its slug), a region or a
    province (``key`` its code)."""

    key: str
    name_th: str
    name_en: str

    @property
    def name(self):
        return localized(self.name_th, self.name_en)


@dataclass(frozen=True)
class Choices:
    categories: list
    regions: list
    provinces: list


def filter_choices():
    """The active categories, the regions and the provinces, for the catalog's filters and
    the home page: from the catalog cache (categories change through ``save_category``;
    the geography through ``flask geo load``)."""

    def read():
        from marketplace.geo import services as geo

        return Choices(
            categories=[Choice(c.slug, c.name_th, c.name_en) for c in categories()],
            regions=[Choice(r.code, r.name_th, r.name_en) for r in geo.regions()],
            provinces=[Choice(p.code, p.name_th, p.name_en) for p in geo.provinces()],
        )

    if "catalog_choices" not in g:  # asked for more than once a request
        g.catalog_choices = catalog_cache.cached("choices", read)
    return g.catalog_choices


def category_by_slug(slug):
    """The active category with this slug, else ``None``."""
    return db.session.scalar(
        select(Category).where(Category.slug == slug, Category.active.is_(True))
    )


def get_category(category_id):
    category = db.session.get(Category, category_id)
    if category is None:
        raise NotFound(_l("No such category."))
    return category


def ensure_default_categories():
    """Create the default categories that are missing (by slug); idempotent."""
    existing = set(db.session.scalars(select(Category.slug)))
    for position, (slug, name_th, name_en) in enumerate(DEFAULT_CATEGORIES):
        if slug not in existing:
            db.session.add(Category(slug=slug, name_th=name_th, name_en=name_en, position=position))
    db.session.flush()


def save_category(actor, category, *, name_th, name_en, position, active):
    """Create (``category=None``) or edit a category; admins only."""
    require_admin(actor)
    name_th, name_en = (name_th or "").strip(), (name_en or "").strip()
    if not name_th:
        raise DomainError(_l("Enter the name in Thai."), field="name_th")
    if category is None:
        slug = _unique_slug(name_en or f"category-{position}")
        category = Category(slug=slug)
        db.session.add(category)
    category.name_th, category.name_en = name_th, name_en
    category.position, category.active = int(position or 0), bool(active)
    db.session.flush()
    catalog_cache.changed()
    return category


def _unique_slug(text):
    base = "".join(ch if ch.isalnum() and ch.isascii() else "-" for ch in text.lower()).strip("-")
    base = "-".join(part for part in base.split("-") if part) or "category"
    slug, n = base, 1
    while db.session.scalar(select(Category.id).where(Category.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


# Products


def get_product(product_id):
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(_l("No such product."))
    return product


@dataclass(frozen=True)
class ProductDraft:
    """A product's fields as a seller sets them, already read from the form or the body:
    the price in satang, the weight in grams, the category's id, the status an enum."""

    name_th: str
    unit_label: str
    category_id: int | None
    price_satang: int
    stock: int
    weight_grams: int
    name_en: str = ""
    description: str = ""
    status: ProductStatus = ProductStatus.DRAFT
    unit_label_en: str = ""
    #: Quantity price tiers (PriceTiers of satang), in the order the seller gave them:
    #: errors name them by that position (``price_tiers[1].price_satang``).
    price_tiers: tuple = ()

    def __post_init__(self):
        for name in ("price_satang", "stock", "weight_grams"):
            _require_int(name, getattr(self, name))
        if self.category_id is not None:
            _require_int("category_id", self.category_id)
        if not isinstance(self.status, ProductStatus):
            raise TypeError(f"status is a ProductStatus, got {type(self.status).__name__}")
        object.__setattr__(self, "price_tiers", tuple(self.price_tiers))
        for tier in self.price_tiers:
            if not isinstance(tier, PriceTier):
                raise TypeError(f"price_tiers are PriceTiers, got {type(tier).__name__}")
            _require_int("min_quantity", tier.min_quantity)
            _require_int("price_satang", tier.price_satang)

    @classmethod
    def of(cls, product, **changes):
        """``product``'s fields, with ``changes`` over them."""
        fields = {
            "name_th": product.name_th,
            "unit_label": product.unit_label,
            "unit_label_en": product.unit_label_en,
            "category_id": product.category_id,
            "price_satang": product.price_satang,
            "stock": product.stock,
            "weight_grams": product.weight_grams,
            "name_en": product.name_en,
            "description": product.description,
            "status": ProductStatus(product.status),
            "price_tiers": tiers.ordered(product.price_tiers),
        }
        return cls(**{**fields, **changes})


def _require_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} is an int, got {type(value).__name__}")


def product_problems(
    *,
    name_th=None,
    unit_label=None,
    category_id=None,
    price_satang=None,
    stock=None,
    weight_grams=None,
):
    """Every way these product fields break the catalog's rules, as ``[(field, message)]``
    in the form's order; a field given as None is not checked (a form that could not read
    it says so itself)."""
    problems = []
    if name_th is not None and not name_th.strip():
        problems.append(("name_th", _l("Enter the name in Thai.")))
    if unit_label is not None and not unit_label.strip():
        problems.append(("unit_label", _l("Say what one unit is, such as ถุง 5 กก.")))
    if category_id is not None and _offered_category(category_id) is None:
        problems.append(("category_id", _l("Choose a category.")))
    if price_satang is not None:
        if price_satang <= 0:
            problems.append(("price", _l("The price must be more than zero.")))
        elif price_satang > MAX_PRICE_SATANG:
            problems.append(("price", _l("At most %(amount)s.", amount=_MAX_PRICE)))
    if stock is not None and not 0 <= stock <= MAX_STOCK:
        problems.append(("stock", _l("Stock is a whole number from 0.")))
    if weight_grams is not None and not 0 < weight_grams <= MAX_WEIGHT_GRAMS:
        problems.append(("weight_grams", _l("Weight is a whole number of grams, more than zero.")))
    return problems


def _offered_category(category_id):
    """The active category with this id, else None."""
    category = (
        db.session.get(Category, category_id)
        if isinstance(category_id, int) and 0 < category_id <= MAX_ID
        else None
    )
    return category if category is not None and category.active else None


def clean_product(draft):
    """Check a draft against the catalog's rules; return the product's column values."""
    problems = product_problems(
        name_th=draft.name_th or "",
        unit_label=draft.unit_label or "",
        category_id=draft.category_id if draft.category_id is not None else 0,
        price_satang=draft.price_satang,
        stock=draft.stock,
        weight_grams=draft.weight_grams,
    )
    if problems:
        field, message = problems[0]
        raise DomainError(message, field=field)
    check_price_tiers(draft.price_satang, draft.price_tiers)
    name_th, unit_label = draft.name_th.strip(), draft.unit_label.strip()
    values = {
        "name_th": name_th[: length(Product.name_th)],
        "name_en": (draft.name_en or "").strip()[: length(Product.name_en)],
        "description": (draft.description or "").strip()[:DESCRIPTION_LENGTH],
        "unit_label": unit_label[: length(Product.unit_label)],
        "unit_label_en": (draft.unit_label_en or "").strip()[: length(Product.unit_label_en)],
        "category_id": draft.category_id,
        "price_satang": draft.price_satang,
        "stock": draft.stock,
        "weight_grams": draft.weight_grams,
        "status": draft.status,
    }
    values["search_text"] = search_text_for(values)
    return values


class InvalidPriceTiers(DomainError):
    """Quantity price tiers that break the catalog's rules: ``fields`` names every problem
    by the tier's position (``price_tiers[1].price_satang``), as the API's errors do."""

    def __init__(self, problems):
        first_path, first_message = problems[0]
        super().__init__(first_message, field=first_path)
        self.fields = {}
        for path, message in problems:
            self.fields.setdefault(path, []).append(message)


def price_tier_problems(price_satang, price_tiers):
    """Every way ``price_tiers`` (PriceTiers, in the seller's order) break the rules, as
    ``[(path, message)]``; empty when they keep them. A tier starts from 2 units up to what
    one order may hold, once per minimum, and costs more than zero but less than the price
    per unit (``price_satang``; None when not known) and less than every tier below it."""
    if len(price_tiers) > MAX_PRICE_TIERS:
        return [("price_tiers", _l("At most %(count)d quantity prices.", count=MAX_PRICE_TIERS))]
    problems = []
    usable = []  # (minimum, price, position) of tiers right on their own
    seen = set()
    for position, tier in enumerate(price_tiers):
        path = f"price_tiers[{position}]"
        count = len(problems)
        if tier.min_quantity < 2:
            problems.append(
                (f"{path}.min_quantity", _l("A quantity price starts from 2 units or more."))
            )
        elif tier.min_quantity > MAX_LINE_QUANTITY:
            problems.append(
                (
                    f"{path}.min_quantity",
                    _l(
                        "At most %(count)d units: one order holds no more.",
                        count=MAX_LINE_QUANTITY,
                    ),
                )
            )
        elif tier.min_quantity in seen:
            problems.append(
                (
                    f"{path}.min_quantity",
                    _l(
                        "Another quantity price starts from %(count)d units.",
                        count=tier.min_quantity,
                    ),
                )
            )
        else:
            seen.add(tier.min_quantity)
        if tier.price_satang <= 0:
            problems.append((f"{path}.price_satang", _l("The price must be more than zero.")))
        elif price_satang is not None and price_satang > 0 and tier.price_satang >= price_satang:
            problems.append(
                (
                    f"{path}.price_satang",
                    _l(
                        "A quantity price must be lower than the price per unit (%(price)s).",
                        price=format_satang(price_satang),
                    ),
                )
            )
        if len(problems) == count:
            usable.append((tier.min_quantity, tier.price_satang, position))
    below = None  # the right tier with the next smaller minimum
    for minimum, price, position in sorted(usable):
        if below is not None and price >= below[1]:
            problems.append(
                (
                    f"price_tiers[{position}].price_satang",
                    _l(
                        "For more units the price must be lower: %(price)s from %(count)d "
                        "units already.",
                        price=format_satang(below[1]),
                        count=below[0],
                    ),
                )
            )
        else:
            below = (minimum, price)
    return sorted(problems, key=lambda problem: _position(problem[0]))


def _position(path):
    """``price_tiers[3].price_satang`` → (3, path): problems in the order of the tiers."""
    number = path.partition("[")[2].partition("]")[0]
    return (int(number) if number.isdigit() else -1, path)


def check_price_tiers(price_satang, price_tiers):
    """Raise InvalidPriceTiers naming every problem of ``price_tiers``, if any."""
    problems = price_tier_problems(price_satang, price_tiers)
    if problems:
        raise InvalidPriceTiers(problems)


def _set_price_tiers(product, price_tiers):
    """Make ``product``'s tiers ``price_tiers`` (checked): a minimum kept keeps its row
    (its price updated), so that no two rows share a minimum at any moment of the flush."""
    wanted = {tier.min_quantity: tier.price_satang for tier in price_tiers}
    rows = {row.min_quantity: row for row in product.price_tiers}
    for minimum, row in rows.items():
        if minimum not in wanted:
            product.price_tiers.remove(row)
    for minimum, price in sorted(wanted.items()):
        row = rows.get(minimum)
        if row is None:
            product.price_tiers.append(ProductPriceTier(min_quantity=minimum, price_satang=price))
        elif row.price_satang != price:
            row.price_satang = price
    product.price_tiers.sort(key=lambda row: row.min_quantity)


def unit_price(product, quantity):
    """What one unit of ``product`` costs when ``quantity`` units are in one order: the tier
    with the largest minimum reached, else its price. ``product`` is a Product (its tiers
    loaded with it, to read nothing more) or a Card."""
    return tiers.unit_price(product.price_satang, product.price_tiers, quantity)


def next_tier(product, quantity):
    """The next cheaper tier ``quantity`` units of ``product`` in one order would reach: a
    NextTier (``min_quantity``, ``price_satang``, ``units_short``), or None."""
    return tiers.next_tier(product.price_satang, product.price_tiers, quantity)


def search_text_for(values):
    parts = (values["name_th"], values["name_en"], values["unit_label"], values["description"])
    return " ".join(part for part in parts if part).lower()


def _require_member(actor, seller_id):
    if not can_manage_seller(actor, seller_id):
        raise Forbidden(_l("You are not a member of this seller."))


def create_product(actor, seller, draft):
    """A new product of ``seller`` from a ProductDraft; members of the seller only."""
    _require_member(actor, seller.id)
    product = Product(seller_id=seller.id, price_tiers=[], **clean_product(draft))
    _set_price_tiers(product, draft.price_tiers)
    db.session.add(product)
    db.session.flush()
    catalog_cache.changed()
    return product


def update_product(actor, product, draft):
    """Set all of ``product``'s fields from a ProductDraft; members of its seller only."""
    _require_member(actor, product.seller_id)
    for key, value in clean_product(draft).items():
        setattr(product, key, value)
    _set_price_tiers(product, draft.price_tiers)
    db.session.flush()
    catalog_cache.changed()
    return product


def default_status(seller):
    """What a new product of ``seller`` is unless the seller chooses otherwise: on sale when
    buyers can see the seller (verified), else a draft."""
    return ProductStatus.ACTIVE if seller.verified else ProductStatus.DRAFT


def picture_count_problem(keeping, adding):
    """Why a product cannot have ``keeping`` pictures plus ``adding`` new ones, or None."""
    if keeping + adding <= MAX_IMAGES:
        return None
    return _l(
        "A product has at most %(count)d pictures: choose %(fewer)d fewer, or remove some.",
        count=MAX_IMAGES,
        fewer=keeping + adding - MAX_IMAGES,
    )


@dataclass(frozen=True)
class NewPicture:
    """A picture sent with the product form: the file's name (for messages) and its bytes."""

    filename: str
    stream: object


def save_product(actor, seller, product, draft, *, pictures=(), removed_image_ids=()):
    """The product form's one unit of work: create (``product`` None) or update a product of
    ``seller`` from a ProductDraft, take away the pictures named, add the new ones
    (NewPictures, each checked, stripped and resized by catalog/images.py). Any refusal
    raises before the boundary commits, so nothing of it is kept."""
    removed = set(removed_image_ids)
    keeping = 0 if product is None else sum(1 for i in product.images if i.id not in removed)
    problem = picture_count_problem(keeping, len(pictures))
    if problem is not None:
        raise DomainError(problem, field="photos")
    if product is None:
        product = create_product(actor, seller, draft)
    else:
        update_product(actor, product, draft)
    for image_id in sorted(removed):
        remove_image(actor, product, image_id)
    for picture in pictures:
        try:
            add_image(actor, product, picture.stream)
        except DomainError as error:
            if error.field != "image":
                raise
            raise DomainError(
                _l("%(file)s: %(problem)s", file=picture.filename, problem=error.message),
                field="photos",
            ) from None
    return product


@dataclass(frozen=True)
class StockChange:
    """A change the seller centre makes to one product: its stock, its status, or both
    (None: left as it is)."""

    product_id: int
    stock: int | None = None
    status: ProductStatus | None = None


def set_stock_and_status(actor, seller_id, changes):
    """Apply StockChanges to products of ``seller_id``; members of the seller only. A
    product of another seller is "not found"; nothing changes unless all can."""
    _require_member(actor, seller_id)
    ids = {change.product_id for change in changes}
    products = {
        product.id: product
        for product in db.session.scalars(
            select(Product).where(Product.id.in_(ids), Product.seller_id == seller_id)
        )
    }
    if set(products) != ids:
        raise NotFound(_l("No such product."))
    changed = {}
    for change in changes:
        product = products[change.product_id]
        if change.stock is not None and change.stock != product.stock:
            _require_int("stock", change.stock)
            if not 0 <= change.stock <= MAX_STOCK:
                raise DomainError(_l("Stock is a whole number from 0."), field="stock")
            product.stock = change.stock
            changed[product.id] = product
        if change.status is not None and change.status != product.status:
            product.status = ProductStatus(change.status)
            changed[product.id] = product
    if changed:
        db.session.flush()
        catalog_cache.changed()
    return list(changed.values())


def add_image(actor, product, stream):
    _require_member(actor, product.seller_id)
    if len(product.images) >= MAX_IMAGES:
        raise DomainError(
            _l("A product has at most %(count)d pictures.", count=MAX_IMAGES), field="image"
        )
    display, thumb, width, height = images.process_upload(stream)
    display_name, thumb_name = images.store(display, thumb)
    # The files exist before the row does: take them away again if the row never lands.
    transaction.on_rollback(lambda: images.delete(display_name, thumb_name))
    image = ProductImage(
        display_name=display_name,
        thumb_name=thumb_name,
        width=width,
        height=height,
        position=max((i.position for i in product.images), default=-1) + 1,
    )
    product.images.append(image)
    db.session.flush()
    catalog_cache.changed()
    return image


def remove_image(actor, product, image_id):
    _require_member(actor, product.seller_id)
    image = next((i for i in product.images if i.id == image_id), None)
    if image is None:
        raise NotFound(_l("No such picture."))
    names = (image.display_name, image.thumb_name)
    product.images.remove(image)
    db.session.flush()
    catalog_cache.changed()
    # Only once the row is gone for good: a rolled-back removal keeps its pictures.
    transaction.on_commit(lambda: images.delete(*names))


def products_on_sale():
    """Every active product of a verified seller, by seller: for choosing one in a form."""
    return db.session.scalars(
        select(Product)
        .join(Product.seller)
        .where(Product.status == ProductStatus.ACTIVE, Seller.verified.is_(True))
        .options(joinedload(Product.seller))
        .order_by(Seller.name_th, Product.name_th)
    ).all()


def seller_products(seller_id):
    """All of a seller's products, for its members."""
    return db.session.scalars(
        select(Product)
        .where(Product.seller_id == seller_id)
        .options(
            joinedload(Product.category),
            selectinload(Product.images),
            selectinload(Product.price_tiers),
        )
        .order_by(Product.status, Product.name_th)
    ).all()


# The catalog


@dataclass
class CatalogQuery:
    q: str = ""
    category: str = ""
    province: str = ""
    region: str = ""
    seller: int | None = None
    sort: str = "newest"
    page: int = 1
    per_page: int = PER_PAGE


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self):
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self):
        return self.page < self.pages

    @property
    def has_prev(self):
        return self.page > 1


def _with_card_data(query):
    """Everything a product page shows, in this query plus one for the pictures."""
    return query.options(
        joinedload(Product.category),
        joinedload(Product.seller)
        .joinedload(Seller.subdistrict)
        .joinedload(Subdistrict.district)
        .joinedload(District.province),
        selectinload(Product.images),
        selectinload(Product.price_tiers),
    )


@dataclass(frozen=True)
class Card:
    """A product as a card (and an API list item) shows it: plain values, no ORM object,
    so that a page of cards is read in one query and kept in the catalog cache."""

    id: int
    name_th: str
    name_en: str
    description: str
    unit_label: str
    price_satang: int
    stock: int
    weight_grams: int
    status: str
    category_id: int
    category_slug: str
    category_th: str
    category_en: str
    seller_id: int
    seller_th: str
    seller_en: str
    province_code: str
    province_th: str
    province_en: str
    unit_label_en: str
    cover_thumb: str | None
    #: PriceTiers by minimum quantity.
    price_tiers: tuple = ()

    @property
    def name(self):
        return localized(self.name_th, self.name_en)

    @property
    def unit(self):
        return localized(self.unit_label, self.unit_label_en)

    @property
    def category_name(self):
        return localized(self.category_th, self.category_en)

    @property
    def seller_name(self):
        return localized(self.seller_th, self.seller_en)

    @property
    def province_name(self):
        return localized(self.province_th, self.province_en)


def card_of(product):
    """The card of a loaded product (``visible_product`` loads all it needs)."""
    province = product.seller.subdistrict.district.province
    cover = product.cover
    return Card(
        id=product.id,
        name_th=product.name_th,
        name_en=product.name_en,
        description=product.description,
        unit_label=product.unit_label,
        price_satang=product.price_satang,
        stock=product.stock,
        weight_grams=product.weight_grams,
        status=ProductStatus(product.status).value,
        category_id=product.category_id,
        category_slug=product.category.slug,
        category_th=product.category.name_th,
        category_en=product.category.name_en,
        seller_id=product.seller_id,
        seller_th=product.seller.name_th,
        seller_en=product.seller.name_en,
        province_code=province.code,
        province_th=province.name_th,
        province_en=province.name_en,
        unit_label_en=product.unit_label_en,
        cover_thumb=cover.thumb_name if cover else None,
        price_tiers=tiers.ordered(product.price_tiers),
    )


def _cover_thumb():
    return (
        select(ProductImage.thumb_name)
        .where(ProductImage.product_id == Product.id)
        .order_by(ProductImage.position, ProductImage.id)
        .limit(1)
        .correlate(Product)
        .scalar_subquery()
    )


def _price_tiers_text():
    """A product's tiers as one text, ``"50:32000,100:30000"`` (or NULL): read with its card
    in the same statement."""
    tier = ProductPriceTier
    pair = cast(tier.min_quantity, String) + literal(":") + cast(tier.price_satang, String)
    return (
        select(func.aggregate_strings(pair, ","))
        .where(tier.product_id == Product.id)
        .correlate(Product)
        .scalar_subquery()
    )


def _read_price_tiers(text):
    """``"50:32000,100:30000"`` → PriceTiers by minimum quantity."""
    if not text:
        return ()
    pairs = (part.split(":") for part in text.split(","))
    return tiers.ordered(PriceTier(int(minimum), int(price)) for minimum, price in pairs)


def _filtered(query, params, *, places_joined=False):
    """``query`` (over products joined to their sellers) narrowed by the filters."""
    query = query.where(Product.status == ProductStatus.ACTIVE, Seller.verified.is_(True))
    if params.q:
        query = query.where(Product.search_text.contains(params.q.strip().lower(), autoescape=True))
    if params.category:
        if not places_joined:
            query = query.join(Category, Product.category_id == Category.id)
        query = query.where(Category.slug == params.category)
    if params.province or params.region:
        if not places_joined:
            query = query.join(Subdistrict, Seller.subdistrict_code == Subdistrict.code).join(
                District, Subdistrict.district_code == District.code
            )
        if params.province:
            query = query.where(District.province_code == params.province)
        if params.region:
            if not places_joined:
                query = query.join(Province, District.province_code == Province.code)
            query = query.where(Province.region_code == params.region)
    if params.seller:
        query = query.where(Product.seller_id == params.seller)
    return query


#: The columns of a card, in Card's order.
_CARD_COLUMNS = (
    Product.id,
    Product.name_th,
    Product.name_en,
    Product.description,
    Product.unit_label,
    Product.price_satang,
    Product.stock,
    Product.weight_grams,
    Product.status,
    Product.category_id,
    Category.slug,
    Category.name_th,
    Category.name_en,
    Product.seller_id,
    Seller.name_th,
    Seller.name_en,
    Province.code,
    Province.name_th,
    Province.name_en,
    Product.unit_label_en,
)


def _page_of_cards(params, per_page, page):
    """(total, cards): a count, and one query for the page's cards with their places,
    categories and covers (two statements, whatever the page size)."""
    counted = _filtered(
        select(func.count()).select_from(Product).join(Seller, Product.seller_id == Seller.id),
        params,
    )
    total = db.session.scalar(counted)
    order = {
        "newest": (Product.created_at.desc(), Product.id.desc()),
        "price_asc": (Product.price_satang.asc(), Product.id.asc()),
        "price_desc": (Product.price_satang.desc(), Product.id.desc()),
    }[params.sort if params.sort in SORTS else "newest"]
    query = (
        select(*_CARD_COLUMNS, _cover_thumb(), _price_tiers_text())
        .select_from(Product)
        .join(Seller, Product.seller_id == Seller.id)
        .join(Category, Product.category_id == Category.id)
        .join(Subdistrict, Seller.subdistrict_code == Subdistrict.code)
        .join(District, Subdistrict.district_code == District.code)
        .join(Province, District.province_code == Province.code)
    )
    rows = db.session.execute(
        _filtered(query, params, places_joined=True)
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    cards = [
        Card(*row[:8], ProductStatus(row[8]).value, *row[9:-1], _read_price_tiers(row[-1]))
        for row in rows
    ]
    return total, cards


#: Pages kept in the catalog cache: the first few of every listing buyers reach by links
#: (the filters' own choices, no free text), in the home page's and the catalog's sizes.
#: Anything else (a search, a seller's list, page 6) is read from the database: the cache
#: never holds an entry per string a visitor can make up.
CACHED_PAGES = 5
CACHED_PAGE_SIZES = (8, PER_PAGE)


def listing_key(params):
    """The cache key of the page of cards ``params`` asks for, or None when that page is not
    cached: searches, one seller's products, pages past ``CACHED_PAGES``, other page sizes,
    and filters that name no category, region or province (made up, not reached by links)."""
    per_page = min(max(params.per_page, 1), MAX_PER_PAGE)
    page = max(params.page, 1)
    if params.q.strip() or params.seller or page > CACHED_PAGES:
        return None
    if per_page not in CACHED_PAGE_SIZES:
        return None
    choices = filter_choices()
    known = (
        params.category in {"", *(c.key for c in choices.categories)}
        and params.region in {"", *(r.key for r in choices.regions)}
        and params.province in {"", *(p.key for p in choices.provinces)}
    )
    if not known:
        return None
    sort = params.sort if params.sort in SORTS else "newest"
    return f"browse:{params.category}|{params.province}|{params.region}|{sort}|{page}|{per_page}"


def query_args(params):
    """The query string arguments that ask for ``params`` again (page aside): only those
    that differ from the defaults, for links such as the pager's."""
    args = {
        "q": params.q,
        "category": params.category,
        "region": params.region,
        "province": params.province,
        "seller": params.seller,
        "sort": "" if params.sort == "newest" else params.sort,
        "per_page": "" if params.per_page == PER_PAGE else params.per_page,
    }
    return {name: value for name, value in args.items() if value}


def query_key(params):
    """A key for any listing ``params`` asks for, searches included."""
    args = {**query_args(params), "page": max(params.page, 1)}
    return "query:" + urlencode(sorted(args.items()))


def stock_of(product_ids):
    """``{product id: units in stock}``, read fresh (stock is never cached)."""
    if not product_ids:
        return {}
    table = Product.__table__  # a Core query: no ORM work for two columns
    return dict(
        db.session.execute(
            select(table.c.id, table.c.stock).where(table.c.id.in_(list(product_ids)))
        ).all()
    )


def browse(params):
    """One page of the catalog, as cards. What every visitor sees of the pages buyers reach
    by links comes from the catalog cache (see catalog/cache.py and ``listing_key``); the
    stock of the page's products is always read fresh."""
    per_page = min(max(params.per_page, 1), MAX_PER_PAGE)
    page = max(params.page, 1)
    key = listing_key(params)
    if key is not None:
        total, cards = catalog_cache.cached(key, lambda: _page_of_cards(params, per_page, page))
    else:
        total, cards = _page_of_cards(params, per_page, page)
    if cards:
        stock = stock_of([card.id for card in cards])
        cards = [replace(card, stock=stock.get(card.id, 0)) for card in cards]
    return Page(items=cards, total=total, page=page, per_page=per_page)


def visible_product(product_id, viewer=None):
    """A product page: buyers see active products of verified sellers; members see their own."""
    product = db.session.scalar(_with_card_data(select(Product).where(Product.id == product_id)))
    if product is None:
        raise NotFound(_l("No such product."))
    visible = product.status == ProductStatus.ACTIVE and product.seller.verified
    if not visible and not can_manage_seller(viewer, product.seller_id):
        raise NotFound(_l("No such product."))
    return product
