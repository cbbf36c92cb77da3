import click
from flask.cli import AppGroup

from marketplace.extensions import db
from marketplace.geo import services

geo_cli = AppGroup("geo", help="Thai geography (data: GeoThai, CC BY 4.0).")


@geo_cli.command("load")
def load():
    """Load or update regions, provinces, districts, subdistricts and postal codes. Idempotent."""
    report = services.load_geography()
    db.session.commit()
    for table, (added, changed) in report.items():
        verb = "removed" if table == "postal_codes" else "updated"
        click.echo(f"{table}: {added} added, {changed} {verb}")
    totals = services.counts()
    click.echo(
        "now: {regions} regions, {provinces} provinces, {districts} districts, "
        "{subdistricts} subdistricts, {subdistrict_postal_codes} postal codes".format(**totals)
    )
