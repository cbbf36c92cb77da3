from flask_babel import lazy_gettext as _l
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.accounts.models import User
from marketplace.forms import BaseForm
from marketplace.limits import length


class PersonForm(BaseForm):
    """Add a registered user as a seller member or a fund treasurer."""

    email = EmailField(
        _l("Email of a registered user"),
        validators=[DataRequired(), Length(max=length(User.email))],
    )


class UserSearchForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name or email"), validators=[Optional(), Length(max=254)])
