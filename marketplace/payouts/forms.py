"""Forms of the payout pages: a seller's platform fee, a payout paid or failed."""

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from marketplace.dbtypes import utcnow
from marketplace.errors import DomainError
from marketplace.fields import DayField, ParsedField
from marketplace.forms import BaseForm
from marketplace.i18n import to_bangkok
from marketplace.levies.arithmetic import BASIS_POINTS
from marketplace.levies.forms import percent_text
from marketplace.limits import length
from marketplace.parsing import parse_percent
from marketplace.payouts.models import Payout
from marketplace.payouts.services import REASON_LENGTH, check_paid_on


class PercentField(ParsedField):
    """A percent typed as ``2.5`` or ``2.5%``; ``data`` is basis points (250). A comma is
    refused with its own message (``1,5`` is not read as 15%)."""

    invalid = _l("Enter a percent from 0 to 100 with at most two decimals, such as 2.5.")
    comma = _l("Use a point for decimals, such as 1.5 (a percent has no comma).")

    def parse(self, text):
        return parse_percent(text)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.problem is not None and "," in ((valuelist[0] if valuelist else "") or ""):
            self.problem = self.comma

    def show(self, value):
        return percent_text(value)


class PlatformFeeForm(BaseForm):
    """An admin's platform fee for one seller; empty for the marketplace's own rate."""

    rate = PercentField(_l("Platform fee (%)"), required=False, minimum=0, maximum=BASIS_POINTS)


class PayoutPaidForm(BaseForm):
    """The transfer an admin made for one payout. Every problem shows at once: the day is
    checked here as the service checks it (not in the future, not before the run)."""

    bank_reference = StringField(
        _l("Bank reference"),
        validators=[DataRequired(), Length(max=length(Payout.bank_reference))],
    )
    paid_on = DayField(_l("Date of the transfer"), default=lambda: to_bangkok(utcnow()).date())

    #: When the payout's run started (set by the view), for the day's check.
    run_started = None

    def validate_paid_on(self, field):
        if field.data is None:
            return
        try:
            check_paid_on(
                field.data, today=to_bangkok(utcnow()).date(), run_started=self.run_started
            )
        except DomainError as error:
            raise ValidationError(error.message) from None


class PayoutFailedForm(BaseForm):
    """Why the money did not reach the seller."""

    reason = TextAreaField(
        _l("Why it failed"), validators=[DataRequired(), Length(max=REASON_LENGTH)]
    )
