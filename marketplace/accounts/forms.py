from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from marketplace.accounts.models import User
from marketplace.accounts.passwords import MAX_LENGTH
from marketplace.forms import AddressFieldsMixin, BaseForm
from marketplace.limits import length

LANGUAGE_CHOICES = [SelectChoice("th", "ไทย"), SelectChoice("en", "English")]


class RegisterForm(BaseForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=length(User.name))])
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=length(User.email))])
    #: Length rules live in the accounts service, shared with the API.
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    confirm = PasswordField(
        _l("Password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="th")


class LoginForm(BaseForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=length(User.email))])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    remember = BooleanField(_l("Keep me signed in"))


class ProfileForm(BaseForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=length(User.name))])
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=length(User.phone))])
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    #: Levies "for the buyer's own fund" go to this fund.
    fund_id = SelectField(_l("My community welfare fund"), validate_choice=False)

    def load_funds(self, funds):
        self.fund_id.choices = [SelectChoice("", _l("None"))] + [
            SelectChoice(str(fund.id), fund.name) for fund in funds
        ]


class ShippingAddressForm(AddressFieldsMixin, BaseForm):
    ship_name = StringField(
        _l("Recipient"), validators=[DataRequired(), Length(max=length(User.ship_name))]
    )
    ship_phone = TelField(
        _l("Recipient's phone"), validators=[DataRequired(), Length(max=length(User.ship_phone))]
    )
    address_line = StringField(
        _l("House number, village, road"),
        validators=[DataRequired(), Length(max=length(User.ship_address_line))],
    )


class PasswordForm(BaseForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


class ForgotPasswordForm(BaseForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=length(User.email))])


class ResetPasswordForm(BaseForm):
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


class ConfirmRegistrationForm(BaseForm):
    #: The password chosen when registering, checked against the pending registration.
    password = PasswordField(
        _l("Your password"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
