from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from marketplace.forms import AddressFieldsMixin, BaseForm
from marketplace.limits import length
from marketplace.orders import carriers
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
    """The carrier, chosen from the list (or another one named), and the tracking number."""

    carrier = SelectField(
        _l("Carrier"),
        choices=[SelectChoice(c.key, c.label) for c in carriers.CARRIERS]
        + [SelectChoice(carriers.OTHER, _l("Other carrier"))],
        validators=[DataRequired(_l("Choose the carrier."))],
    )
    other_carrier = StringField(
        _l("Name of the carrier"),
        validators=[Length(max=length(Shipment.carrier))],
        filters=[lambda text: (text or "").strip()],
    )
    tracking_number = StringField(
        _l("Tracking number"),
        validators=[
            DataRequired(_l("Enter the tracking number from the carrier's receipt.")),
            Length(max=length(Shipment.tracking_number)),
        ],
        filters=[lambda text: "".join((text or "").split()).upper()],
    )

    def validate_other_carrier(self, field):
        if self.carrier.data == carriers.OTHER and not field.data:
            raise ValidationError(_l("Write the name of the carrier."))

    def carrier_name(self):
        """What the shipment keeps as its carrier (after ``validate``)."""
        chosen = carriers.by_key(self.carrier.data)
        return chosen.name if chosen is not None else self.other_carrier.data


class CancelForm(BaseForm):
    reason = StringField(_l("Reason"), validators=[Length(max=1000)])
