import sys

import click
from flask.cli import AppGroup

from marketplace.clitypes import DAY
from marketplace.errors import DomainError
from marketplace.payments import services, stripe_gateway

stripe_cli = AppGroup("stripe", help="Card and PromptPay payments through Stripe.")


@stripe_cli.command("reconcile")
@click.option("--since", type=DAY, required=True, help="First day to compare.")
def reconcile(since):
    """Compare Stripe's payments and refunds with ours; exit non-zero on any difference."""
    if not stripe_gateway.enabled():
        raise click.ClickException("Stripe is not configured (STRIPE_SECRET_KEY and the others)")
    try:
        found = services.stripe_differences(since)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    for difference in found:
        click.echo(f"DIFFERENCE: {difference}")
    if found:
        click.echo(f"{len(found)} differences since {since.isoformat()}", err=True)
        sys.exit(1)
    click.echo(f"Stripe and the marketplace agree since {since.isoformat()}")
