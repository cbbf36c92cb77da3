import os
import sys
import tempfile

import click
from flask.cli import AppGroup

from marketplace.ledger import export as ledger_export
from marketplace.ledger.verify import verify as run_verify

ledger_cli = AppGroup("ledger", help="The double-entry ledger.")


class UnreadableExport(click.ClickException):
    """A file ``verify --file`` cannot check at all: exit 2, not the 1 of a discrepancy."""

    exit_code = 2


@ledger_cli.command("verify")
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Check a file made by `flask ledger export` instead, reading nothing else.",
)
def verify(path):
    """Check balances, hash chains, levies posted exactly once, and the report totals."""
    if path is not None:
        _verify_file(path)
        return
    report = run_verify()
    counts = report.counts
    click.echo(
        f"checked {counts.get('entries', 0)} entries, {counts.get('lines', 0)} lines, "
        f"{counts.get('chains', 0)} chains, {counts.get('accounts', 0)} accounts, "
        f"{counts.get('paid_orders', 0)} paid orders, {counts.get('levies', 0)} levies"
    )
    if report.waiting_orders:
        click.echo(f"waiting: {report.waiting_orders} paid orders not yet routed (outbox)")
    if report.ok:
        click.echo("ledger OK")
        return
    _discrepancies(report)


def _verify_file(path):
    """An export's entries, hashes and chains; exit 1 on a discrepancy, 2 if unreadable."""
    try:
        report = ledger_export.verify_file(path)
    except ledger_export.ExportError as error:
        raise UnreadableExport(f"{path}: {error}") from None
    counts = report.counts
    click.echo(
        f"checked {counts['entries']} entries, {counts['lines']} lines, "
        f"{counts['chains']} chains in {path}"
    )
    if report.ok:
        for chain, entries, head_hash in report.heads:
            click.echo(f"chain {chain}: {entries} entries, head {head_hash}")
        click.echo("export OK")
        return
    _discrepancies(report)


def _discrepancies(report):
    for problem in report.problems:
        click.echo(f"DISCREPANCY: {problem}", err=True)
    click.echo(f"{len(report.problems)} discrepancies", err=True)
    sys.exit(1)


@ledger_cli.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    default="-",
    help="The file to write (default: standard output).",
)
@click.option("--fund", "fund_id", type=int, default=None, help="Only this fund's chain.")
def export(output, fund_id):
    """Write the ledger's entries, lines and hashes as JSON Lines, for an offline copy."""
    try:
        if output == "-":
            counts = ledger_export.export(_to_standard_output, fund_id)
        else:
            counts = _export_to_file(output, fund_id)
    except ledger_export.ExportError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:  # a folder that is not there, a full disk, no permission
        raise click.ClickException(f"cannot write {output}: {error.strerror or error}") from None
    click.echo(
        f"exported {counts['entries']} entries, {counts['lines']} lines, "
        f"{counts['chains']} chains to {'standard output' if output == '-' else output}",
        err=True,
    )


def _to_standard_output(text):
    click.echo(text, nl=False)


def _export_to_file(output, fund_id):
    """Write aside, then rename when complete: a failed export never replaces a good copy.

    The file is readable by its owner alone (``mkstemp``): it holds the whole ledger.
    """
    handle, partial = tempfile.mkstemp(
        dir=os.path.dirname(os.path.abspath(output)), prefix=".ledger-export-"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            counts = ledger_export.export(out.write, fund_id)
        os.replace(partial, output)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return counts
