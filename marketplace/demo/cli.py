import click
from flask import current_app
from flask.cli import AppGroup

from marketplace.demo import services
from marketplace.demo.data import ADMIN, USERS
from marketplace.extensions import db

demo_cli = AppGroup("demo", help="Demo data for trying the marketplace.")

#: Demo logins only; the command refuses to run under the production configuration.
DEFAULT_PASSWORD = "talat-demo-2569"  # noqa: S105


@demo_cli.command("seed")
@click.option(
    "--password", default=DEFAULT_PASSWORD, show_default=True, help="Password for new demo users."
)
@click.option(
    "--if-empty", is_flag=True, help="Do nothing when the marketplace already has sellers."
)
@click.option(
    "--allow-production",
    is_flag=True,
    help="Seed under the production configuration too (make up on one machine; never on a "
    "real deployment).",
)
def seed(password, if_empty, allow_production):
    """Create the demo sellers, funds and users (idempotent; refused in production)."""
    if current_app.config.get("ENV_NAME") == "production" and not allow_production:
        raise click.ClickException("demo data is refused under MARKETPLACE_CONFIG=production")
    if if_empty and services.is_seeded():
        click.echo("the marketplace already has sellers; demo seed skipped")
        return
    report = services.seed(password)
    db.session.commit()
    for kind, name, created in report:
        click.echo(f"{'created' if created else 'exists '}  {kind:6}  {name}")
    click.echo("")
    click.echo(f"Sign in at /login as a demo user with password: {password}")
    click.echo("(users that already existed keep the password they had)")
    for email in [ADMIN["email"]] + [user["email"] for user in USERS]:
        click.echo(f"  {email}")
