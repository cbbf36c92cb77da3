from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.catalog.models import Product, ProductStatus
from marketplace.forms import BaseForm
from marketplace.limits import DESCRIPTION_LENGTH, length
from marketplace.money import baht_text

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
    category_id = SelectField(_l("Category"), validators=[DataRequired()], validate_choice=False)
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=DESCRIPTION_LENGTH)]
    )
    unit_label = StringField(
        _l("Unit"), validators=[DataRequired(), Length(max=length(Product.unit_label))]
    )
    #: Text, not a number field: the service reads it as baht with Decimal.
    price = StringField(_l("Price per unit (baht)"), validators=[DataRequired(), Length(max=20)])
    stock = StringField(_l("Units in stock"), validators=[DataRequired(), Length(max=12)])
    weight_grams = StringField(
        _l("Weight of one unit (grams)"), validators=[DataRequired(), Length(max=12)]
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
        self.category_id.data = str(product.category_id)
        self.status.data = product.status.value
        self.price.data = baht_text(product.price_satang)

    def to_data(self):
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}


class ImageForm(BaseForm):
    image = FileField(_l("Picture"), validators=[FileRequired(_l("Choose a picture to upload."))])


class CategoryForm(BaseForm):
    name_th = StringField(_l("Name in Thai"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), Length(max=100)])
    position = IntegerField(
        _l("Position"), default=0, validators=[Optional(), NumberRange(0, 9999)]
    )
    active = BooleanField(_l("Offered for new products"), default=True)
