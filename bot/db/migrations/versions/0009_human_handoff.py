"""human handoff: support agents, support policies, handoffs and their delivery outbox

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 16:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('waiting', 'claimed')")


def upgrade() -> None:
    op.create_table('support_agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('login', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('login')
    )
    op.create_index('ix_support_agents_partner_id', 'support_agents', ['partner_id'], unique=False)
    op.create_table('support_policies',
    sa.Column('partner_id', sa.String(length=16), nullable=False),
    sa.Column('staffed_hours', sa.String(length=200), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('first_response_seconds', sa.Integer(), nullable=True),
    sa.Column('next_response_seconds', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.PrimaryKeyConstraint('partner_id')
    )
    op.create_table('handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.String(length=16), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.String(length=16), nullable=True),
    sa.Column('requester', sa.String(length=160), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('clock_starts_at', sa.DateTime(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('first_response_at', sa.DateTime(), nullable=True),
    sa.Column('awaiting_agent_since', sa.DateTime(), nullable=True),
    sa.Column('first_response_breached', sa.Boolean(), nullable=False),
    sa.Column('next_response_breaches', sa.Integer(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('satisfaction_at', sa.DateTime(), nullable=True),
    sa.Column('customer_typing_at', sa.DateTime(), nullable=True),
    sa.Column('agent_typing_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['support_agents.id'], ),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_handoffs_partner_status', 'handoffs', ['partner_id', 'status'], unique=False)
    op.create_index('ux_handoffs_open_conversation', 'handoffs', ['conversation_id'], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_table('handoff_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handoff_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('in_tracker_at', sa.DateTime(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('failed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['support_agents.id'], ),
    sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_handoff_deliveries_handoff_id', 'handoff_deliveries', ['handoff_id'], unique=False)
    op.create_index('ix_handoff_deliveries_conversation_id', 'handoff_deliveries', ['conversation_id'], unique=False)


def downgrade() -> None:
    op.drop_table('handoff_deliveries')
    op.drop_index('ux_handoffs_open_conversation', table_name='handoffs')
    op.drop_index('ix_handoffs_partner_status', table_name='handoffs')
    op.drop_table('handoffs')
    op.drop_table('support_policies')
    op.drop_index('ix_support_agents_partner_id', table_name='support_agents')
    op.drop_table('support_agents')
