from flask_babel import lazy_gettext as _l
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.forms import BaseForm


class PersonForm(BaseForm):
    """Add a registered user as a seller member or a fund treasurer."""

    email = EmailField(
        _l("Email of a registered user"), validators=[DataRequired(), Length(max=254)]
    )


class UserSearchForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name or email"), validators=[Optional(), Length(max=254)])
