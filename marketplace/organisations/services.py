"""Services sellers and funds share: profile checks, verification, their people."""

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from marketplace.accounts.services import get_by_email
from marketplace.audit import services as audit
from marketplace.catalog import cache as catalog_cache
from marketplace.dbtypes import utcnow
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.geo.services import check_address, with_place
from marketplace.validation import check_email, clean_phone

#: Profile fields a member (or an admin) may edit.
PROFILE_FIELDS = (
    "name_th",
    "name_en",
    "description",
    "address_line",
    "subdistrict_code",
    "postal_code",
    "contact_name",
    "phone",
    "email",
    "bank_name",
    "bank_account_name",
    "bank_account_number",
)

_DIGITS = re.compile(r"^\d+$")


def clean_profile(data):
    """Check and tidy the profile fields in ``data``; raise DomainError naming the field."""
    cleaned = {key: (data.get(key) or "").strip() for key in PROFILE_FIELDS}
    if not cleaned["name_th"]:
        raise DomainError(_l("Enter the name in Thai."), field="name_th")
    check_address(cleaned["subdistrict_code"], cleaned["postal_code"])
    cleaned["phone"] = clean_phone(cleaned["phone"])
    if cleaned["email"]:
        cleaned["email"] = check_email(cleaned["email"])
    account = re.sub(r"[\s\-]", "", cleaned["bank_account_number"])
    if account and not (_DIGITS.match(account) and 10 <= len(account) <= 15):
        raise DomainError(
            _l("A bank account number has 10 to 15 digits."), field="bank_account_number"
        )
    cleaned["bank_account_number"] = account
    return cleaned


def get(model, organisation_id, missing_message):
    organisation = db.session.get(model, organisation_id)
    if organisation is None:
        raise NotFound(missing_message)
    return organisation


def listing(model, verified_only=False):
    """Organisations by Thai name, with their place loaded in the same query."""
    query = select(model).options(with_place(model.subdistrict)).order_by(model.name_th)
    if verified_only:
        query = query.where(model.verified.is_(True))
    return db.session.scalars(query).all()


#: Organisations a public list shows on one page.
PER_PAGE = 24


def verified_page(model, page=1, per_page=PER_PAGE):
    """One page of the verified organisations by Thai name (two queries, whatever the page
    size): the count, and the page with its places."""
    from marketplace.catalog.services import Page

    verified = model.verified.is_(True)
    total = db.session.scalar(select(func.count()).select_from(model).where(verified))
    page = max(1, min(page, max(1, -(-total // per_page))))
    items = db.session.scalars(
        select(model)
        .options(with_place(model.subdistrict))
        .where(verified)
        .order_by(model.name_th, model.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(items=list(items), total=total, page=page, per_page=per_page)


def create(actor, model, cleaned):
    """Admins only: a new, unverified organisation with the cleaned profile."""
    require_admin(actor)
    organisation = model(**cleaned)
    db.session.add(organisation)
    db.session.flush()
    return organisation


def update(organisation, cleaned):
    """Write the cleaned profile; the caller has checked the actor may."""
    for key, value in cleaned.items():
        setattr(organisation, key, value)
    db.session.flush()
    catalog_cache.changed()  # names and places show on product cards and the home page
    return organisation


def set_verified(actor, organisation, verified):
    require_admin(actor)
    organisation.verified = bool(verified)
    organisation.verified_at = utcnow() if verified else None
    db.session.flush()
    catalog_cache.changed()  # a seller's products are listed only while it is verified
    audit.verified(actor, organisation, bool(verified))


def require_admin(actor):
    if actor is None or not actor.is_admin:
        raise Forbidden(_l("Only an admin can do this."))


def _find_link(link_model, organisation_id, user_id):
    owner = getattr(link_model, link_model.owner_key)
    return db.session.scalar(
        select(link_model).where(owner == organisation_id, link_model.user_id == user_id)
    )


def link_person(actor, organisation, email, link_model, already_linked):
    """Admins only: make a registered user one of the organisation's people.

    ``link_model`` is SellerMember or FundTreasurer; ``already_linked(email)`` is the
    message when the person is one already.
    """
    require_admin(actor)
    user = get_by_email(email)
    if user is None:
        raise DomainError(
            _l("No account uses this email; ask the person to register first."), field="email"
        )
    if _find_link(link_model, organisation.id, user.id) is not None:
        raise Conflict(already_linked(user.email), field="email")
    link = link_model(user=user, **{link_model.owner_key: organisation.id})
    db.session.add(link)
    db.session.flush()
    audit.person_linked(actor, organisation, user, added=True)
    db.session.expire(organisation)
    return link


def unlink_person(actor, organisation, user_id, link_model, not_linked):
    require_admin(actor)
    link = _find_link(link_model, organisation.id, user_id)
    if link is None:
        raise NotFound(not_linked)
    audit.person_linked(actor, organisation, link.user, added=False)
    db.session.delete(link)
    db.session.flush()
    db.session.expire(organisation)
