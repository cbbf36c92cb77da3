from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from marketplace.dbtypes import utcnow
from marketplace.fields import BahtField, DayField
from marketplace.forms import BaseForm, OrganisationForm
from marketplace.i18n import to_bangkok


class FundForm(OrganisationForm):
    pass


class RemittanceForm(BaseForm):
    amount = BahtField(
        _l("Amount (baht)"),
        maximum=10**12,
        invalid=_l("Enter an amount in baht with at most two decimals."),
        too_small=_l("The amount must be more than zero."),
    )
    remitted_on = DayField(_l("Date of the transfer"), default=lambda: to_bangkok(utcnow()).date())
    bank_reference = StringField(_l("Bank reference"), validators=[DataRequired(), Length(max=100)])
