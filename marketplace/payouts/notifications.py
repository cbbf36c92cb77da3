"""Mail about payouts, each in the recipient's own language. Called by tasks, after commit."""

from flask import render_template
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from marketplace import mail
from marketplace.money import format_satang


def _members(seller):
    return [membership.user for membership in seller.members if membership.user.active]


def payout_paid(payout):
    """Tell each member of the seller that the money was sent, with the bank's reference."""
    for user in _members(payout.seller):
        with force_locale(user.language):
            subject = gettext(
                "Talat Chumchon sent you %(amount)s", amount=format_satang(payout.amount_satang)
            )
            body = render_template(
                "mail/payout_paid.txt",
                payout=payout,
                user=user,
                statement_url=mail.public_url("payouts.statement", seller_id=payout.seller_id),
            )
        mail.send(user.email, subject, body)


def payout_failed(payout):
    """Tell each member of the seller that a transfer did not reach them, and why: the
    amount is theirs again, paid by a later run once the details are right."""
    for user in _members(payout.seller):
        with force_locale(user.language):
            subject = gettext(
                "A transfer of %(amount)s did not reach you",
                amount=format_satang(payout.amount_satang),
            )
            body = render_template(
                "mail/payout_failed.txt",
                payout=payout,
                user=user,
                edit_url=mail.public_url("sellers.edit", seller_id=payout.seller_id),
                statement_url=mail.public_url("payouts.statement", seller_id=payout.seller_id),
            )
        mail.send(user.email, subject, body)


def masked(text):
    """An account number or PromptPay ID with all but its last four characters hidden."""
    text = text or ""
    if not text or text == "-":
        return "-"
    return "x" * max(len(text) - 4, 0) + text[-4:]


def payout_details_changed(seller, record):
    """Tell each member of the seller that where its payouts go was changed, by whom, from
    what to what (account numbers shown by their last four digits)."""
    detail = record.detail or {}
    changes = []
    for key, label in (
        ("promptpay_id", _l("PromptPay ID")),
        ("bank_name", _l("Bank")),
        ("bank_account_name", _l("Account name")),
        ("bank_account_number", _l("Account number")),
    ):
        if key not in detail:
            continue
        before, after = detail.get(f"{key}_before", "-"), detail[key]
        if key in ("promptpay_id", "bank_account_number"):
            before, after = masked(before), masked(after)
        changes.append((key, label, before, after))
    who = record.actor.name if record.actor is not None else None
    for user in _members(seller):
        with force_locale(user.language):
            subject = gettext("The payout details of %(seller)s were changed", seller=seller.name)
            body = render_template(
                "mail/payout_details_changed.txt",
                seller=seller,
                user=user,
                who=who,
                when=record.created_at,
                changes=changes,
                edit_url=mail.public_url("sellers.edit", seller_id=seller.id),
            )
        mail.send(user.email, subject, body)
