"""Mail about payouts, each in the recipient's own language. Called by tasks, after commit."""

from flask import render_template
from flask_babel import force_locale, gettext

from marketplace import mail
from marketplace.money import format_satang


def payout_paid(payout):
    """Tell each member of the seller that the money was sent, with the bank's reference."""
    for membership in payout.seller.members:
        user = membership.user
        if not user.active:
            continue
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
