"""the returns ledger filtered by state or customer, newest first, read in index order

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

INDEXES = (
    ('visits', 'ix_visits_state_opened', ['state', 'opened_at', 'id']),
    ('visits', 'ix_visits_customer_opened', ['customer_id', 'opened_at', 'id']),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
