"""Accounts: registration, sign-in checks, profile and roles. Services flush, never commit."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.accounts import passwords
from marketplace.accounts.models import User
from marketplace.errors import Conflict, DomainError
from marketplace.extensions import db
from marketplace.funds.models import Fund
from marketplace.geo import services as geo
from marketplace.i18n import LANGUAGES
from marketplace.outbox import services as outbox
from marketplace.validation import check_email, clean_phone, normalise_email


def get_by_email(email):
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def check_password_rules(password, field="password"):
    if len(password or "") < passwords.MIN_LENGTH:
        raise DomainError(
            _l("Use at least %(count)d characters.", count=passwords.MIN_LENGTH), field=field
        )
    if len(password) > passwords.MAX_LENGTH:
        raise DomainError(
            _l("Use at most %(count)d characters.", count=passwords.MAX_LENGTH), field=field
        )


def _check_language(language):
    if language not in LANGUAGES:
        raise DomainError(_l("Choose Thai or English."), field="language")


def register(email, password, name, language="th", phone=""):
    """Create a buyer account and queue the welcome mail."""
    email = check_email(email)
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Enter your name."), field="name")
    _check_language(language)
    check_password_rules(password)
    if get_by_email(email) is not None:
        raise Conflict(_l("An account with this email already exists."), field="email")
    user = User(
        email=email,
        password_hash=passwords.hash_password(password),
        name=name,
        language=language,
        phone=clean_phone(phone),
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise Conflict(_l("An account with this email already exists."), field="email") from None
    outbox.enqueue("tasks.mail.send_welcome_email", user_id=user.id)
    return user


def authenticate(email, password):
    """The active user with this email and password, else ``None`` (same work either way)."""
    user = get_by_email(email)
    if user is None:
        passwords.spend_verify_time(password or "")
        return None
    if not passwords.verify_password(user.password_hash, password or ""):
        return None
    if not user.active:
        return None
    return user


def update_profile(user, *, name, phone, language, fund_id=None):
    """Name, phone, language and the welfare fund the user belongs to (or none)."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Enter your name."), field="name")
    _check_language(language)
    if fund_id is not None:
        fund = db.session.get(Fund, fund_id)
        if fund is None or not fund.verified:
            raise DomainError(_l("Choose one of the listed funds."), field="fund_id")
    user.name = name
    user.phone = clean_phone(phone)
    user.language = language
    user.fund_id = fund_id
    db.session.flush()
    return user


def update_shipping_address(user, *, name, phone, address_line, subdistrict_code, postal_code):
    """Set the default shipping address; the postal code must belong to the subdistrict."""
    name, address_line = (name or "").strip(), (address_line or "").strip()
    if not name:
        raise DomainError(_l("Enter the recipient's name."), field="ship_name")
    phone = clean_phone(phone, field="ship_phone")
    if not phone:
        raise DomainError(_l("Enter the recipient's phone number."), field="ship_phone")
    if not address_line:
        raise DomainError(_l("Enter the house number and road."), field="address_line")
    subdistrict = geo.check_address(subdistrict_code, postal_code)
    user.ship_name = name
    user.ship_phone = phone
    user.ship_address_line = address_line
    user.ship_subdistrict_code = subdistrict.code
    user.ship_postal_code = postal_code.strip()
    db.session.flush()
    return user


def set_language(user, language):
    _check_language(language)
    user.language = language
    db.session.flush()


def change_password(user, current_password, new_password):
    if not passwords.verify_password(user.password_hash, current_password or ""):
        raise DomainError(_l("Your current password is not right."), field="current_password")
    check_password_rules(new_password, field="new_password")
    user.password_hash = passwords.hash_password(new_password)
    db.session.flush()


def create_admin(email, password, name=None):
    """Create an admin, or make an existing user an admin and set their password."""
    email = check_email(email)
    check_password_rules(password)
    user = get_by_email(email)
    if user is None:
        user = User(email=email, name=name or email.split("@")[0], language="th")
        db.session.add(user)
    user.password_hash = passwords.hash_password(password)
    user.is_admin = True
    user.active = True
    db.session.flush()
    return user


def set_admin(actor, user, is_admin):
    if not actor.is_admin:
        raise DomainError(_l("Only an admin can do this."))
    if user.id == actor.id and not is_admin:
        raise DomainError(_l("You cannot remove your own admin role."))
    user.is_admin = is_admin
    db.session.flush()
