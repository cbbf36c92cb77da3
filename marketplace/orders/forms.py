from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from marketplace.forms import AddressFieldsMixin, BaseForm
from marketplace.limits import length
from marketplace.orders.models import Order, Shipment
from marketplace.payments.models import Payment


class CheckoutForm(AddressFieldsMixin, BaseForm):
    ship_name = StringField(
        _l("Recipient"), validators=[DataRequired(), Length(max=length(Order.ship_name))]
    )
    ship_phone = TelField(
        _l("Recipient's phone"), validators=[DataRequired(), Length(max=length(Order.ship_phone))]
    )
    address_line = StringField(
        _l("House number, village, road"),
        validators=[DataRequired(), Length(max=length(Order.ship_address_line))],
    )
    payment_method = SelectField(_l("Pay by"), validators=[DataRequired()])

    def load_payment_choices(self, available):
        self.payment_method.choices = [SelectChoice(p.name, p.label) for p in available]

    def prefill_from(self, user):
        self.ship_name.data = user.ship_name or user.name
        self.ship_phone.data = user.ship_phone or user.phone
        self.address_line.data = user.ship_address_line
        self.set_address(user.ship_subdistrict_code, user.ship_postal_code)

    def address(self):
        return {
            "name": self.ship_name.data,
            "phone": self.ship_phone.data,
            "address_line": self.address_line.data,
            "subdistrict_code": self.subdistrict.data,
            "postal_code": self.postal_code.data,
        }


#: One message for a missing, short or long reference: what to type, in plain words.
REFERENCE_NEEDED = _l("Enter the reference from your transfer slip (3 to 100 characters).")


class ReferenceForm(BaseForm):
    reference = StringField(
        _l("Transfer reference"),
        validators=[
            DataRequired(message=REFERENCE_NEEDED),
            Length(min=3, max=length(Payment.reference), message=REFERENCE_NEEDED),
        ],
    )


class ShipForm(BaseForm):
    carrier = StringField(
        _l("Carrier"), validators=[DataRequired(), Length(max=length(Shipment.carrier))]
    )
    tracking_number = StringField(
        _l("Tracking number"),
        validators=[DataRequired(), Length(max=length(Shipment.tracking_number))],
    )


class CancelForm(BaseForm):
    reason = StringField(_l("Reason"), validators=[Length(max=1000)])
