"""line display names per language

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('line_display_names',
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('description', 'language')
    )


def downgrade() -> None:
    op.drop_table('line_display_names')
