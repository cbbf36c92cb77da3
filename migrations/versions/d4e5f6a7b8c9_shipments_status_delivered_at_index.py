"""shipments: an index on (status, delivered_at) for the releases of sellers' proceeds

Revision ID: d4e5f6a7b8c9
Revises: ecc490d4782c
Create Date: 2026-11-28 10:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd4e5f6a7b8c9'
down_revision = 'ecc490d4782c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index(
            'ix_shipments_status_delivered_at', ['status', 'delivered_at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_shipments_status_delivered_at')
