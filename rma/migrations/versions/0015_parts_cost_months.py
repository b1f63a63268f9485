"""parts cost per repaired unit of past months, kept (recomputed when a later row concerns them)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'parts_cost_months',
        sa.Column('month', sa.Integer(), nullable=False),
        sa.Column('rows', sa.JSON(), nullable=False),
        sa.Column('moves_upto', sa.BigInteger(), nullable=False),
        sa.Column('ledger_upto', sa.BigInteger(), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('month', name=op.f('pk_parts_cost_months')),
    )


def downgrade() -> None:
    op.drop_table('parts_cost_months')
