from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.catalog import images
from marketplace.catalog.models import Product, ProductStatus
from marketplace.catalog.services import (
    NewPicture,
    PriceTier,
    ProductDraft,
    StockChange,
    picture_count_problem,
    price_tier_problems,
    product_problems,
)
from marketplace.fields import BahtField, IdSelectField, WholeNumberField
from marketplace.forms import BaseForm
from marketplace.forms import show_error as show_on_form
from marketplace.limits import (
    DESCRIPTION_LENGTH,
    MAX_PRICE_SATANG,
    MAX_PRICE_TIERS,
    MAX_STOCK,
    MAX_WEIGHT_GRAMS,
    length,
)

STATUS_LABELS = {
    ProductStatus.DRAFT: _l("Draft (not shown to buyers)"),
    ProductStatus.ACTIVE: _l("Active (on sale)"),
    ProductStatus.ARCHIVED: _l("Archived (no longer sold)"),
}
#: The same, short, for a list of products (the seller centre).
SHORT_STATUS_LABELS = {
    ProductStatus.ACTIVE: _l("On sale"),
    ProductStatus.DRAFT: _l("Draft (hidden)"),
    ProductStatus.ARCHIVED: _l("No longer sold"),
}


class PriceTierForm(BaseForm):
    """One row of quantity prices: from how many units, and the price of each then. A row
    left blank is no tier; the catalog service's rules are checked on the whole form."""

    class Meta:
        csrf = False

    min_quantity = WholeNumberField(
        _l("From (units)"),
        required=False,
        invalid=_l("Enter a whole number of units, such as 50."),
    )
    price = BahtField(
        _l("Price per unit (baht)"),
        required=False,
        minimum=None,  # zero or less: the service's own message
        invalid=_l("Enter a price in baht with at most two decimals, such as 350 or 12.50."),
    )

    def is_blank(self):
        return not any(
            (field.raw_data or [""])[0].strip() for field in (self.min_quantity, self.price)
        )


