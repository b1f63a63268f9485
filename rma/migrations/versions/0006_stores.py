"""stores: parts catalogue, locations, parts ledger, balances, requisitions, counts, closed months

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

from rma.migrations.ledger_guard import drop_ledger_guard, harden_ledger_guard, install_ledger_guard

# The stores' ledgers and their keys (primary key and unique constraints), for the guards.
LEDGERS = (
    ('stock_moves', [['id'], ['corrects_id'], ['delivery_line']]),
    ('stock_month_closes', [['month']]),
    ('stock_snapshots', [['id'], ['month', 'part_id']]),
)

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stock_locations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_locations')),
    sa.UniqueConstraint('code', name=op.f('uq_stock_locations_code'))
    )
    op.create_table('suppliers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppliers')),
    sa.UniqueConstraint('code', name=op.f('uq_suppliers_code'))
    )
    op.create_table('parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('part_number', sa.String(length=40), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('spec', sa.String(length=200), nullable=True),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('uom', sa.String(length=8), nullable=False),
    sa.Column('decimals', sa.SmallInteger(), nullable=False),
    sa.Column('abc', sa.String(length=1), nullable=False),
    sa.Column('safety_stock_milli', sa.BigInteger(), nullable=True),
    sa.Column('reorder_qty_milli', sa.BigInteger(), nullable=True),
    sa.Column('unit_cost_e4', sa.BigInteger(), nullable=False),
    sa.Column('supplier_barcode', sa.String(length=64), nullable=True),
    sa.Column('home_bin_id', sa.Integer(), nullable=True),
    sa.Column('blank_part_id', sa.Integer(), nullable=True),
    sa.Column('firmware_sha256', sa.String(length=64), nullable=True),
    sa.Column('firmware_version', sa.String(length=64), nullable=True),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("abc IN ('A', 'B', 'C')", name=op.f('ck_parts_abc')),
    sa.CheckConstraint('decimals BETWEEN 0 AND 3', name=op.f('ck_parts_decimals')),
    sa.ForeignKeyConstraint(['blank_part_id'], ['parts.id'], name=op.f('fk_parts_blank_part_id_parts')),
    sa.ForeignKeyConstraint(['home_bin_id'], ['stock_locations.id'], name=op.f('fk_parts_home_bin_id_stock_locations')),
    sa.ForeignKeyConstraint(['model_id'], ['product_models.id'], name=op.f('fk_parts_model_id_product_models')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parts')),
    sa.UniqueConstraint('model_id', name=op.f('uq_parts_model_id')),
    sa.UniqueConstraint('part_number', name=op.f('uq_parts_part_number')),
    sa.UniqueConstraint('supplier_barcode', name=op.f('uq_parts_supplier_barcode'))
    )
    op.create_table('stock_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_stock_counts_closed_by_id_users')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_stock_counts_started_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_counts')),
    sa.UniqueConstraint('code', name=op.f('uq_stock_counts_code'))
    )
    op.create_table('stock_month_closes',
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=False),
    sa.Column('parts', sa.Integer(), nullable=False),
    sa.Column('closing_value_e4', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_stock_month_closes_closed_by_id_users')),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_stock_month_closes'))
    )
    op.create_table('bom_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('designator', sa.String(length=32), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('qty_milli', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['product_models.id'], name=op.f('fk_bom_lines_model_id_product_models')),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_bom_lines_part_id_parts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bom_lines')),
    sa.UniqueConstraint('model_id', 'designator', name=op.f('uq_bom_lines_model_id'))
    )
    with op.batch_alter_table('bom_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bom_lines_part_id'), ['part_id'], unique=False)

    op.create_table('count_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('count_id', sa.Integer(), nullable=False),
    sa.Column('bin_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('expected_milli', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('counted_milli', sa.BigInteger(), nullable=True),
    sa.Column('counted_by_id', sa.Integer(), nullable=True),
    sa.Column('counted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recount_milli', sa.BigInteger(), nullable=True),
    sa.Column('book_milli', sa.BigInteger(), nullable=True),
    sa.Column('variance_milli', sa.BigInteger(), nullable=True),
    sa.Column('variance_e4', sa.BigInteger(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_count_lines_approved_by_id_users')),
    sa.ForeignKeyConstraint(['bin_id'], ['stock_locations.id'], name=op.f('fk_count_lines_bin_id_stock_locations')),
    sa.ForeignKeyConstraint(['count_id'], ['stock_counts.id'], name=op.f('fk_count_lines_count_id_stock_counts')),
    sa.ForeignKeyConstraint(['counted_by_id'], ['users.id'], name=op.f('fk_count_lines_counted_by_id_users')),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_count_lines_part_id_parts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_count_lines')),
    sa.UniqueConstraint('count_id', 'bin_id', 'part_id', name=op.f('uq_count_lines_count_id'))
    )
    with op.batch_alter_table('count_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_count_lines_count_id'), ['count_id'], unique=False)

    op.create_table('stock_balances',
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('qty_milli', sa.BigInteger(), nullable=False),
    sa.Column('value_e4', sa.BigInteger(), nullable=False),
    sa.Column('signed', sa.Boolean(), nullable=False),
    sa.CheckConstraint('signed OR qty_milli >= 0', name=op.f('ck_stock_balances_not_below_zero')),
    sa.ForeignKeyConstraint(['location_id'], ['stock_locations.id'], name=op.f('fk_stock_balances_location_id_stock_locations')),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_stock_balances_part_id_parts')),
    sa.PrimaryKeyConstraint('part_id', 'location_id', name=op.f('pk_stock_balances'))
    )
    with op.batch_alter_table('stock_balances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_balances_location_id'), ['location_id'], unique=False)

    op.create_table('stock_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('opening_qty', sa.BigInteger(), nullable=False),
    sa.Column('opening_value', sa.BigInteger(), nullable=False),
    sa.Column('receipts_qty', sa.BigInteger(), nullable=False),
    sa.Column('receipts_value', sa.BigInteger(), nullable=False),
    sa.Column('issues_qty', sa.BigInteger(), nullable=False),
    sa.Column('issues_value', sa.BigInteger(), nullable=False),
    sa.Column('returns_qty', sa.BigInteger(), nullable=False),
    sa.Column('returns_value', sa.BigInteger(), nullable=False),
    sa.Column('adjust_qty', sa.BigInteger(), nullable=False),
    sa.Column('adjust_value', sa.BigInteger(), nullable=False),
    sa.Column('scrap_qty', sa.BigInteger(), nullable=False),
    sa.Column('scrap_value', sa.BigInteger(), nullable=False),
    sa.Column('other_qty', sa.BigInteger(), nullable=False),
    sa.Column('other_value', sa.BigInteger(), nullable=False),
    sa.Column('closing_qty', sa.BigInteger(), nullable=False),
    sa.Column('closing_value', sa.BigInteger(), nullable=False),
    sa.Column('fitted_qty', sa.BigInteger(), nullable=False),
    sa.Column('fitted_value', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_stock_snapshots_part_id_parts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_snapshots')),
    sa.UniqueConstraint('month', 'part_id', name=op.f('uq_stock_snapshots_month'))
    )
    with op.batch_alter_table('stock_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_stock_snapshots_part', ['part_id', 'month'], unique=False)

    op.create_table('requisition_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('qty_milli', sa.BigInteger(), nullable=False),
    sa.Column('issued_milli', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('backordered', sa.Boolean(), nullable=False),
    sa.Column('first_fill', sa.Boolean(), nullable=True),
    sa.Column('designator', sa.String(length=64), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('backordered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_requisition_lines_part_id_parts')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_requisition_lines_requested_by_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_requisition_lines_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requisition_lines'))
    )
    with op.batch_alter_table('requisition_lines', schema=None) as batch_op:
        batch_op.create_index('ix_requisition_lines_open', ['status', 'requested_at'], unique=False)
        batch_op.create_index('ix_requisition_lines_visit', ['visit_id', 'part_id', 'status'], unique=False)

    op.create_table('stock_moves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('seal_key', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_id', sa.Integer(), nullable=False),
    sa.Column('to_id', sa.Integer(), nullable=False),
    sa.Column('store_sign', sa.SmallInteger(), nullable=False),
    sa.Column('qty_milli', sa.BigInteger(), nullable=False),
    sa.Column('value_e4', sa.BigInteger(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('job', sa.String(length=40), nullable=True),
    sa.Column('delivery_line', sa.String(length=120), nullable=True),
    sa.Column('designator', sa.String(length=64), nullable=True),
    sa.Column('count_line_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('from_id <> to_id', name=op.f('ck_stock_moves_two_locations')),
    sa.CheckConstraint('qty_milli > 0', name=op.f('ck_stock_moves_qty_positive')),
    sa.CheckConstraint('seal_key = part_id * 1000000 + month', name=op.f('ck_stock_moves_seal_key')),
    sa.CheckConstraint('store_sign IN (-1, 0, 1)', name=op.f('ck_stock_moves_store_sign')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_stock_moves_actor_id_users')),
    sa.ForeignKeyConstraint(['corrects_id'], ['stock_moves.id'], name=op.f('fk_stock_moves_corrects_id_stock_moves')),
    sa.ForeignKeyConstraint(['count_line_id'], ['count_lines.id'], name=op.f('fk_stock_moves_count_line_id_count_lines')),
    sa.ForeignKeyConstraint(['from_id'], ['stock_locations.id'], name=op.f('fk_stock_moves_from_id_stock_locations')),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_stock_moves_part_id_parts')),
    sa.ForeignKeyConstraint(['to_id'], ['stock_locations.id'], name=op.f('fk_stock_moves_to_id_stock_locations')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_stock_moves_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_moves')),
    sa.UniqueConstraint('corrects_id', name=op.f('uq_stock_moves_corrects_id')),
    sa.UniqueConstraint('delivery_line', name=op.f('uq_stock_moves_delivery_line'))
    )
    with op.batch_alter_table('stock_moves', schema=None) as batch_op:
        batch_op.create_index('ix_stock_moves_flows', ['seal_key', 'kind', 'store_sign', 'from_id', 'to_id', 'qty_milli', 'value_e4', 'corrects_id'], unique=False)
        batch_op.create_index('ix_stock_moves_job', ['job', 'part_id'], unique=False)
        batch_op.create_index('ix_stock_moves_seal_key', ['seal_key'], unique=False)
        batch_op.create_index('ix_stock_moves_visit', ['visit_id', 'part_id'], unique=False)
    for table, keys in LEDGERS:
        install_ledger_guard(table)
        harden_ledger_guard(table, keys)


def downgrade() -> None:
    for table, _keys in LEDGERS:
        drop_ledger_guard(table)
    with op.batch_alter_table('stock_moves', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_moves_visit')
        batch_op.drop_index('ix_stock_moves_seal_key')
        batch_op.drop_index('ix_stock_moves_job')
        batch_op.drop_index('ix_stock_moves_flows')

    op.drop_table('stock_moves')
    with op.batch_alter_table('requisition_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_requisition_lines_visit')
        batch_op.drop_index('ix_requisition_lines_open')

    op.drop_table('requisition_lines')
    with op.batch_alter_table('stock_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_snapshots_part')

    op.drop_table('stock_snapshots')
    with op.batch_alter_table('stock_balances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_balances_location_id'))

    op.drop_table('stock_balances')
    with op.batch_alter_table('count_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_count_lines_count_id'))

    op.drop_table('count_lines')
    with op.batch_alter_table('bom_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bom_lines_part_id'))

    op.drop_table('bom_lines')
    op.drop_table('stock_month_closes')
    op.drop_table('stock_counts')
    op.drop_table('parts')
    op.drop_table('suppliers')
    op.drop_table('stock_locations')
