"""Create the PostgreSQL database a URL names, if it does not exist yet (for ``make up``).

Usage: ``python scripts/ensure_database.py postgresql://user@host:5432/name``. Connects to
the server's ``postgres`` database to do it; an existing database is left as it is.
"""

import sys

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url


def ensure_database(url):
    target = make_url(url)
    if not target.drivername.startswith("postgres"):
        return f"{target.database} is not a PostgreSQL database; nothing to create"
    try:  # there already (and reachable with these rights): nothing to do
        with psycopg.connect(_plain_url(target), connect_timeout=5):
            return f"database {target.database} is there"
    except psycopg.OperationalError as error:
        if "does not exist" not in str(error):
            raise
    server = {
        "host": target.host or "127.0.0.1",
        "port": target.port or 5432,
        "user": target.username,
        "password": target.password,
        "dbname": "postgres",
        "connect_timeout": 5,
    }
    with psycopg.connect(**{k: v for k, v in server.items() if v}, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)
        ).fetchone()
        if exists:
            return f"database {target.database} is there"
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.database)))
        return f"database {target.database} created"


def _plain_url(target):
    """The URL as libpq reads it (without SQLAlchemy's ``+psycopg`` driver name)."""
    return target.set(drivername="postgresql").render_as_string(hide_password=False)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    try:
        print(ensure_database(sys.argv[1]))
    except psycopg.Error as error:
        sys.exit(f"cannot use PostgreSQL database {make_url(sys.argv[1]).database}: {error}")
