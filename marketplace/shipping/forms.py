from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FieldList, FormField, StringField
from wtforms.validators import Length, Optional

from marketplace.forms import BaseForm
from marketplace.money import baht_text
from marketplace.shipping.services import MAX_TIERS, kg_text


class TierForm(BaseForm):
    class Meta:
        csrf = False

    max_kg = StringField(_l("Up to (kg)"), validators=[Optional(), Length(max=12)])
    fee = StringField(_l("Fee (baht)"), validators=[Optional(), Length(max=12)])


class RateTableForm(BaseForm):
    tiers = FieldList(FormField(TierForm), min_entries=MAX_TIERS, max_entries=MAX_TIERS)

    def prefill(self, tiers):
        for entry, tier in zip(self.tiers.entries, tiers, strict=False):
            entry.max_kg.data = kg_text(tier.max_weight_grams)
            entry.fee.data = baht_text(tier.fee_satang, short=True)

    def rows(self):
        return [(entry.max_kg.data, entry.fee.data) for entry in self.tiers.entries]


class SellerShippingForm(RateTableForm):
    own_table = BooleanField(_l("Use our own rate table (otherwise the marketplace's)"))
    offers_pickup = BooleanField(_l("Buyers may pick up at our place, free"))
    pickup_note = StringField(
        _l("Where and when to pick up"), validators=[Optional(), Length(max=500)]
    )
