"""stores at scale: the seal-key CHECK in 64-bit on PostgreSQL; the holdings index

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

``seal_key = part_id * 1000000 + month`` multiplies two 32-bit integers on PostgreSQL, which
overflows from part id 2,148 on: no move of such a part could be booked. The CHECK is made
again with ``part_id`` cast to BIGINT. (SQLite's integers are 64-bit: nothing to do there.)

``ix_stock_moves_holdings`` (visit, part, id, from, to, quantity, value) replaces
``ix_stock_moves_visit`` (visit, part): what a tag holds of a part (``rma check``'s running sum
per tag and part in id order, the issue and fit services, a tag's parts) is read from the
index alone, in its order, instead of one table row per move.
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

NAME = 'ck_stock_moves_seal_key'
HOLDINGS = ['visit_id', 'part_id', 'id', 'from_id', 'to_id', 'qty_milli', 'value_e4']


def upgrade() -> None:
    with op.batch_alter_table('stock_moves', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_moves_visit')
        batch_op.create_index('ix_stock_moves_holdings', HOLDINGS, unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE stock_moves DROP CONSTRAINT {NAME}')
        op.execute(f'ALTER TABLE stock_moves ADD CONSTRAINT {NAME} '
                   'CHECK (seal_key = CAST(part_id AS BIGINT) * 1000000 + month)')


def downgrade() -> None:
    with op.batch_alter_table('stock_moves', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_moves_holdings')
        batch_op.create_index('ix_stock_moves_visit', ['visit_id', 'part_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE stock_moves DROP CONSTRAINT {NAME}')
        op.execute(f'ALTER TABLE stock_moves ADD CONSTRAINT {NAME} CHECK (seal_key = part_id * 1000000 + month)')
