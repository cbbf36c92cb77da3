"""refund status: a refund paid back through Stripe is pending until Stripe says so

Stripe is no longer called inside the refund's transaction: the refund is recorded as
pending, Stripe is asked after the commit, and the answer is recorded (and posted to the
ledger) in a second transaction. Every refund made before was paid back at once.

Revision ID: b3f0c2d4e6a8
Revises: a7d1e5c3b902
Create Date: 2026-11-27 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3f0c2d4e6a8'
down_revision = 'a7d1e5c3b902'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'status',
                sa.Enum(
                    'pending',
                    'succeeded',
                    'failed',
                    name='refundstatus',
                    native_enum=False,
                    length=20,
                ),
                server_default='succeeded',
                nullable=False,
            )
        )


def downgrade():
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_column('status')
