"""a visit's findings in id order: the findings' seals read from their visit index with no sort,
in ranges that rma check's workers share, and the bench's decisions judged from the index alone

Revision 0014 widened the index on bench_findings.visit_id with sign and nff, so that it no
longer gave a visit's findings in id order: rma check then sorted the whole ledger for its seals
in one piece. Led by the visit and the id, it gives them in the order their stream is sealed in
again; with the time found, the returns pass reads when a visit was first found from it alone.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

BEFORE = ['visit_id', 'sign', 'nff']
AFTER = ['visit_id', 'id', 'sign', 'nff', 'at']


def _rebuild(columns: list[str]) -> None:
    op.drop_index('ix_bench_findings_visit_id', table_name='bench_findings')
    op.create_index('ix_bench_findings_visit_id', 'bench_findings', columns, unique=False)


def upgrade() -> None:
    _rebuild(AFTER)


def downgrade() -> None:
    _rebuild(BEFORE)
