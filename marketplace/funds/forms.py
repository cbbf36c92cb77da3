from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length

from marketplace.forms import BaseForm, OrganisationForm


class FundForm(OrganisationForm):
    pass


class RemittanceForm(BaseForm):
    #: Text, read as baht with Decimal by the service.
    amount = StringField(_l("Amount (baht)"), validators=[DataRequired(), Length(max=20)])
    remitted_on = DateField(_l("Date of the transfer"), validators=[DataRequired()])
    bank_reference = StringField(_l("Bank reference"), validators=[DataRequired(), Length(max=100)])
