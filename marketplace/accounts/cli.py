import sys

import click
from flask.cli import AppGroup

from marketplace.accounts import services
from marketplace.errors import DomainError
from marketplace.extensions import db

users_cli = AppGroup("users", help="Manage user accounts.")


def _read_password():
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default=None, help="Display name (default: the part before @).")
def create_admin(email, name):
    """Create an admin, or make an existing user one; the password comes from a prompt or stdin."""
    password = _read_password()
    try:
        user = services.create_admin(email, password, name=name)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(str(error.message)) from None
    click.echo(f"admin {user.email} is ready (user id {user.id})")
