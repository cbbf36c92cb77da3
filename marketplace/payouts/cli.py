import click
from flask.cli import AppGroup

from marketplace.audit.context import origin
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.money import format_satang
from marketplace.payouts import proceeds, services

payouts_cli = AppGroup("payouts", help="Sellers' payouts.")


@payouts_cli.command("run")
def run():
    """Start a payout run: one payout per seller with at least PAYOUT_MINIMUM available."""
    try:
        with origin("cli"):
            started = services.start_run(None, system="cli")
            lines = [
                f"payout {p.id}: seller {p.seller_id} {p.seller.name_th}, "
                f"{format_satang(p.amount_satang)}"
                for p in started.payouts
            ]
            count = len(started.payouts)
            summary = (
                f"payout run {started.id}: {count} payout{'' if count == 1 else 's'}, "
                f"{format_satang(started.total_satang)}"
            )
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(str(error.message)) from None
    for line in lines:
        click.echo(line)
    click.echo(summary)


@payouts_cli.command("release")
def release():
    """Post the release of every delivered shipment whose hold is over (the beat does too)."""
    with origin("cli"):
        count = proceeds.release_due()
    db.session.commit()
    click.echo(f"released {count} shipments")
