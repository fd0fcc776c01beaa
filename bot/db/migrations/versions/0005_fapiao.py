"""fapiao requests: customers' tax facts, partners' fapiao policies, requests, their history and notices

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:21:15

Only new tables (bot/fapiao/models.py says why the tax facts are not columns on customers), so
nothing is ALTERed; the indexes are created in batch mode like the earlier revisions, which works
on SQLite and PostgreSQL alike.
"""
from alembic import op
import sqlalchemy as sa

from bot.db.models import MoneyType


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fapiao_policies',
    sa.Column('partner_id', sa.String(length=16), nullable=False),
    sa.Column('issue_business_days', sa.Integer(), nullable=False),
    sa.Column('offers_special', sa.Boolean(), nullable=False),
    sa.Column('offers_paper', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.PrimaryKeyConstraint('partner_id')
    )
    op.create_table('customer_tax_profiles',
    sa.Column('customer_id', sa.String(length=16), nullable=False),
    sa.Column('registered_name', sa.String(length=200), nullable=False),
    sa.Column('taxpayer_type', sa.String(length=16), nullable=False),
    sa.Column('tax_id', sa.String(length=18), nullable=False),
    sa.Column('bank_name', sa.String(length=200), nullable=True),
    sa.Column('bank_account', sa.String(length=64), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('customer_id')
    )
    op.create_table('fapiao_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('active_invoice_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.String(length=16), nullable=False),
    sa.Column('partner_id', sa.String(length=16), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('invoice_number', sa.String(length=16), nullable=False),
    sa.Column('fapiao_type', sa.String(length=16), nullable=False),
    sa.Column('form', sa.String(length=16), nullable=False),
    sa.Column('amount', MoneyType(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('tax_id', sa.String(length=18), nullable=False),
    sa.Column('bank_name', sa.String(length=200), nullable=True),
    sa.Column('bank_account', sa.String(length=64), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('due_by', sa.Date(), nullable=False),
    sa.Column('fapiao_number', sa.String(length=20), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('reject_reason', sa.String(length=32), nullable=True),
    sa.Column('staff_note', sa.Text(), nullable=True),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['active_invoice_id'], ['invoices.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('active_invoice_id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('fapiao_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fapiao_requests_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fapiao_requests_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index('ix_fapiao_requests_partner_state', ['partner_id', 'state'], unique=False)

    op.create_table('fapiao_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['fapiao_requests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('fapiao_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fapiao_events_request_id'), ['request_id'], unique=False)

    op.create_table('fapiao_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.String(length=16), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('shown_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['fapiao_requests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('fapiao_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fapiao_notices_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fapiao_notices_request_id'), ['request_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('fapiao_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fapiao_notices_request_id'))
        batch_op.drop_index(batch_op.f('ix_fapiao_notices_customer_id'))

    op.drop_table('fapiao_notices')
    with op.batch_alter_table('fapiao_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fapiao_events_request_id'))

    op.drop_table('fapiao_events')
    with op.batch_alter_table('fapiao_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_fapiao_requests_partner_state')
        batch_op.drop_index(batch_op.f('ix_fapiao_requests_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_fapiao_requests_customer_id'))

    op.drop_table('fapiao_requests')
    op.drop_table('customer_tax_profiles')
    op.drop_table('fapiao_policies')
