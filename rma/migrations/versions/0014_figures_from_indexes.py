"""figures read from indexes: a month's departures with their arrival and unit, a month's parcels
with their courier and cost, a visit's findings with their sign

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# (table, index, columns before, columns after): each index keeps its name and its leading columns
INDEXES = (
    ('visits', 'ix_visits_closed_at', ['closed_at', 'state'], ['closed_at', 'state', 'opened_at', 'unit_id']),
    ('parcels', 'ix_parcels_opened_at', ['opened_at'], ['opened_at', 'courier', 'direction', 'cost']),
    ('bench_findings', 'ix_bench_findings_visit_id', ['visit_id'], ['visit_id', 'sign', 'nff']),
)


def _rebuild(after: bool) -> None:
    for table, name, before, later in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, later if after else before, unique=False)


def upgrade() -> None:
    _rebuild(after=True)


def downgrade() -> None:
    _rebuild(after=False)
