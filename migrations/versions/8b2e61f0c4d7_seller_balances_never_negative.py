"""seller balances: a seller's available, in-payout and receivable accounts never negative

Revision ID: 8b2e61f0c4d7
Revises: 5d7f4bcdc7e2
Create Date: 2026-11-27 00:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8b2e61f0c4d7'
down_revision = '5d7f4bcdc7e2'
branch_labels = None
depends_on = None


def upgrade():
    # Autogenerate does not see CHECK constraints: written by hand.
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_ledger_accounts_seller_balances_not_negative'),
            "kind NOT IN ('seller_available', 'seller_in_payout', 'seller_receivable')"
            " OR balance_satang >= 0",
        )


def downgrade():
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f('ck_ledger_accounts_seller_balances_not_negative'), type_='check'
        )
