"""figures: indexes for the dashboard's and the monthly report's windows of time

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# (table, index, columns): each figure reads one month (or a year) of one of these times.
INDEXES = (
    ('visits', 'ix_visits_closed_at', ['closed_at', 'state']),  # left the depot in the window; still open
    ('test_runs', 'ix_test_runs_started_at', ['started_at']),  # first-pass yield, re-tests
    ('bench_findings', 'ix_bench_findings_at',  # the fault Pareto, from the index alone
     ['at', 'model_id', 'visit_id', 'sign', 'nff', 'symptom_code', 'defect_code', 'designator']),
    ('bench_labour', 'ix_bench_labour_started_at', ['started_at']),  # labour hours
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
