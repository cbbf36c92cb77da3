"""Mail about group orders, each in the recipient's own language. Called by tasks (outbox),
after the change committed."""

from flask import render_template
from flask_babel import force_locale, gettext
from sqlalchemy import select

from marketplace import mail
from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.grouporders import services


def _send(user, subject, template, **context):
    """Mail ``user`` in their language; ``subject()`` is called in it."""
    if not user.active:
        return
    with force_locale(user.language):
        body = render_template(template, user=user, **context)
        mail.send(user.email, subject(), body)


def _link(group):
    return mail.public_url("grouporders.join", join_code=group.join_code)


def closed(group, pledge):
    """The order is placed: the member's share, what they owe the organiser and to whom."""
    summary = services.summary(group)
    share = summary.share_of(pledge)
    _send(
        pledge.user,
        lambda: gettext("The group order “%(title)s” is placed", title=group.title),
        "grouporders/mail/closed.txt",
        group=group,
        pledge=pledge,
        share=share,
        link=_link(group),
    )


def cancelled(group, user):
    _send(
        user,
        lambda: gettext("The group order “%(title)s” is cancelled", title=group.title),
        "grouporders/mail/cancelled.txt",
        group=group,
        link=_link(group),
    )


def trimmed(group, user, changes):
    """The organiser took back units the seller does not have (``changes``: [[product id,
    units]])."""
    ids = [product_id for product_id, _units in changes]
    products = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))}
    _send(
        user,
        lambda: gettext("Your pledge in “%(title)s” was reduced", title=group.title),
        "grouporders/mail/trimmed.txt",
        group=group,
        changes=[(products[product_id], units) for product_id, units in changes],
        link=_link(group),
    )


def short(group):
    """Tell the organiser that the closing time came and the order could not be placed
    (stock short, a product no longer on sale, the seller's shipping changed)."""
    _send(
        group.organiser,
        lambda: gettext(
            "The group order “%(title)s” needs you: the seller is short of stock",
            title=group.title,
        ),
        "grouporders/mail/short.txt",
        group=group,
        problems=services.closing_problems(group),
        link=mail.public_url("grouporders.show", group_id=group.id),
    )
