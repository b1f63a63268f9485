"""foundation: users, catalogue, units, visits, ledgers

Revision ID: 0001
Revises: 
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

from rma.migrations.ledger_guard import drop_guard_function, drop_ledger_guard, install_ledger_guard


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('code', name=op.f('uq_customers_code'))
    )
    op.create_table('product_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('family', sa.String(length=32), nullable=False),
    sa.Column('serial_pattern', sa.String(length=200), nullable=False),
    sa.Column('warranty_months', sa.Integer(), nullable=False),
    sa.Column('firmware_version', sa.String(length=64), nullable=True),
    sa.Column('accessories', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_models')),
    sa.UniqueConstraint('code', name=op.f('uq_product_models_code'))
    )
    op.create_table('tag_sequences',
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', name=op.f('pk_tag_sequences'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('auth_version', sa.Integer(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('last_failed_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_log_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_table('units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('manufactured_on', sa.Date(), nullable=True),
    sa.Column('sold_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['product_models.id'], name=op.f('fk_units_model_id_product_models')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('serial', name=op.f('uq_units_serial'))
    )
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_units_model_id'), ['model_id'], unique=False)

    op.create_table('user_roles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('clerk', 'technician', 'lead', 'tester', 'materials', 'supervisor', 'admin', name='role', native_enum=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_roles_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'role', name=op.f('pk_user_roles'))
    )
    op.create_table('visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=32), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('received', 'awaiting_bench', 'in_repair', 'awaiting_parts', 'programming', 'awaiting_test', 'in_test', 'passed', 'refurbished', 'shipped', 'scrapped', 'returned_unrepaired', name='visitstate', native_enum=False, length=32), nullable=False),
    sa.Column('return_reason', sa.Text(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_visits_customer_id_customers')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_visits_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits')),
    sa.UniqueConstraint('tag', name=op.f('uq_visits_tag'))
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visits_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_visits_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_visits_unit_id'), ['unit_id'], unique=False)

    op.create_table('returns_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.Enum('received', 'awaiting_bench', 'in_repair', 'awaiting_parts', 'programming', 'awaiting_test', 'in_test', 'passed', 'refurbished', 'shipped', 'scrapped', 'returned_unrepaired', name='visitstate', native_enum=False, length=32), nullable=True),
    sa.Column('to_state', sa.Enum('received', 'awaiting_bench', 'in_repair', 'awaiting_parts', 'programming', 'awaiting_test', 'in_test', 'passed', 'refurbished', 'shipped', 'scrapped', 'returned_unrepaired', name='visitstate', native_enum=False, length=32), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_returns_ledger_actor_id_users')),
    sa.ForeignKeyConstraint(['corrects_id'], ['returns_ledger.id'], name=op.f('fk_returns_ledger_corrects_id_returns_ledger')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_returns_ledger_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_returns_ledger'))
    )
    with op.batch_alter_table('returns_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_returns_ledger_visit_id'), ['visit_id'], unique=False)

    install_ledger_guard('returns_ledger')
    install_ledger_guard('audit_log')


def downgrade() -> None:
    drop_ledger_guard('returns_ledger')
    drop_ledger_guard('audit_log')
    drop_guard_function()
    with op.batch_alter_table('returns_ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_returns_ledger_visit_id'))

    op.drop_table('returns_ledger')
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visits_unit_id'))
        batch_op.drop_index(batch_op.f('ix_visits_state'))
        batch_op.drop_index(batch_op.f('ix_visits_customer_id'))

    op.drop_table('visits')
    op.drop_table('user_roles')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_units_model_id'))

    op.drop_table('units')
    op.drop_table('audit_log')
    op.drop_table('users')
    op.drop_table('tag_sequences')
    op.drop_table('product_models')
    op.drop_table('customers')
