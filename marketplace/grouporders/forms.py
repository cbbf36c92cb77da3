"""Forms of group orders: opening one, a member's pledge, the organiser's actions."""

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from marketplace.fields import BangkokTimeField, IdSelectField, WholeNumberField
from marketplace.forms import BaseForm
from marketplace.grouporders.models import GroupOrder
from marketplace.limits import MAX_LINE_QUANTITY, length
from marketplace.orders.forms import CheckoutForm
from marketplace.orders.models import DeliveryMethod
from marketplace.parsing import parse_id


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes; ``data`` is a list of ids."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("validate_choice", False)
        super().__init__(label, validators, coerce=_id_or_none, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.data = [value for value in self.data or [] if value is not None]


def _id_or_none(value):
    try:
        return parse_id(value)
    except (TypeError, ValueError):
        return None


class OpenGroupOrderForm(CheckoutForm):
    """What to order from whom, until when, and where the one parcel goes."""

    title = StringField(
        _l("Name of the group order"),
        validators=[DataRequired(), Length(max=length(GroupOrder.title))],
    )
    product_ids = CheckboxesField(_l("Products members can pledge"))
    closes_at = BangkokTimeField(_l("Pledges close at (Bangkok time)"))
    method = RadioField(
        _l("Delivery"),
        choices=[
            SelectChoice(DeliveryMethod.DELIVERY.value, _l("One parcel to the address below")),
            SelectChoice(
                DeliveryMethod.PICKUP.value, _l("The organiser picks it up at the seller")
            ),
        ],
        default=DeliveryMethod.DELIVERY.value,
    )
    fund_id = IdSelectField(_l("On behalf of a fund"))
    note = TextAreaField(_l("Note to members (optional)"), validators=[Length(max=1000)])

    def load_choices(self, products, funds):
        self.product_ids.choices = [SelectChoice(p.id, p.name) for p in products]
        self.fund_id.choices = [
            SelectChoice("", _l("— no fund: levies as for my own orders —"))
        ] + [SelectChoice(f.id, f.name) for f in funds]

    def delivery_method(self):
        try:
            return DeliveryMethod(self.method.data)
        except ValueError:
            return DeliveryMethod.DELIVERY


class PledgeForm(BaseForm):
    """A quantity per offered product (0 or empty: none)."""

    @classmethod
    def for_products(cls, products, formdata=None, current=None):
        class Form(cls):
            pass

        for product in products:
            setattr(
                Form,
                f"q{product.id}",
                WholeNumberField(
                    product.name,
                    required=False,
                    minimum=0,
                    maximum=MAX_LINE_QUANTITY,
                    too_large=_l("At most %(count)d units.", count=MAX_LINE_QUANTITY),
                    invalid=_l("Enter a whole number of units, such as 0 or 3."),
                    render_kw={"inputmode": "numeric", "min": 0},
                ),
            )
        form = Form(formdata=formdata) if formdata is not None else Form()
        if current is not None and not form.is_submitted():
            for product in products:
                getattr(form, f"q{product.id}").data = current.get(product.id, 0)
        form.products = products
        return form

    def quantity_field(self, product):
        return getattr(self, f"q{product.id}")

    def items(self):
        return [(p.id, self.quantity_field(p).data or 0) for p in self.products]
