"""ledgers of one row per thing sealed with a stream per row, not one per 50 or 1,000 rows

A parcel received writes one audit entry. In a stream of 50 its commit had to lock the
stream's head and hash up to 50 entries again (1.1 ms on PostgreSQL at the median); a
programming attempt, its result, an IC job and a firmware image hashed up to 1,000 rows of
their streams again. A row that is its own stream is new with its transaction, so its head is
written in one statement with nothing to lock, and two stations writing at once never queue
for a shared head.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""
from alembic import op

from rma.core.seals import Ledger, reseal

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# (table, its columns in table order, the stream column, the streams' size before)
LEDGERS = (
    ('audit_log', (('id', 'int'), ('at', 'ts'), ('actor_id', 'int'), ('action', 'text'), ('subject', 'text'),
                   ('details', 'json')), 'id', 50),
    ('firmware_images', (('id', 'int'), ('sha256', 'text'), ('size', 'int'), ('version', 'text'),
                         ('part_number', 'text'), ('memory', 'text'), ('chip_id', 'text'), ('base', 'int'),
                         ('filename', 'text'), ('notes', 'text'), ('added_by_id', 'int'), ('added_at', 'ts')),
     'id', 1000),
    ('ic_jobs', (('id', 'int'), ('image_id', 'int'), ('blank_part_id', 'int'), ('programmed_part_id', 'int'),
                 ('bin_id', 'int'), ('quantity', 'int'), ('note', 'text'), ('created_by_id', 'int'),
                 ('created_at', 'ts')), 'id', 1000),
    ('programming_attempts', (('id', 'int'), ('visit_id', 'int'), ('unit_id', 'int'), ('station', 'text'),
                              ('port', 'text'), ('operator_id', 'int'), ('programmer', 'text'),
                              ('programmer_serial', 'text'), ('programmer_firmware', 'text'), ('socket', 'int'),
                              ('chip_id', 'text'), ('chip_name', 'text'), ('image_id', 'int'),
                              ('image_sha256', 'text'), ('image_version', 'text'), ('base', 'int'), ('size', 'int'),
                              ('old_sha256', 'text'), ('old_version', 'text'), ('tool_version', 'text'),
                              ('started_at', 'ts')), 'id', 1000),
    ('programming_results', (('attempt_id', 'int'), ('result', 'text'), ('code', 'text'), ('reason', 'text'),
                             ('first_bad_address', 'int'), ('written', 'int'), ('verified', 'bool'),
                             ('chip_sha256', 'text'), ('seconds', 'float'), ('resent', 'int'), ('ended_at', 'ts')),
     'attempt_id', 1000),
)


def upgrade() -> None:
    for table, columns, key, _ in LEDGERS:
        reseal(op.get_bind(), Ledger(table, columns, key, None, key))


def downgrade() -> None:
    for table, columns, key, before in LEDGERS:
        reseal(op.get_bind(), Ledger(table, columns, key, before, key))
