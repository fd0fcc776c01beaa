"""partner desk: staff directory, audit log, subscription changes, platform addresses and events

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 12:44:33
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversation_addresses',
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('conversation_id')
    )
    op.create_table('seen_platform_events',
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('platform', 'event_id')
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=160), nullable=False),
    sa.Column('actor_id', sa.String(length=160), nullable=True),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('customer_id', sa.String(length=16), nullable=True),
    sa.Column('subject', sa.String(length=120), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_customer', ['customer_id'], unique=False)
        batch_op.create_index('ix_audit_log_partner_at', ['partner_id', 'at'], unique=False)

    op.create_table('staff_directory',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('workspace', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('partner_id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('platform', 'workspace', 'user_id')
    )
    with op.batch_alter_table('staff_directory', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_directory_partner_id'), ['partner_id'], unique=False)

    op.create_table('subscription_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('partner_id', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.String(length=16), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('target_status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_by', sa.String(length=160), nullable=False),
    sa.Column('requested_by_id', sa.String(length=160), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('applied_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('subscription_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_changes_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_subscription_changes_due', ['state', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tenant_id', sa.String(length=36), nullable=True))

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('upstream_id', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_column('upstream_id')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('tenant_id')

    with op.batch_alter_table('subscription_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_subscription_changes_due')
        batch_op.drop_index(batch_op.f('ix_subscription_changes_customer_id'))

    op.drop_table('subscription_changes')
    with op.batch_alter_table('staff_directory', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_directory_partner_id'))

    op.drop_table('staff_directory')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_partner_at')
        batch_op.drop_index('ix_audit_log_customer')

    op.drop_table('audit_log')
    op.drop_table('seen_platform_events')
    op.drop_table('conversation_addresses')