class ProductForm(BaseForm):
    """The one form to add or edit a product, its pictures with it: new photos (``photos``,
    multipart) and pictures to take away (``remove_image``) are saved in the same POST as
    the other fields, so choosing a photo never loses what was typed."""

    photos = MultipleFileField(_l("Add photos"))
    #: Ids of the product's pictures ticked "remove".
    remove_image = SelectMultipleField(coerce=int, validate_choice=False)
    name_th = StringField(
        _l("Name in Thai"), validators=[DataRequired(), Length(max=length(Product.name_th))]
    )
    name_en = StringField(
        _l("Name in English"), validators=[Optional(), Length(max=length(Product.name_en))]
    )
    #: The service says whether the category may be chosen.
    category_id = IdSelectField(_l("Category"))
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=DESCRIPTION_LENGTH)]
    )
    unit_label = StringField(
        _l("Unit"), validators=[DataRequired(), Length(max=length(Product.unit_label))]
    )
    unit_label_en = StringField(
        _l("Unit in English (optional)"),
        validators=[Optional(), Length(max=length(Product.unit_label_en))],
    )
    price = BahtField(
        _l("Price per unit (baht)"),
        maximum=MAX_PRICE_SATANG,
        invalid=_l("Enter a price in baht with at most two decimals, such as 350 or 12.50."),
        too_small=_l("The price must be more than zero."),
    )
    stock = WholeNumberField(
        _l("Units in stock"),
        minimum=0,
        maximum=MAX_STOCK,
        invalid=_l("Stock is a whole number from 0."),
    )
    weight_grams = WholeNumberField(
        _l("Weight of one unit (grams)"),
        minimum=1,
        maximum=MAX_WEIGHT_GRAMS,
        invalid=_l("Weight is a whole number of grams, more than zero."),
    )
    status = RadioField(
        _l("Show it to buyers?"),
        choices=[
            SelectChoice(ProductStatus.ACTIVE.value, _l("On sale now")),
            SelectChoice(ProductStatus.DRAFT.value, _l("Draft: keep it hidden for now")),
            SelectChoice(ProductStatus.ARCHIVED.value, _l("No longer sold")),
        ],
        validators=[DataRequired(_l("Choose whether buyers see it."))],
    )
    price_tiers = FieldList(
        FormField(PriceTierForm), min_entries=MAX_PRICE_TIERS, max_entries=MAX_PRICE_TIERS
    )

    def __init__(self, *args, product=None, **kwargs):
        super().__init__(*args, **kwargs)
        #: The product edited (None: a new one), for its pictures.
        self.product = product

    def new_pictures(self):
        """The files chosen in the photo pickers (an empty picker sends a nameless part)."""
        return [
            NewPicture(upload.filename or "", upload.stream)
            for upload in (self.photos.data or [])
            if upload is not None and getattr(upload, "filename", None)
        ]

    def removed_image_ids(self):
        return list(self.remove_image.data or [])

    def load_categories(self, categories):
        self.category_id.choices = [SelectChoice("", _l("— choose —"))] + [
            SelectChoice(str(c.id), c.name) for c in categories
        ]

    def prefill(self, product):
        for name in (
            "name_th",
            "name_en",
            "description",
            "unit_label",
            "unit_label_en",
            "stock",
            "weight_grams",
        ):
            getattr(self, name).data = getattr(product, name)
        self.category_id.data = product.category_id
        self.status.data = product.status.value
        self.price.data = product.price_satang
        for entry, tier in zip(self.price_tiers.entries, product.price_tiers, strict=False):
            entry.min_quantity.data = tier.min_quantity
            entry.price.data = tier.price_satang

    def has_tiers(self):
        """Whether any quantity price row holds something (typed, or the product's)."""
        return any(
            not entry.form.is_blank()
            or entry.form.min_quantity.data is not None
            or entry.form.price.data is not None
            for entry in self.price_tiers.entries
        )

    def _filled_rows(self):
        """The rows with anything typed in them, as (position on the form, row)."""
        return [
            (position, entry.form)
            for position, entry in enumerate(self.price_tiers.entries)
            if not entry.form.is_blank()
        ]

    def validate(self, extra_validators=None):
        """Every field's own checks, then the quantity prices' rules (the service's), so
        that every problem shows at once, each next to its row."""
        valid = super().validate(extra_validators)
        rows = self._filled_rows()
        read = []  # (position, PriceTier) of rows read whole
        for position, row in rows:
            for field in (row.min_quantity, row.price):
                if field.data is None and not field.errors:
                    field.errors = [*field.errors, _l("Fill in both, or leave the row empty.")]
            if row.min_quantity.data is not None and row.price.data is not None:
                read.append((position, PriceTier(row.min_quantity.data, row.price.data)))
        if len(read) < len(rows):
            valid = False
        problems = price_tier_problems(self.price.data, [tier for _position, tier in read])
        for path, message in problems:
            self._show_tier_problem(path, message, [position for position, _tier in read])
        found = self._product_problems() + self._picture_problems()
        return valid and not problems and not found

    def _product_problems(self):
        """The catalog service's checks on every field the form could read, each shown on
        its field: all of a page's problems at once, not one a submit."""

        def readable(field):
            return field.data if not field.errors else None

        found = product_problems(
            name_th=readable(self.name_th),
            unit_label=readable(self.unit_label),
            category_id=self.category_id.data if self.category_id.data is not None else 0,
            price_satang=readable(self.price),
            stock=readable(self.stock),
            weight_grams=readable(self.weight_grams),
        )
        for name, message in found:
            field = getattr(self, name)
            field.errors = [*field.errors, message]
        return found

    def _picture_problems(self):
        """New photos that are too large or no picture, and too many pictures in all."""
        found = []
        pictures = self.new_pictures()
        for picture in pictures:
            message = images.first_look(picture.stream)
            if message is not None:
                found.append(_l("%(file)s: %(problem)s", file=picture.filename, problem=message))
        removed = set(self.removed_image_ids())
        kept = [i for i in self.product.images if i.id not in removed] if self.product else []
        message = picture_count_problem(len(kept), len(pictures))
        if message is not None:
            found.append(message)
        self.photos.errors = [*self.photos.errors, *found]
        return found

    def _show_tier_problem(self, path, message, positions):
        """Put a service's ``price_tiers[i].field`` problem on its row of the form, where
        ``positions[i]`` is the row the draft's i-th tier came from."""
        name, _bracket, rest = path.partition("[")
        number, _close, attribute = rest.partition("].")
        if name != "price_tiers" or not number.isdigit() or int(number) >= len(positions):
            self.price_tiers.errors = [*self._list_errors(), message]
            return
        row = self.price_tiers.entries[positions[int(number)]].form
        field = row.price if attribute == "price_satang" else row.min_quantity
        field.errors = [*field.errors, message]

    def _list_errors(self):
        errors = self.price_tiers.errors
        return [error for error in errors if isinstance(error, str)] if errors else []

    def show_error(self, error):
        """A service's DomainError on this form; quantity price problems on their rows,
        a picture's on the photo picker."""
        if error.field == "image":
            error.field = "photos"
        problems = getattr(error, "fields", None)
        if not problems or not str(error.field or "").startswith("price_tiers"):
            show_on_form(self, error)
            return
        positions = [position for position, _row in self._filled_rows()]
        for path, messages in problems.items():
            for message in messages:
                self._show_tier_problem(path, message, positions)

    def tiers(self):
        """The quantity prices filled in (after ``validate``), blank rows left out."""
        return tuple(
            PriceTier(row.min_quantity.data, row.price.data)
            for _position, row in self._filled_rows()
        )

    def draft(self):
        """The product as the seller filled it in (after ``validate``)."""
        return ProductDraft(
            name_th=self.name_th.data,
            name_en=self.name_en.data or "",
            description=self.description.data or "",
            unit_label=self.unit_label.data,
            unit_label_en=self.unit_label_en.data or "",
            category_id=self.category_id.data,
            price_satang=self.price.data,
            stock=self.stock.data,
            weight_grams=self.weight_grams.data,
            status=ProductStatus(self.status.data),
            price_tiers=self.tiers(),
        )


