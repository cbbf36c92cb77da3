from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.catalog.models import Product, ProductStatus
from marketplace.catalog.services import ProductDraft
from marketplace.fields import BahtField, IdSelectField, WholeNumberField
from marketplace.forms import BaseForm
from marketplace.limits import (
    DESCRIPTION_LENGTH,
    MAX_PRICE_SATANG,
    MAX_STOCK,
    MAX_WEIGHT_GRAMS,
    length,
)

STATUS_LABELS = {
    ProductStatus.DRAFT: _l("Draft (not shown to buyers)"),
    ProductStatus.ACTIVE: _l("Active (on sale)"),
    ProductStatus.ARCHIVED: _l("Archived (no longer sold)"),
}


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
