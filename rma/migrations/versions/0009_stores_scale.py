"""stores at scale: the parts ledger's seal-key CHECK in 64-bit arithmetic on PostgreSQL

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

``seal_key = part_id * 1000000 + month`` multiplies two 32-bit integers on PostgreSQL, which
overflows from part id 2,148 on: no move of such a part could be booked. The CHECK is made
again with ``part_id`` cast to BIGINT. (SQLite's integers are 64-bit: nothing to do there.)
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

NAME = 'ck_stock_moves_seal_key'


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE stock_moves DROP CONSTRAINT {NAME}')
        op.execute(f'ALTER TABLE stock_moves ADD CONSTRAINT {NAME} '
                   'CHECK (seal_key = CAST(part_id AS BIGINT) * 1000000 + month)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE stock_moves DROP CONSTRAINT {NAME}')
        op.execute(f'ALTER TABLE stock_moves ADD CONSTRAINT {NAME} CHECK (seal_key = part_id * 1000000 + month)')
