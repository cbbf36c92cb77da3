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


_FROZEN_ROWS = [
    "INSERT INTO users (id, email, password_hash, name, phone, language, is_admin, active,"
    " created_at, ship_name, ship_phone, ship_address_line, ship_postal_code) VALUES"
    " (1, 'b@example.com', 'x', 'b', '', 'th', false, true, :now, '', '', '', '')",
    "INSERT INTO sellers (id, kind, promptpay_id, name_th, name_en, description, address_line,"
    " postal_code, contact_name, phone, email, bank_name, bank_account_name,"
    " bank_account_number, verified, created_at, subdistrict_code, offers_pickup, pickup_note)"
    " VALUES (1, 'otop_group', '', 's', '', '', '1', '91120', 'c', '', '', '', '', '', true,"
    " :now, '910602', true, '')",
    "INSERT INTO orders (id, buyer_id, status, subtotal_satang, shipping_satang,"
    " total_satang, refunded_satang, ship_name, ship_phone, ship_address_line,"
    " ship_subdistrict_code, ship_postal_code, payment_method, placed_at, expires_at,"
    " cancel_reason) VALUES (:id, 1, :status, 100, 0, 100, 0, 'b', '0812345678', '1',"
    " '910602', '91120', 'transfer', :now, :now, '')",
    "INSERT INTO shipments (id, order_id, seller_id, method, status, shipping_satang,"
    " shipping_refunded_satang, weight_grams, subtotal_satang, carrier, tracking_number,"
    " delivered_at) VALUES (:id, :id, 1, 'pickup', 'delivered', 0, 0, 100, 100, '', '',"
    " :now)",
]


def test_parcels_frozen_on_unpaid_orders_are_put_back(empty_database):
    """Before the fix a buyer could mark the pickup parcel of an unpaid order received,
    which froze the order; the migration puts such parcels back to "preparing"."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    app = create_app(make_config(empty_database))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "485bdea8142f"]).exit_code == 0
    assert runner.invoke(args=["geo", "load"]).exit_code == 0
    # As text: Python 3.12 deprecates sqlite3's default datetime adapter.
    now = datetime.now(UTC).isoformat(sep=" ")
    with app.app_context(), db.engine.begin() as connection:
        users, sellers, orders, shipments = (text(sql) for sql in _FROZEN_ROWS)
        connection.execute(users, {"now": now})
        connection.execute(sellers, {"now": now})
        for order_id, status in ((1, "pending_payment"), (2, "completed")):
            connection.execute(orders, {"id": order_id, "status": status, "now": now})
            connection.execute(shipments, {"id": order_id, "now": now})

    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0

    with app.app_context():
        with db.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, status, delivered_at FROM shipments ORDER BY id")
            ).all()
        db.engine.dispose()
    # The unpaid order's parcel is preparing again; a completed order's stays delivered.
    assert [(r.id, r.status, r.delivered_at is None) for r in rows] == [
        (1, "preparing", True),
        (2, "delivered", False),
    ]
