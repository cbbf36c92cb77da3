from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from marketplace.forms import BaseForm
from marketplace.levies import arithmetic
from marketplace.levies.models import Beneficiary, LevyKind, LevyScope, RuleStatus
from marketplace.money import format_satang

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


class RuleForm(BaseForm):
    """A levy proposal; ids are checked by the service, so choices are not validated here."""

    seller_id = SelectField(_l("Seller"), validate_choice=False)
    fund_id = SelectField(_l("Fund"), validate_choice=False)
    beneficiary = SelectField(_l("Goes to"), choices=_choices(BENEFICIARY_LABELS))
    scope = SelectField(_l("Applies to"), choices=_choices(SCOPE_LABELS))
    category_id = SelectField(_l("Category"), validate_choice=False)
    product_id = SelectField(_l("Product"), validate_choice=False)
    kind = SelectField(_l("Kind"), choices=_choices(KIND_LABELS))
    rate = StringField(_l("Levy"), validators=[DataRequired(), Length(max=20)])
    effective_from = DateField(_l("From"), validators=[DataRequired()])
    effective_to = DateField(_l("Until (leave empty: no end)"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])

    def load(self, *, sellers, funds, categories, products):
        none = [SelectChoice("", _l("— choose —"))]
        self.seller_id.choices = none + [SelectChoice(str(s.id), s.name) for s in sellers]
        self.fund_id.choices = none + [SelectChoice(str(f.id), f.name) for f in funds]
        self.category_id.choices = none + [SelectChoice(str(c.id), c.name) for c in categories]
        self.product_id.choices = none + [
            SelectChoice(str(p.id), p.name if len(sellers) == 1 else f"{p.seller.name}: {p.name}")
            for p in products
        ]

    def values(self):
        def as_id(field):
            return int(field.data) if (field.data or "").isdigit() else None

        return {
            "seller_id": as_id(self.seller_id),
            "fund_id": as_id(self.fund_id),
            "beneficiary": self.beneficiary.data,
            "scope": self.scope.data,
            "category_id": as_id(self.category_id),
            "product_id": as_id(self.product_id),
            "kind": self.kind.data,
            "rate": self.rate.data,
            "effective_from": self.effective_from.data,
            "effective_to": self.effective_to.data,
            "note": self.note.data,
        }


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
