from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from marketplace.fields import BahtField
from marketplace.forms import BaseForm, OrganisationForm


class FundForm(OrganisationForm):
    pass


class RemittanceForm(BaseForm):
    amount = BahtField(
        _l("Amount (baht)"),
        maximum=10**12,
        invalid=_l("Enter an amount in baht with at most two decimals."),
        too_small=_l("The amount must be more than zero."),
    )
    remitted_on = DateField(_l("Date of the transfer"), validators=[InputRequired()])
    bank_reference = StringField(_l("Bank reference"), validators=[DataRequired(), Length(max=100)])
