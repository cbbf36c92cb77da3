from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from marketplace.forms import OrganisationForm
from marketplace.sellers.models import SellerKind

KIND_LABELS = {
    SellerKind.COMMUNITY_ENTERPRISE: _l("Community enterprise"),
    SellerKind.OTOP_GROUP: _l("OTOP group"),
    SellerKind.COOPERATIVE: _l("Cooperative"),
    SellerKind.OTHER: _l("Other community group"),
}


class SellerForm(OrganisationForm):
    kind = SelectField(
        _l("Kind of group"),
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
        validators=[DataRequired()],
    )
    promptpay_id = StringField(
        _l("PromptPay ID for payouts"), validators=[Optional(), Length(max=20)]
    )

    def to_data(self):
        return {**super().to_data(), "kind": SellerKind(self.kind.data)}
