from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from marketplace.fields import DayField, IdSelectField
from marketplace.forms import BaseForm
from marketplace.levies import arithmetic
from marketplace.levies.models import Beneficiary, LevyKind, LevyScope, RuleStatus
from marketplace.levies.services import MAX_AMOUNT_RATE, LevyTerms
from marketplace.money import MoneyError, format_satang, parse_baht
from marketplace.parsing import CommaInPercent, parse_percent

KIND_LABELS = {
    LevyKind.PER_UNIT: _l("Baht per unit sold"),
    LevyKind.PER_KG: _l("Baht per kg of the unit's weight"),
    LevyKind.PERCENT: _l("Percent of the price"),
}
SCOPE_LABELS = {
    LevyScope.SELLER: _l("All the seller's products"),
    LevyScope.CATEGORY: _l("One category"),
    LevyScope.PRODUCT: _l("One product"),
}
#: Years after this one a rule's first or last day may be chosen in.
RULE_YEARS_AHEAD = 5
RULE_STATUS_LABELS = {
    RuleStatus.PROPOSED: _l("Proposed"),
    RuleStatus.ACTIVE: _l("Active"),
    RuleStatus.ENDED: _l("Ended"),
    RuleStatus.DECLINED: _l("Declined"),
}
BENEFICIARY_LABELS = {
    Beneficiary.FUND: _l("A named fund"),
    Beneficiary.BUYER_FUND: _l("The buyer's own fund"),
}


def _choices(labels):
    return [SelectChoice(key.value, label) for key, label in labels.items()]


def read_rate(kind, text):
    """A rule's rate as typed: basis points for a percent (``2.5`` → 250), satang for baht
    per unit or per kg (``4`` → 400). ValueError carries the message to show."""
    if kind == LevyKind.PERCENT:
        try:
            rate = parse_percent(text)
        except CommaInPercent:
            raise ValueError(
                _l("Use a point for decimals, such as 1.5 (a percent has no comma).")
            ) from None
        except ValueError:
            raise ValueError(
                _l("Enter a percent with at most two decimals, such as 2.5.")
            ) from None
        if rate > arithmetic.BASIS_POINTS:
            raise ValueError(_l("A percent levy cannot be more than 100%."))
    else:
        try:
            rate = parse_baht(text, allow_negative=True)
        except MoneyError:
            raise ValueError(
                _l("Enter the levy in baht with at most two decimals, such as 4 or 0.50.")
            ) from None
        if rate > MAX_AMOUNT_RATE:
            raise ValueError(_l("The levy is too large."))
    if rate <= 0:
        raise ValueError(_l("The levy must be more than zero."))
    return rate


class RuleForm(BaseForm):
    """A levy proposal; whether the ids may be chosen is the service's to say."""

    seller_id = IdSelectField(_l("Seller"))
    fund_id = IdSelectField(_l("Fund"))
    #: A named fund unless the form says otherwise: a fund's page does not show the field.
    beneficiary = SelectField(
        _l("Goes to"), choices=_choices(BENEFICIARY_LABELS), default=Beneficiary.FUND.value
    )
    scope = SelectField(_l("Applies to"), choices=_choices(SCOPE_LABELS))
    category_id = IdSelectField(_l("Category"))
    product_id = IdSelectField(_l("Product"))
    kind = SelectField(_l("Kind"), choices=_choices(KIND_LABELS))
    #: Baht or percent as typed, by the kind: read into ``rate_value`` when validated.
    rate = StringField(_l("Levy"), validators=[DataRequired(), Length(max=20)])
    #: Days from selects (Buddhist Era years in Thai); a rule may start or end years ahead.
    effective_from = DayField(_l("From"), years_ahead=RULE_YEARS_AHEAD)
    effective_to = DayField(
        _l("Until (leave empty: no end)"), required=False, years_ahead=RULE_YEARS_AHEAD
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])

    rate_value = None

    def load(self, *, sellers, funds, categories, products):
        none = [SelectChoice("", _l("— choose —"))]
        self.seller_id.choices = none + [SelectChoice(str(s.id), s.name) for s in sellers]
        self.fund_id.choices = none + [SelectChoice(str(f.id), f.name) for f in funds]
        self.category_id.choices = none + [SelectChoice(str(c.id), c.name) for c in categories]
        self.product_id.choices = none + [
            SelectChoice(str(p.id), p.name if len(sellers) == 1 else f"{p.seller.name}: {p.name}")
            for p in products
        ]

    def validate_rate(self, field):
        if self.kind.data not in set(LevyKind):
            return  # the kind's own error says what to fix
        try:
            self.rate_value = read_rate(LevyKind(self.kind.data), field.data)
        except ValueError as error:
            raise ValidationError(error.args[0]) from None

    def terms(self, **fixed):
        """The LevyTerms filled in (after ``validate``), with ``fixed`` over them: what the
        page itself decides, such as its seller."""
        values = {
            "seller_id": self.seller_id.data,
            "fund_id": self.fund_id.data,
            "beneficiary": Beneficiary(self.beneficiary.data),
            "scope": LevyScope(self.scope.data),
            "category_id": self.category_id.data,
            "product_id": self.product_id.data,
            "kind": LevyKind(self.kind.data),
            "rate": self.rate_value,
            "effective_from": self.effective_from.data,
            "effective_to": self.effective_to.data,
            "note": self.note.data or "",
        }
        return LevyTerms(**{**values, **fixed})


def levy_per_unit(rule, product):
    """A per-kg rule's levy on one unit of ``product``, in satang (rounded half up)."""
    return arithmetic.divide_half_up(rule.rate * product.weight_grams, arithmetic.GRAMS_PER_KG)


def percent_text(basis_points):
    """``250`` → ``"2.5"``."""
    whole, rest = divmod(basis_points, 100)
    return str(whole) if not rest else f"{whole}.{rest:02d}".rstrip("0")


def describe_rate(kind, rate):
    """A rule's or snapshot's rate as people read it: ``฿4.00 per unit``, ``2.5%``."""
    if kind == LevyKind.PER_UNIT:
        return gettext("%(amount)s per unit", amount=format_satang(rate))
    if kind == LevyKind.PER_KG:
        return gettext("%(amount)s per kg", amount=format_satang(rate))
    return gettext("%(percent)s%% of the price", percent=percent_text(rate))
