"""Form pieces shared by features: the province → district → subdistrict address, errors."""

from flask import flash, request
from flask_babel import get_translations, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import SUBMIT_METHODS, _Auto
from werkzeug.datastructures import ImmutableMultiDict
from wtforms import EmailField, SelectField, StringField, TelField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from marketplace.geo import services as geo
from marketplace.limits import length


class _Translations:
    """WTForms' own messages (``This field is required.`` ...) through our catalogues."""

    def gettext(self, string):
        return get_translations().ugettext(string)

    def ngettext(self, singular, plural, n):
        return get_translations().ungettext(singular, plural, n)


class BaseForm(FlaskForm):
    """Every form of the marketplace: CSRF on, WTForms' messages in the user's language."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return _Translations()

        def wrap_formdata(self, form, formdata):
            """Pages read form posts only. Flask-WTF would also read a JSON body, whose
            values need not be text (a list, an object) and would reach the view as such."""
            if formdata is _Auto and request.is_json and not (request.form or request.files):
                return ImmutableMultiDict() if request.method in SUBMIT_METHODS else None
            return super().wrap_formdata(form, formdata)

    def show_error(self, error):
        """Show a service's DomainError on this form (see :func:`show_error`); the
        ``refused`` of :func:`marketplace.transaction.attempt`."""
        show_error(self, error)


def _wtforms_messages():  # pragma: no cover - never called; read by `pybabel extract`
    gettext("This field is required.")
    gettext("Not a valid choice.")
    gettext("Invalid Choice: could not coerce.")
    gettext("Invalid input.")
    gettext("Invalid email address.")
    gettext("Not a valid integer value.")
    gettext("Not a valid decimal value.")
    gettext("Not a valid date value.")
    gettext("Field must be between %(min)d and %(max)d characters long.")
    gettext("Field must be equal to %(other_name)s.")
    gettext("Number must be at least %(min)s.")
    gettext("Number must be at most %(max)s.")
    gettext("Number must be between %(min)s and %(max)s.")
    ngettext(
        "Field must be at least %(min)d character long.",
        "Field must be at least %(min)d characters long.",
        1,
    )
    ngettext(
        "Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.",
        1,
    )
    ngettext(
        "Field must be exactly %(max)d character long.",
        "Field must be exactly %(max)d characters long.",
        1,
    )


class AddressFieldsMixin:
    """Chained selects; the choices follow what was chosen, the service checks the pairing."""

    province = SelectField(_l("Province"), validate_choice=False, validators=[DataRequired()])
    district = SelectField(_l("District"), validate_choice=False, validators=[DataRequired()])
    subdistrict = SelectField(_l("Subdistrict"), validate_choice=False, validators=[DataRequired()])
    postal_code = StringField(_l("Postal code"), validators=[DataRequired(), Length(min=5, max=5)])

    def set_address(self, subdistrict_code, postal_code):
        """Prefill from a stored address (GET)."""
        if subdistrict_code:
            self.province.data = subdistrict_code[:2]
            self.district.data = subdistrict_code[:4]
            self.subdistrict.data = subdistrict_code
        self.postal_code.data = postal_code or ""

    def load_address_choices(self):
        placeholder = [SelectChoice("", _l("— choose —"))]
        self.province.choices = placeholder + [
            SelectChoice(p.code, p.name) for p in geo.provinces()
        ]
        province = self.province.data or ""
        district = self.district.data or ""
        self.district.choices = placeholder + (
            [SelectChoice(d.code, d.name) for d in geo.districts_of(province)] if province else []
        )
        self.subdistrict.choices = placeholder + (
            [SelectChoice(s.code, s.name) for s in geo.subdistricts_of(district)]
            if district.startswith(province) and district
            else []
        )

    def address_matches_chain(self):
        """The district sits in the province and the subdistrict in the district."""
        province, district, subdistrict = (
            self.province.data or "",
            self.district.data or "",
            self.subdistrict.data or "",
        )
        if not (district.startswith(province) and subdistrict.startswith(district)):
            self.subdistrict.errors = list(self.subdistrict.errors) + [
                _l("Choose the district and subdistrict again for this province.")
            ]
            return False
        return True


class ActionForm(BaseForm):
    """A button that changes something: only the CSRF token."""


def csrf_form():
    """An ActionForm for templates to render a button's CSRF token. It is never bound to
    the request: the page for a refused POST (a 413 for a body too large above all) must
    not read the body again, or it raises a second time and the answer becomes a 500."""
    return ActionForm(formdata=None)


def page_number(name="page"):
    """The page a list is asked for (``?page=N``); 1 when missing or not a page number."""
    text = request.args.get(name, "")
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) <= 100_000 else 1


def status_for(error=None):
    """200 for a form page; shown again after a refused POST, the error's status (400, or
    409 when it lost to another request at the same moment)."""
    if request.method != "POST":
        return 200
    return getattr(error, "status", 400)


def flash_errors(form):
    """For forms that redirect instead of showing themselves again: flash what went wrong."""
    for errors in form.errors.values():
        for error in errors:
            flash(error, "error")


def show_error(form, error):
    """Put a service's DomainError on its form field, or flash it when it names none."""
    field = getattr(form, error.field, None) if error.field else None
    if field is None and error.field == "subdistrict_code":
        field = getattr(form, "subdistrict", None)
    if field is not None:
        field.errors = list(field.errors) + [error.message]
    else:
        flash(error.message, "error")


