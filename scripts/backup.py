"""``make backup`` and ``make restore``: a copy of the PostgreSQL database that is proven to
come back whole.

    python scripts/backup.py backup              # DATABASE_URL into BACKUP_DIR
    python scripts/backup.py restore [MANIFEST]  # the newest backup (or MANIFEST), restored

A backup is three files in ``BACKUP_DIR`` (default ``backups/``), named by the UTC time:

- ``talat-<time>.dump``: ``pg_dump --format=custom`` of the whole database;
- ``talat-<time>.ledger.jsonl``: ``flask ledger export``, the ledger an auditor can check
  with ``flask ledger verify --file`` and nothing else;
- ``talat-<time>.json``: the manifest: the dump's SHA-256 and the head (``seq``, hash) of
  every ledger chain *in the dump*. The heads are read in the same snapshot that pg_dump
  copies (``pg_export_snapshot``), so they describe exactly what the dump holds, whatever
  is posted meanwhile.

A restore checks the dump's SHA-256, creates a new database (``RESTORE_URL``, or
``<database>_restore_<time>`` on the same server; an existing one is refused), loads the dump
with pg_restore, runs ``flask ledger verify`` on it, and compares every chain head with
the manifest, and with the ledger export taken beside the dump. It prints the new
database's URL; pointing ``DATABASE_URL`` at it is the operator's step.
"""

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parent.parent
FLASK = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/talat"
HEADS = "SELECT DISTINCT ON (chain) chain, seq, hash FROM journal_entries ORDER BY chain, seq DESC"


class BackupError(Exception):
    pass


def libpq(url):
    """The URL as pg_dump and psycopg read it (without SQLAlchemy's ``+psycopg``)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise BackupError(f"{parsed.database} is not a PostgreSQL database")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def for_pg_tools(url):
    """``(url, env)`` for pg_dump and pg_restore: the password, if any, goes in PGPASSWORD
    rather than on a command line that every user of the machine can list."""
    parsed = make_url(libpq(url))
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    bare = URL.create(
        parsed.drivername,
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return bare.render_as_string(hide_password=False), env


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(command, env=None):
    # The commands are this script's own (pg_dump, pg_restore, flask), never input.
    done = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        shown = " ".join(command[:3])
        raise BackupError(f"{shown} … failed ({done.returncode}):\n{done.stderr or done.stdout}")
    return done


def _flask(url, *args):
    return _run([*FLASK, *args], env={**os.environ, "DATABASE_URL": url})


def backup(url, folder, now=None):
    """Dump the database and export its ledger into ``folder``; return the manifest's path."""
    now = now or datetime.now(UTC)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"talat-{now:%Y%m%dT%H%M%SZ}"
    dump, export, manifest = (
        folder / f"{name}.dump",
        folder / f"{name}.ledger.jsonl",
        folder / f"{name}.json",
    )
    if manifest.exists():
        raise BackupError(f"{manifest} is there already")
    with psycopg.connect(libpq(url)) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            heads = {chain: [seq, digest] for chain, seq, digest in conn.execute(HEADS)}
            # pg_dump reads the very snapshot the heads came from (while it is held here).
            tool_url, tool_env = for_pg_tools(url)
            _run(
                [
                    "pg_dump",
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--file={dump}",
                    tool_url,
                ],
                env=tool_env,
            )
    _flask(url, "ledger", "export", "--output", str(export))
    record = {
        "format": "talat-chumchon-backup",
        "version": 1,
        "created_at": now.isoformat(timespec="seconds"),
        "database": make_url(url).database,
        "dump": dump.name,
        "dump_sha256": sha256(dump),
        "ledger_export": export.name,
        "chains": heads,
    }
    manifest.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def newest(folder):
    found = sorted(Path(folder).glob("talat-*.json"))
    if not found:
        raise BackupError(f"no backup in {folder} (make backup)")
    return found[-1]


def _create(target):
    parsed = make_url(target)
    server = libpq(parsed.set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)
        ).fetchone()
        if exists:
            raise BackupError(f"database {parsed.database} exists: restore into a new one")
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(parsed.database)))


def _export_hashes(path, wanted):
    """``{chain: hash}`` of the export's entries at the ``(chain, seq)`` pairs ``wanted``."""
    found = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row.get("type") == "entry" and wanted.get(row["chain"]) == row["seq"]:
                found[row["chain"]] = row["hash"]
    return found


def restore(manifest_path, target=None, now=None):
    """Restore a backup into a new database and prove it; return ``(target URL, chains)``."""
    manifest_path = Path(manifest_path)
    record = json.loads(manifest_path.read_text(encoding="utf-8"))
    dump = manifest_path.parent / record["dump"]
    if sha256(dump) != record["dump_sha256"]:
        raise BackupError(f"{dump} is not the file the backup wrote (SHA-256 differs)")
    if target is None:
        stamp = f"{(now or datetime.now(UTC)):%Y%m%d%H%M%S}"
        base = make_url(os.environ.get("DATABASE_URL") or DEFAULT_URL)
        target = base.set(database=f"{record['database']}_restore_{stamp}").render_as_string(
            hide_password=False
        )
    _create(target)
    tool_url, tool_env = for_pg_tools(target)
    _run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--dbname={tool_url}",
            str(dump),
        ],
        env=tool_env,
    )
    _flask(target, "ledger", "verify")  # exits 1 on any discrepancy: _run raises
    with psycopg.connect(libpq(target)) as conn:
        heads = {chain: [seq, digest] for chain, seq, digest in conn.execute(HEADS)}
    if heads != record["chains"]:
        raise BackupError(f"chain heads differ: restored {heads}, backed up {record['chains']}")
    export = manifest_path.parent / record["ledger_export"]
    exported = _export_hashes(export, {chain: seq for chain, (seq, _h) in heads.items()})
    differ = {c for c, (_s, digest) in heads.items() if exported.get(c) != digest}
    if differ:
        raise BackupError(f"the ledger export disagrees with the dump on chains {sorted(differ)}")
    return target, heads


def main(argv):
    if len(argv) < 2 or argv[1] not in ("backup", "restore"):
        sys.exit(__doc__)
    folder = os.environ.get("BACKUP_DIR") or str(ROOT / "backups")
    try:
        if argv[1] == "backup":
            url = os.environ.get("DATABASE_URL") or DEFAULT_URL
            manifest = backup(url, folder)
            record = json.loads(manifest.read_text(encoding="utf-8"))
            print(f"backed up {record['database']}: {manifest.parent / record['dump']}")
            print(f"ledger export: {manifest.parent / record['ledger_export']}")
            print(f"manifest: {manifest} ({len(record['chains'])} chains)")
        else:
            manifest = argv[2] if len(argv) > 2 else newest(folder)
            target, heads = restore(manifest, os.environ.get("RESTORE_URL"))
            safe = make_url(target).render_as_string(hide_password=True)
            print(f"restored {manifest} into {safe}")
            print(f"ledger verify OK; {len(heads)} chain heads equal the backup's")
    except (BackupError, psycopg.Error, OSError) as error:
        sys.exit(f"{argv[1]} failed: {error}")


if __name__ == "__main__":
    main(sys.argv)
