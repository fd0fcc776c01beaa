"""conversation owners

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 08:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversation_owners',
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('principal', sa.String(length=160), nullable=False),
    sa.Column('bound_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('conversation_id')
    )


def downgrade() -> None:
    op.drop_table('conversation_owners')
