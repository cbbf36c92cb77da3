import sys
from datetime import date

import click
from flask.cli import AppGroup
from sqlalchemy import select

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.orders.models import Order, Refund, RefundStatus
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment

stripe_cli = AppGroup("stripe", help="Card and PromptPay payments through Stripe.")


def differences(since):
    """Every way Stripe's payments and refunds since ``since`` differ from the marketplace's.

    Stripe's lists are read first, before any database read opens a transaction.
    """
    found = []
    intents = {i["id"]: i for i in stripe_gateway.payment_intents_since(since)}
    stripe_refunds = {
        r["id"]: r for r in stripe_gateway.refunds_since(since) if r["status"] == "succeeded"
    }
    payments = {
        p.external_id: p
        for p in db.session.scalars(
            select(Payment).where(Payment.provider == "stripe", Payment.external_id.is_not(None))
        )
    }
    for intent_id, intent in intents.items():
        payment = payments.get(intent_id)
        if intent["status"] != "succeeded":
            continue
        if payment is None:
            found.append(
                f"Stripe payment {intent_id} ({intent['amount_received']} satang) is not ours"
            )
            continue
        order = db.session.get(Order, payment.order_id)
        if order.paid_at is None:
            found.append(
                f"Stripe payment {intent_id} succeeded but order {order.number} is not paid"
            )
        if intent["amount_received"] != payment.amount_satang:
            found.append(
                f"Stripe payment {intent_id} received {intent['amount_received']} satang; "
                f"order {order.number} is {payment.amount_satang}"
            )
    for intent_id, payment in payments.items():
        order = db.session.get(Order, payment.order_id)
        if order.paid_at is None or order.paid_at.date() < since:
            continue
        intent = intents.get(intent_id)
        if intent is None or intent["status"] != "succeeded":
            found.append(
                f"order {order.number} is paid but Stripe has no succeeded payment {intent_id}"
            )
    ours = {
        r.provider_refund_id: r
        for r in db.session.scalars(
            select(Refund).where(
                Refund.provider_refund_id.is_not(None), Refund.status != RefundStatus.FAILED
            )
        )
    }
    for refund_id, refund in stripe_refunds.items():
        if refund_id not in ours:
            found.append(f"Stripe refund {refund_id} ({refund['amount']} satang) is not recorded")
        elif ours[refund_id].amount_satang != refund["amount"]:
            found.append(
                f"refund {refund_id}: Stripe {refund['amount']} satang, "
                f"ours {ours[refund_id].amount_satang}"
            )
    for refund_id, refund in ours.items():
        if refund.created_at.date() >= since and refund_id not in stripe_refunds:
            found.append(f"refund {refund_id} of {refund.amount_satang} satang is not in Stripe")
    return found


@stripe_cli.command("reconcile")
@click.option("--since", required=True, help="First day to compare, YYYY-MM-DD.")
def reconcile(since):
    """Compare Stripe's payments and refunds with ours; exit non-zero on any difference."""
    try:
        first = date.fromisoformat(since)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--since") from None
    if not stripe_gateway.enabled():
        raise click.ClickException("Stripe is not configured (STRIPE_SECRET_KEY and the others)")
    try:
        found = differences(first)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    for difference in found:
        click.echo(f"DIFFERENCE: {difference}")
    if found:
        click.echo(f"{len(found)} differences since {first.isoformat()}", err=True)
        sys.exit(1)
    click.echo(f"Stripe and the marketplace agree since {first.isoformat()}")
