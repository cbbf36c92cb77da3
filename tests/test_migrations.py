"""The migrations build the schema from empty and match the models exactly."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from marketplace import create_app
from marketplace.extensions import db
from tests.conftest import create_postgres_database, drop_postgres_database, make_config


@pytest.fixture
def empty_database(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    url = create_postgres_database("talat_migrations")
    yield url
    drop_postgres_database(url)


def test_upgrade_from_empty_then_no_autogenerate_diff(empty_database):
    app = create_app(make_config(empty_database))
    runner = app.test_cli_runner()

    result = runner.invoke(args=["db", "upgrade"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts=app.extensions["migrate"].configure_args
            )
            diff = compare_metadata(context, db.metadata)
            tables = set(inspect(connection).get_table_names())
        db.engine.dispose()
    assert diff == []
    assert {"users", "sellers", "funds", "subdistricts", "outbox_messages"} <= tables


def test_downgrade_to_empty_and_back(empty_database):
    app = create_app(make_config(empty_database))
    runner = app.test_cli_runner()

    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert runner.invoke(args=["db", "downgrade", "base"]).exit_code == 0
    with app.app_context(), db.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    with app.app_context():
        db.engine.dispose()