#: Product lines the seller centre's form holds at most (the products page lists them all).
MAX_STOCK_LINES = 500


class StockRowForm(BaseForm):
    """One product's line in the seller centre: what was shown, and what is sent back."""

    class Meta:
        csrf = False

    product_id = HiddenField()
    shown_stock = HiddenField()
    shown_status = HiddenField()
    stock = WholeNumberField(
        _l("In stock"),
        minimum=0,
        maximum=MAX_STOCK,
        invalid=_l("Stock is a whole number from 0."),
    )
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice(s.value, label) for s, label in SHORT_STATUS_LABELS.items()],
    )


class StockForm(BaseForm):
    """The seller centre's list of products, stock and status editable on each line and
    saved together. Only what the seller changed is written: a line left as shown keeps
    whatever orders did to the stock meanwhile."""

    rows = FieldList(FormField(StockRowForm), max_entries=MAX_STOCK_LINES)

    def prefill(self, products):
        """A line for each of ``products`` (the first MAX_STOCK_LINES)."""
        while self.rows.entries:
            self.rows.pop_entry()
        for product in products[:MAX_STOCK_LINES]:
            values = {
                "product_id": str(product.id),
                "shown_stock": str(product.stock),
                "shown_status": ProductStatus(product.status).value,
                "stock": product.stock,
                "status": ProductStatus(product.status).value,
            }
            self.rows.append_entry(values)

    def changes(self):
        """StockChanges for the lines changed (after ``validate``)."""
        found = []
        for entry in self.rows.entries:
            row = entry.form
            if not (row.product_id.data or "").isdigit():
                continue
            stock = row.stock.data if str(row.stock.data) != row.shown_stock.data else None
            status = (
                ProductStatus(row.status.data) if row.status.data != row.shown_status.data else None
            )
            if stock is not None or status is not None:
                found.append(StockChange(int(row.product_id.data), stock, status))
        return found


class CategoryForm(BaseForm):
    name_th = StringField(_l("Name in Thai"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), Length(max=100)])
    position = IntegerField(
        _l("Position"), default=0, validators=[Optional(), NumberRange(0, 9999)]
    )
    active = BooleanField(_l("Offered for new products"), default=True)
