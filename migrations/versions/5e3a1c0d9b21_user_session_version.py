"""user session version, pending registrations; unfreeze parcels of unpaid orders

Signing out or changing the password ends every session (users.session_version).
A buyer could mark the pickup parcel of an unpaid order received, which froze the order
(it could be neither cancelled nor expired) and its stock: such parcels go back to
"preparing", so the order expires or is paid as any other.

Revision ID: 5e3a1c0d9b21
Revises: 485bdea8142f
Create Date: 2026-11-26 13:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e3a1c0d9b21'
down_revision = '485bdea8142f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'pending_registrations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('language', sa.String(length=2), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_registrations')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_pending_registrations_token_hash')),
    )
    with op.batch_alter_table('pending_registrations', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_pending_registrations_email'), ['email'], unique=False
        )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('session_version', sa.Integer(), server_default='0', nullable=False)
        )
    op.execute(
        "UPDATE shipments SET status = 'preparing', delivered_at = NULL "
        "WHERE status IN ('shipped', 'delivered') AND order_id IN "
        "(SELECT id FROM orders WHERE status = 'pending_payment')"
    )


def downgrade():
    op.drop_table('pending_registrations')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
