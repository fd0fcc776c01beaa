"""notifications keep facts, not English sentences

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The reply layer words each notification in the conversation's language from text_key and
    # params; the stored English default is gone.
    with op.batch_alter_table('customer_notifications') as batch:
        batch.drop_column('text')


def downgrade() -> None:
    with op.batch_alter_table('customer_notifications') as batch:
        batch.add_column(sa.Column('text', sa.Text(), nullable=False, server_default=''))
