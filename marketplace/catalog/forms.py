from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.catalog.models import Product, ProductStatus
from marketplace.catalog.services import PriceTier, ProductDraft, price_tier_problems
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
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice(status.value, label) for status, label in STATUS_LABELS.items()],
    )
    price_tiers = FieldList(
        FormField(PriceTierForm), min_entries=MAX_PRICE_TIERS, max_entries=MAX_PRICE_TIERS
    )

    def load_categories(self, categories):
        self.category_id.choices = [SelectChoice("", _l("— choose —"))] + [
            SelectChoice(str(c.id), c.name) for c in categories
        ]

    def prefill(self, product):
        for name in ("name_th", "name_en", "description", "unit_label", "stock", "weight_grams"):
            getattr(self, name).data = getattr(product, name)
        self.category_id.data = product.category_id
        self.status.data = product.status.value
        self.price.data = product.price_satang
        for entry, tier in zip(self.price_tiers.entries, product.price_tiers, strict=False):
            entry.min_quantity.data = tier.min_quantity
            entry.price.data = tier.price_satang

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
        return valid and not problems

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
        """A service's DomainError on this form; quantity price problems on their rows."""
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
            category_id=self.category_id.data,
            price_satang=self.price.data,
            stock=self.stock.data,
            weight_grams=self.weight_grams.data,
            status=ProductStatus(self.status.data),
            price_tiers=self.tiers(),
        )


class ImageForm(BaseForm):
    image = FileField(_l("Picture"), validators=[FileRequired(_l("Choose a picture to upload."))])


class CategoryForm(BaseForm):
    name_th = StringField(_l("Name in Thai"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), Length(max=100)])
    position = IntegerField(
        _l("Position"), default=0, validators=[Optional(), NumberRange(0, 9999)]
    )
    active = BooleanField(_l("Offered for new products"), default=True)