def _column(name):
    """The length of an organisation's column (sellers and funds share them)."""
    from marketplace.sellers.models import Seller

    return length(getattr(Seller, name))


class OrganisationForm(AddressFieldsMixin, BaseForm):
    """The profile that sellers and funds share."""

    name_th = StringField(
        _l("Name in Thai"), validators=[DataRequired(), Length(max=_column("name_th"))]
    )
    name_en = StringField(
        _l("Name in English"), validators=[Optional(), Length(max=_column("name_en"))]
    )
    description = TextAreaField(_l("About"), validators=[Optional(), Length(max=5000)])
    address_line = StringField(
        _l("House number, village, road"),
        validators=[Optional(), Length(max=_column("address_line"))],
    )
    contact_name = StringField(
        _l("Contact person"), validators=[Optional(), Length(max=_column("contact_name"))]
    )
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=_column("phone"))])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=_column("email"))])
    bank_name = StringField(_l("Bank"), validators=[Optional(), Length(max=_column("bank_name"))])
    bank_account_name = StringField(
        _l("Account name"), validators=[Optional(), Length(max=_column("bank_account_name"))]
    )
    bank_account_number = StringField(
        _l("Account number"), validators=[Optional(), Length(max=_column("bank_account_number"))]
    )

    def prefill(self, organisation):
        for name in self.profile_fields():
            getattr(self, name).data = getattr(organisation, name)
        self.set_address(organisation.subdistrict_code, organisation.postal_code)

    def profile_fields(self):
        return [name for name in PROFILE_FORM_FIELDS if name in self._fields]

    @classmethod
    def for_page(cls, organisation=None):
        """The form for this request: prefilled from ``organisation`` on GET."""
        form = cls()
        if organisation is not None and request.method == "GET":
            form.prefill(organisation)
        form.load_address_choices()
        return form

    def submitted_and_valid(self):
        return self.validate_on_submit() and self.address_matches_chain()

    def to_data(self):
        data = {name: self._fields[name].data for name in self._fields if name != "csrf_token"}
        data["subdistrict_code"] = self.subdistrict.data
        return data


#: Form fields filled from the organisation as they are (the address has its own way).
PROFILE_FORM_FIELDS = (
    "name_th",
    "name_en",
    "description",
    "address_line",
    "contact_name",
    "phone",
    "email",
    "bank_name",
    "bank_account_name",
    "bank_account_number",
    "kind",
    "promptpay_id",
)
