"""Forms of the payout pages: a seller's platform fee, a payout paid or failed."""

from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from marketplace.forms import BaseForm
from marketplace.levies.arithmetic import BASIS_POINTS
from marketplace.limits import length
from marketplace.payouts.models import Payout
from marketplace.payouts.services import REASON_LENGTH


def percent_to_basis_points(text):
    """``"2.5"`` (or ``"2.5%"``) → 250; at most two decimals, from 0 to 100."""
    try:
        percent = Decimal((text or "").strip().rstrip("%").strip())
    except InvalidOperation:
        percent = None
    if percent is None or not percent.is_finite() or percent.as_tuple().exponent < -2:
        raise ValueError("not a percent with at most two decimals")
    basis_points = int(percent * 100)
    if not 0 <= basis_points <= BASIS_POINTS:
        raise ValueError("not from 0 to 100")
    return basis_points


class PlatformFeeForm(BaseForm):
    """An admin's platform fee for one seller; empty for the marketplace's own rate."""

    rate = StringField(_l("Platform fee (%)"), validators=[Optional(), Length(max=10)])

    def validate_rate(self, field):
        if (field.data or "").strip():
            try:
                percent_to_basis_points(field.data)
            except ValueError:
                raise ValidationError(
                    _l("Enter a percent from 0 to 100 with at most two decimals, such as 2.5.")
                ) from None

    def basis_points(self):
        """The rate chosen, or None for the marketplace's."""
        text = (self.rate.data or "").strip()
        return percent_to_basis_points(text) if text else None


class PayoutPaidForm(BaseForm):
    """The transfer an admin made for one payout."""

    bank_reference = StringField(
        _l("Bank reference"),
        validators=[DataRequired(), Length(max=length(Payout.bank_reference))],
    )
    paid_on = StringField(_l("Date of the transfer"), validators=[DataRequired(), Length(max=10)])

    def validate_paid_on(self, field):
        try:
            self.day = date.fromisoformat((field.data or "").strip())
        except ValueError:
            raise ValidationError(_l("Enter a date as YYYY-MM-DD.")) from None


class PayoutFailedForm(BaseForm):
    """Why the money did not reach the seller."""

    reason = TextAreaField(
        _l("Why it failed"), validators=[DataRequired(), Length(max=REASON_LENGTH)]
    )
