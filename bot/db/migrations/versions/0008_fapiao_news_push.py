"""fapiao news pushed into an open chat: push attempts and the next try

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 13:55:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('fapiao_notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('push_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_push_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('fapiao_notices', schema=None) as batch_op:
        batch_op.drop_column('next_push_at')
        batch_op.drop_column('push_attempts')
