"""Accounts: registration, sign-in checks, profile and roles. Services flush, never commit."""

import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from marketplace.accounts import passwords, tokens
from marketplace.accounts.models import PendingRegistration, User
from marketplace.api.models import ApiToken
from marketplace.audit import services as audit
from marketplace.dbtypes import utcnow
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.funds.models import Fund
from marketplace.geo import services as geo
from marketplace.i18n import LANGUAGES
from marketplace.outbox import services as outbox
from marketplace.validation import check_email, clean_phone, normalise_email

USER_LIST_LIMIT = 200


def user_count():
    return db.session.scalar(select(func.count()).select_from(User))


def find_users(text=""):
    """The newest users (at most ``USER_LIST_LIMIT``), or those whose email or name holds
    ``text`` (any case)."""
    query = select(User).order_by(User.created_at.desc()).limit(USER_LIST_LIMIT)
    text = (text or "").strip().lower()
    if text:
        pattern = f"%{text}%"
        query = query.where(or_(User.email.like(pattern), func.lower(User.name).like(pattern)))
    return db.session.scalars(query).all()


def get_user(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such user."))
    return user


def get_by_email(email):
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def check_password_rules(password, field="password", email=None):
    """Long enough, not too long, not a commonly used password, not the email address."""
    if len(password or "") < passwords.MIN_LENGTH:
        raise DomainError(
            _l("Use at least %(count)d characters.", count=passwords.MIN_LENGTH), field=field
        )
    if len(password) > passwords.MAX_LENGTH:
        raise DomainError(
            _l("Use at most %(count)d characters.", count=passwords.MAX_LENGTH), field=field
        )
    if passwords.is_common(password):
        raise DomainError(
            _l("This password is one of the most used ones; choose one nobody would guess."),
            field=field,
        )
    if email and passwords.resembles_email(password, email):
        raise DomainError(_l("Do not use your email address as the password."), field=field)


def _check_language(language):
    if language not in LANGUAGES:
        raise DomainError(_l("Choose Thai or English."), field="language")


def _check_registration(email, password, name, language):
    """The normalised ``(email, name)`` of a registration, or a DomainError naming a field."""
    email = check_email(email)
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Enter your name."), field="name")
    _check_language(language)
    check_password_rules(password, email=email)
    return email, name


def register(email, password, name, language="th", phone=""):
    """Create a buyer account at once and queue the welcome mail (the demo's users, and
    accounts an operator makes; people register through ``start_registration``)."""
    email, name = _check_registration(email, password, name, language)
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


# Registration by mail: the answer is the same whether the address has an account or not.


def _always(_email):
    return True


def start_registration(email, password, name, language="th", *, allow_mail=_always, next_path=""):
    """Check the details and mail a link that creates the account; return the address.

    Nothing but a pending registration is stored until the link is followed, and whether
    the address already has an account is told only to its owner, by mail: the caller gets
    the same answer, after the same work (the password is hashed either way).
    ``allow_mail(email)`` says whether one more mail may go to the address now; when it
    may not, nothing is sent or stored and the answer is still the same. ``next_path`` (a
    path on this site, checked by the caller) is where the link's page leads afterwards.
    """
    email, name = _check_registration(email, password, name, language)
    password_hash = passwords.hash_password(password)
    if not allow_mail(email):
        return email
    existing = get_by_email(email)
    if existing is not None:
        outbox.enqueue("tasks.mail.send_account_exists", user_id=existing.id)
        return email
    now = utcnow()
    db.session.execute(delete(PendingRegistration).where(PendingRegistration.expires_at <= now))
    pending = PendingRegistration(
        email=email,
        name=name,
        language=language,
        password_hash=password_hash,
        next_path=next_path[:200],
        created_at=now,
        expires_at=now + timedelta(hours=current_app.config["REGISTRATION_LINK_HOURS"]),
    )
    db.session.add(pending)
    db.session.flush()
    # The link is made when the mail is written: no usable token is ever stored.
    outbox.enqueue("tasks.mail.send_registration_link", pending_id=pending.id)
    return email


def registration_link_token(pending_id):
    """A new random token for a pending registration's mail (only its digest is kept);
    None when the registration is gone or expired."""
    pending = db.session.get(PendingRegistration, pending_id)
    if pending is None or pending.expires_at <= utcnow():
        return None, None
    token = secrets.token_urlsafe(32)
    pending.token_hash = tokens.digest(token)
    db.session.flush()
    return pending, token


def pending_registration(token):
    """The registration a mailed link stands for, while it is live; else InvalidLink."""
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        raise tokens.InvalidLink()
    pending = db.session.scalar(
        select(PendingRegistration).where(PendingRegistration.token_hash == tokens.digest(token))
    )
    if pending is None or pending.expires_at <= utcnow():
        raise tokens.InvalidLink()
    return pending


def complete_registration(token, password):
    """Create the account a registration link stands for and queue the welcome mail.

    The password chosen at registration must be given again: a link received by someone
    who did not register (another person typed their address) creates nothing they
    cannot sign in to, and the one who typed it cannot finish without the mail.
    """
    pending = pending_registration(token)
    if not passwords.verify_password(pending.password_hash, password or ""):
        raise DomainError(_l("This is not the password chosen when registering."), field="password")
    db.session.execute(
        delete(PendingRegistration).where(PendingRegistration.email == pending.email)
    )
    if get_by_email(pending.email) is not None:
        raise Conflict(_l("This account is already active: sign in with your password."))
    user = User(
        email=pending.email,
        password_hash=pending.password_hash,
        name=pending.name,
        language=pending.language,
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise Conflict(_l("This account is already active: sign in with your password.")) from None
    outbox.enqueue("tasks.mail.send_welcome_email", user_id=user.id)
    return user


# Password reset by mail: the same answer whether the address has an account or not.


def request_password_reset(email, *, allow_mail=_always):
    """Queue a reset mail to the address's owner when it has an active account (and one
    more mail may go there now). The link is signed when the mail is written."""
    user = get_by_email(email)
    if user is None or not user.active or not allow_mail(user.email):
        return
    outbox.enqueue("tasks.mail.send_password_reset", user_id=user.id)


def password_reset_token(user):
    """A signed reset link's token for ``user``; dead once the password or the sessions
    change (so it works once) or after ``PASSWORD_RESET_LINK_HOURS``."""
    return tokens.dumps(tokens.PASSWORD_RESET, {"user": user.id, "seal": _reset_seal(user)})


def _reset_seal(user):
    """Changes when the password does or sessions are ended: a used link is dead."""
    return tokens.fingerprint(f"{user.password_hash}:{user.session_version}")


def user_for_reset(token):
    data = tokens.loads(tokens.PASSWORD_RESET, token)
    user = db.session.get(User, data.get("user")) if isinstance(data.get("user"), int) else None
    if user is None or not user.active or data.get("seal") != _reset_seal(user):
        raise tokens.InvalidLink()
    return user


def reset_password(token, new_password):
    """Set a new password from a reset link; every earlier session and API token ends."""
    user = user_for_reset(token)
    check_password_rules(new_password, field="new_password", email=user.email)
    user.password_hash = passwords.hash_password(new_password)
    end_sessions(user)
    revoke_api_tokens(user)
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


def user_for_session(session_id):
    """The active user a session or remember-me value (``id:version:nonce``) belongs to,
    while that user's sessions have not been ended since; else None (signed out)."""
    user_id, _sep, rest = (session_id or "").partition(":")
    version, _sep, _nonce = rest.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
        return None
    if len(user_id) > 10:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    user.sign_in_nonce = _nonce
    return user


def end_sessions(user):
    """End every session and remember-me cookie of ``user``, everywhere."""
    user.session_version = (user.session_version or 0) + 1
    user.sign_in_nonce = None
    db.session.flush()


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
    address = geo.clean_address(
        name=name,
        phone=phone,
        address_line=address_line,
        subdistrict_code=subdistrict_code,
        postal_code=postal_code,
    )
    for column, value in address.items():
        setattr(user, column, value)
    db.session.flush()
    return user


def set_language(user, language):
    _check_language(language)
    user.language = language
    db.session.flush()


def change_password(user, current_password, new_password):
    if not passwords.verify_password(user.password_hash, current_password or ""):
        raise DomainError(_l("Your current password is not right."), field="current_password")
    check_password_rules(new_password, field="new_password", email=user.email)
    user.password_hash = passwords.hash_password(new_password)
    end_sessions(user)
    revoke_api_tokens(user)


def revoke_api_tokens(user):
    """A new password ends the API tokens issued with the old one too."""
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.flush()


def create_admin(email, password, name=None):
    """Create an admin, or make an existing user an admin and set their password."""
    email = check_email(email)
    check_password_rules(password, email=email)
    user = get_by_email(email)
    created = user is None
    if user is None:
        user = User(email=email, name=name or email.split("@")[0], language="th")
        db.session.add(user)
    else:  # a new password: whoever held the old one is signed out everywhere
        end_sessions(user)
        revoke_api_tokens(user)
    user.password_hash = passwords.hash_password(password)
    user.is_admin = True
    user.active = True
    db.session.flush()
    audit.admin_role(None, user, True, created=created, system="cli")
    return user


def set_admin(actor, user, is_admin):
    if not actor.is_admin:
        raise DomainError(_l("Only an admin can do this."))
    if user.id == actor.id and not is_admin:
        raise DomainError(_l("You cannot remove your own admin role."))
    changed = bool(user.is_admin) != bool(is_admin)
    user.is_admin = is_admin
    db.session.flush()
    if changed:
        audit.admin_role(actor, user, bool(is_admin))
