"""Community welfare funds: created and verified by admins, kept by their treasurers."""

from flask_babel import lazy_gettext as _l

from marketplace.accounts.roles import can_manage_fund
from marketplace.errors import Forbidden
from marketplace.funds.models import Fund, FundTreasurer
from marketplace.organisations import services as organisations


def get(fund_id):
    return organisations.get(Fund, fund_id, _l("No such fund."))


def verified_funds():
    return organisations.listing(Fund, verified_only=True)


def verified_funds_page(page=1, per_page=organisations.PER_PAGE):
    return organisations.verified_page(Fund, page, per_page)


def all_funds():
    return organisations.listing(Fund)


def create_fund(actor, data):
    return organisations.create(actor, Fund, organisations.clean_profile(data))


def update_fund(actor, fund, data):
    if not can_manage_fund(actor, fund.id):
        raise Forbidden(_l("You are not a treasurer of this fund."))
    return organisations.update(fund, organisations.clean_profile(data))


def set_fund_verified(actor, fund, verified):
    organisations.set_verified(actor, fund, verified)


def add_treasurer(actor, fund, email):
    return organisations.link_person(
        actor,
        fund,
        email,
        FundTreasurer,
        lambda email: _l("%(email)s is already a treasurer.", email=email),
    )


def remove_treasurer(actor, fund, user_id):
    organisations.unlink_person(
        actor, fund, user_id, FundTreasurer, _l("This person is not a treasurer.")
    )
