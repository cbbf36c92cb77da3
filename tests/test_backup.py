"""The restore drill: `make backup` of a live PostgreSQL database with orders, levies, a
remittance and payouts, `make restore` into a fresh one, and proof that it came back whole."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from marketplace.extensions import db as _db
from marketplace.ledger import services as ledger
from marketplace.levies import services as levies
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as orders
from marketplace.payouts import services as payouts
from tests.conftest import drop_postgres_database
from tests.factories import (
    ADDRESS,
    AdminFactory,
    FundTreasurerFactory,
    ProductFactory,
    SellerMemberFactory,
    UserFactory,
    agreed_levy,
)

ROOT = Path(__file__).resolve().parent.parent


def _business():
    """Two orders with a ฿4 levy a bag, one delivered and paid out to the seller, a
    remittance to the fund, and a refund after both: every kind of money movement."""
    member = SellerMemberFactory(seller__promptpay_id="0812345602")
    treasurer = FundTreasurerFactory()
    rice = ProductFactory(seller=member.seller, price_satang=35000, weight_grams=5050, stock=100)
    agreed_levy(member, treasurer, rice)
    admin, buyer = AdminFactory(), UserFactory()
    _db.session.commit()
    placed = []
    for quantity in (10, 4):
        order = orders.place_order(buyer, [(rice.id, quantity)], address=ADDRESS)
        orders.confirm_transfer(admin, order)
        _db.session.commit()
        placed.append(order)
    shipment = placed[0].shipments[0]
    orders.ship(member.user, shipment, carrier="ไปรษณีย์ไทย", tracking_number="EX1TH")
    orders.confirm_delivery(buyer, shipment)
    _db.session.commit()
    run = payouts.start_run(admin)
    payouts.mark_paid(admin, run.payouts[0], bank_reference="BAAC-1", paid_on=levies.today())
    ledger.record_remittance(
        treasurer.user,
        treasurer.fund,
        amount_satang=4000,
        remitted_on=levies.today(),
        bank_reference="KTB-1",
    )
    _db.session.commit()
    order_refunds.refund(admin, placed[1], [(placed[1].items[0].id, 1)])
    _db.session.commit()


def _drill(step, url, folder, *args, **env):
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "backup.py"), step, *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "BACKUP_DIR": str(folder), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def _heads(connection):
    return {
        chain: (seq, digest)
        for chain, seq, digest in connection.execute(
            text(
                "SELECT DISTINCT ON (chain) chain, seq, hash FROM journal_entries "
                "ORDER BY chain, seq DESC"
            )
        )
    }


@pytest.mark.postgres_only
def test_a_backup_restores_into_a_fresh_database_with_the_same_ledger(make_app, database, tmp_path):
    app = make_app(PAYOUT_HOLD_DAYS=0)
    with app.app_context():
        _business()
        original = _heads(_db.session.connection())
        kinds = set(
            _db.session.execute(text("SELECT DISTINCT kind FROM journal_entries")).scalars()
        )
    assert {"payment", "levy", "refund", "levy_reversal", "remittance", "payout"} <= kinds
    assert len(original) == 2  # the main chain and the fund's

    said = _drill("backup", database["url"], tmp_path)
    manifest = next(tmp_path.glob("talat-*.json"))
    record = json.loads(manifest.read_text(encoding="utf-8"))
    assert record["chains"] == {chain: list(head) for chain, head in original.items()}
    assert (tmp_path / record["dump"]).stat().st_size > 0
    assert f"manifest: {manifest}" in said

    target = database["url"].rsplit("/", 1)[0] + f"/talat_restored_{uuid.uuid4().hex[:10]}"
    try:
        said = _drill("restore", database["url"], tmp_path, str(manifest), RESTORE_URL=target)
        assert "ledger verify OK; 2 chain heads equal the backup's" in said
        restored_app = make_app(SQLALCHEMY_DATABASE_URI=target)
        with restored_app.app_context():
            assert _heads(_db.session.connection()) == original
            _db.session.rollback()
            _db.engine.dispose()
        # Restoring over a database that exists is refused.
        again = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "backup.py"), "restore", str(manifest)],
            cwd=ROOT,
            env={**os.environ, "BACKUP_DIR": str(tmp_path), "RESTORE_URL": target},
            capture_output=True,
            text=True,
            check=False,
        )
        assert again.returncode != 0 and "exists" in again.stderr
    finally:
        drop_postgres_database(target)


@pytest.mark.postgres_only
def test_a_dump_changed_after_the_backup_is_refused(make_app, database, tmp_path):
    app = make_app(PAYOUT_HOLD_DAYS=0)
    with app.app_context():
        _business()
    _drill("backup", database["url"], tmp_path)
    dump = next(tmp_path.glob("talat-*.dump"))
    with dump.open("ab") as data:
        data.write(b"\0")

    refused = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "backup.py"), "restore"],
        cwd=ROOT,
        env={**os.environ, "BACKUP_DIR": str(tmp_path), "DATABASE_URL": database["url"]},
        capture_output=True,
        text=True,
        check=False,
    )

    assert refused.returncode != 0
    assert "SHA-256" in refused.stderr
