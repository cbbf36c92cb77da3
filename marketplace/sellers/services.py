"""Sellers: created and verified by admins, profiles kept by their members."""

from flask_babel import lazy_gettext as _l

from marketplace.accounts.roles import can_manage_seller
from marketplace.audit import services as audit
from marketplace.errors import DomainError, Forbidden
from marketplace.extensions import db
from marketplace.organisations import services as organisations
from marketplace.outbox import services as outbox
from marketplace.sellers.models import Seller, SellerKind, SellerMember


def get(seller_id):
    return organisations.get(Seller, seller_id, _l("No such seller."))


def find_verified(seller_id):
    """The seller when it exists and is verified, else None (for public filters)."""
    seller = db.session.get(Seller, seller_id)
    return seller if seller is not None and seller.verified else None


def verified_sellers():
    return organisations.listing(Seller, verified_only=True)


def verified_sellers_page(page=1, per_page=organisations.PER_PAGE):
    return organisations.verified_page(Seller, page, per_page)


def all_sellers():
    return organisations.listing(Seller)


def _clean(data):
    cleaned = organisations.clean_profile(data)
    kind = data.get("kind")
    if not isinstance(kind, SellerKind):
        raise DomainError(_l("Choose what kind of group this is."), field="kind")
    cleaned["kind"] = kind
    promptpay = "".join(ch for ch in (data.get("promptpay_id") or "") if ch.isdigit())
    if promptpay and len(promptpay) not in (10, 13):
        raise DomainError(
            _l("A PromptPay ID is a 10-digit mobile number or a 13-digit ID number."),
            field="promptpay_id",
        )
    cleaned["promptpay_id"] = promptpay
    return cleaned


def create_seller(actor, data):
    return organisations.create(actor, Seller, _clean(data))


#: Where a seller's payouts go: a change to any of them is audited and mailed to every member.
PAYOUT_DETAILS = ("promptpay_id", "bank_name", "bank_account_name", "bank_account_number")


def payout_details(seller):
    return {key: getattr(seller, key) or "" for key in PAYOUT_DETAILS}


def update_seller(actor, seller, data):
    """A member (or an admin) saves the profile. A change to where payouts go leaves an
    audit record and mails every member of the seller (through the outbox), so a change
    nobody in the group made is noticed before the next payout run."""
    if not can_manage_seller(actor, seller.id):
        raise Forbidden(_l("You are not a member of this seller."))
    cleaned = _clean(data)
    before = payout_details(seller)
    organisations.update(seller, cleaned)
    after = payout_details(seller)
    if after != before:
        entry = audit.payout_details_changed(actor, seller, before=before, after=after)
        outbox.enqueue(
            "tasks.payouts.payout_details_changed", seller_id=seller.id, record_id=entry.id
        )
    return seller


def set_seller_verified(actor, seller, verified):
    organisations.set_verified(actor, seller, verified)


def add_member(actor, seller, email):
    return organisations.link_person(
        actor,
        seller,
        email,
        SellerMember,
        lambda email: _l("%(email)s is already a member.", email=email),
    )


def remove_member(actor, seller, user_id):
    organisations.unlink_person(
        actor, seller, user_id, SellerMember, _l("This person is not a member.")
    )


def seller_for_new_product(user, seller_id=None):
    """The seller a new product is for: the one named, else the user's only seller."""
    if seller_id is not None:
        return seller_id
    if len(user.sellers) != 1:
        raise DomainError(_l("Name the seller this product is for."), field="seller_id")
    return user.sellers[0].id
