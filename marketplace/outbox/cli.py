import click
from flask import current_app
from flask.cli import AppGroup

from marketplace.extensions import db
from marketplace.outbox import services

outbox_cli = AppGroup("outbox", help="The outbox of work handed to Celery.")


@outbox_cli.command("status")
def status():
    """How many outbox rows are still undone."""
    click.echo(f"pending: {services.pending_count()}")


@outbox_cli.command("sweep")
@click.option(
    "--older-than",
    type=int,
    default=None,
    help="Seconds since last dispatch (default: OUTBOX_REDISPATCH_AFTER; 0 sends all undone).",
)
def sweep(older_than):
    """Publish again undone outbox rows; without a broker they run here and now."""
    if older_than is None:
        older_than = current_app.config["OUTBOX_REDISPATCH_AFTER"]
    count = services.redispatch_due(older_than)
    db.session.commit()
    click.echo(f"dispatched again: {count}; still pending: {services.pending_count()}")
