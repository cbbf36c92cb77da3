"""Forms of the payout pages: a seller's platform fee, a payout paid or failed."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from marketplace.fields import ParsedField
from marketplace.forms import BaseForm
from marketplace.levies.arithmetic import BASIS_POINTS
from marketplace.levies.forms import percent_text
from marketplace.limits import length
from marketplace.parsing import parse_percent
from marketplace.payouts.models import Payout
from marketplace.payouts.services import REASON_LENGTH


class PercentField(ParsedField):
    """A percent typed as ``2.5`` or ``2.5%``; ``data`` is basis points (250)."""

    invalid = _l("Enter a percent from 0 to 100 with at most two decimals, such as 2.5.")

    def parse(self, text):
        return parse_percent(text)

    def show(self, value):
        return percent_text(value)


class PlatformFeeForm(BaseForm):
    """An admin's platform fee for one seller; empty for the marketplace's own rate."""

    rate = PercentField(_l("Platform fee (%)"), required=False, minimum=0, maximum=BASIS_POINTS)


class PayoutPaidForm(BaseForm):
    """The transfer an admin made for one payout."""

    bank_reference = StringField(
        _l("Bank reference"),
        validators=[DataRequired(), Length(max=length(Payout.bank_reference))],
    )
    paid_on = DateField(_l("Date of the transfer"), validators=[InputRequired()])


class PayoutFailedForm(BaseForm):
    """Why the money did not reach the seller."""

    reason = TextAreaField(
        _l("Why it failed"), validators=[DataRequired(), Length(max=REASON_LENGTH)]
    )
