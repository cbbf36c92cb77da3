from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FieldList, FormField, StringField
from wtforms.validators import Length, Optional, ValidationError

from marketplace.forms import BaseForm
from marketplace.money import MoneyError, baht_text, parse_baht
from marketplace.parsing import parse_grams
from marketplace.shipping.fees import Tier
from marketplace.shipping.services import (
    MAX_TIER_FEE_SATANG,
    MAX_TIER_GRAMS,
    MAX_TIERS,
    kg_text,
)


def read_tiers(rows):
    """``rows`` of (up to kg, fee in baht) as typed, blank rows skipped, as Tiers of grams
    and satang; ValueError carries the message to show."""
    tiers = []
    for max_kg, fee in rows:
        max_kg, fee = (max_kg or "").strip(), (fee or "").strip()
        if not max_kg and not fee:
            continue
        try:
            grams = parse_grams(max_kg)
            fee_satang = parse_baht(fee, maximum_satang=MAX_TIER_FEE_SATANG)
        except (ValueError, MoneyError):
            grams = fee_satang = None
        if grams is None or not 0 < grams <= MAX_TIER_GRAMS:
            raise ValueError(
                _l("Each tier needs a weight in kg and a fee in baht, such as 5 and 90.")
            )
        tiers.append(Tier(grams, fee_satang))
    return tiers


class TierForm(BaseForm):
    class Meta:
        csrf = False

    max_kg = StringField(_l("Up to (kg)"), validators=[Optional(), Length(max=12)])
    fee = StringField(_l("Fee (baht)"), validators=[Optional(), Length(max=12)])


class RateTableForm(BaseForm):
    tiers = FieldList(FormField(TierForm), min_entries=MAX_TIERS, max_entries=MAX_TIERS)
    #: The Tiers read from the rows when the form is validated.
    tier_values = None

    def prefill(self, tiers):
        for entry, tier in zip(self.tiers.entries, tiers, strict=False):
            entry.max_kg.data = kg_text(tier.max_weight_grams)
            entry.fee.data = baht_text(tier.fee_satang, short=True)

    def validate_tiers(self, field):
        if self.uses_own_table():
            try:
                self.tier_values = read_tiers(
                    (entry.max_kg.data, entry.fee.data) for entry in field.entries
                )
            except ValueError as error:
                raise ValidationError(error.args[0]) from None

    def uses_own_table(self):
        return True

    def table(self):
        """The Tiers filled in (after ``validate``); None when the default table is chosen."""
        return self.tier_values if self.uses_own_table() else None


class SellerShippingForm(RateTableForm):
    own_table = BooleanField(_l("Use our own rate table (otherwise the marketplace's)"))
    offers_pickup = BooleanField(_l("Buyers may pick up at our place, free"))
    pickup_note = StringField(
        _l("Where and when to pick up"), validators=[Optional(), Length(max=500)]
    )

    def uses_own_table(self):
        return bool(self.own_table.data)
