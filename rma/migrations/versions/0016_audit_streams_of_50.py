"""audit log sealed in streams of 50 entries instead of 1,000

Every commit that adds an audit entry (a parcel received, a user or catalogue change, an
import) rewrites its stream's head from the stream's rows: with 1,000 entries to a stream that
was up to 1,000 rows hashed again for one parcel scan (3 ms at the median).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""
from alembic import op

from rma.core.seals import Ledger, reseal

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

COLUMNS = (('id', 'int'), ('at', 'ts'), ('actor_id', 'int'), ('action', 'text'), ('subject', 'text'),
           ('details', 'json'))


def upgrade() -> None:
    reseal(op.get_bind(), Ledger('audit_log', COLUMNS, 'id', 50, 'id'))


def downgrade() -> None:
    reseal(op.get_bind(), Ledger('audit_log', COLUMNS, 'id', 1000, 'id'))
