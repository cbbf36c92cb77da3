import click
from flask.cli import AppGroup

from marketplace.clitypes import DAY
from marketplace.errors import DomainError
from marketplace.funds import reports
from marketplace.funds import services as funds
from marketplace.money import format_satang

levy_cli = AppGroup("levy", help="Levies for community welfare funds.")

HEADINGS = {
    "fund": "Fund",
    "period": "Period",
    "accrued": "Accrued",
    "reversed": "Reversed",
    "net": "Net",
    "remitted": "Remitted",
    "balance": "Owed to the fund now",
    "by_product": "Product",
    "by_seller": "Seller",
    "by_province": "Buyer's province",
    "units": "Units",
}


@levy_cli.command("report")
@click.option("--fund", "fund_id", type=int, required=True, help="The fund's id.")
@click.option(
    "--from", "start", type=DAY, default=None, help="First day (default: 1st of this month)."
)
@click.option("--to", "end", type=DAY, default=None, help="Last day (default: today).")
@click.option("--format", "output", type=click.Choice(["csv", "text"]), default="text")
@click.option("--language", type=click.Choice(["th", "en"]), default="th")
def report(fund_id, start, end, output, language):
    """A fund's levy report for a period, read from the ledger (CSV: UTF-8 with BOM)."""
    try:
        fund = funds.get(fund_id)
        first, last = reports.period(start, end)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    result = reports.levy_report(fund.id, first, last, language)
    name = fund.name_en if language == "en" and fund.name_en else fund.name_th
    if output == "csv":
        click.echo(reports.report_csv(result, name, HEADINGS), nl=False)
        return
    click.echo(f"{name}: {first.isoformat()} to {last.isoformat()}")
    for label, amount in (
        ("accrued", result.accrued_satang),
        ("reversed", result.reversed_satang),
        ("net", result.net_satang),
        ("remitted", result.remitted_satang),
        ("owed now", result.balance_satang),
    ):
        click.echo(f"  {label:10} {format_satang(amount):>16}")
    for title, rows in (("product", result.by_product), ("seller", result.by_seller)):
        click.echo(f"by {title}:")
        for row in rows:
            click.echo(f"  {row.label[:40]:40} {format_satang(row.net_satang):>16}")
