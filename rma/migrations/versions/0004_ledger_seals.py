"""ledger seals: heads per stream, guards that fire for every session, REPLACE refused

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

from rma.core.seals import Ledger, reseal
from rma.migrations.ledger_guard import harden_ledger_guard, soften_ledger_guard

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# The ledgers as they are at this revision (a later column change reseals in its own revision).
LEDGERS = (
    (Ledger('returns_ledger', (('id', 'int'), ('visit_id', 'int'), ('at', 'ts'), ('actor_id', 'int'),
                               ('event', 'text'), ('from_state', 'text'), ('to_state', 'text'),
                               ('details', 'json'), ('corrects_id', 'int')), 'visit_id', None, 'id'),
     [['id']]),
    (Ledger('audit_log', (('id', 'int'), ('at', 'ts'), ('actor_id', 'int'), ('action', 'text'),
                          ('subject', 'text'), ('details', 'json')), 'id', 1000, 'id'),
     [['id']]),
    (Ledger('test_plans', (('sha256', 'text'), ('model', 'text'), ('name', 'text'), ('version', 'int'),
                           ('source', 'text'), ('text', 'text'), ('first_used_at', 'ts')), 'sha256', None, 'sha256'),
     [['sha256']]),
    (Ledger('test_runs', (('id', 'int'), ('visit_id', 'int'), ('kind', 'text'), ('attempt', 'int'),
                          ('station', 'text'), ('port', 'text'), ('operator_id', 'int'), ('plan_sha256', 'text'),
                          ('model', 'text'), ('started_at', 'ts')), 'visit_id', None, 'id'),
     [['id'], ['visit_id', 'kind', 'attempt']]),
    (Ledger('test_steps', (('id', 'int'), ('run_id', 'int'), ('seq', 'int'), ('step_id', 'text'), ('name', 'text'),
                           ('kind', 'text'), ('command', 'text'), ('limits', 'json'), ('value', 'text'),
                           ('numeric', 'float'), ('verdict', 'text'), ('message', 'text'), ('raw', 'text'),
                           ('attempts', 'int'), ('at', 'ts'), ('elapsed_ms', 'float')), 'run_id', None, 'id'),
     [['id'], ['run_id', 'seq']]),
    (Ledger('test_run_ends', (('run_id', 'int'), ('outcome', 'text'), ('reason', 'text'), ('fixture', 'text'),
                              ('failed_steps', 'json'), ('checklist', 'json'), ('ended_at', 'ts')),
            'run_id', None, 'run_id'),
     [['run_id']]),
)


def upgrade() -> None:
    op.create_table('ledger_heads',
    sa.Column('ledger', sa.String(length=32), nullable=False),
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('ledger', 'stream', name=op.f('pk_ledger_heads'))
    )
    for ledger, keys in LEDGERS:
        harden_ledger_guard(ledger.table, keys)
        reseal(op.get_bind(), ledger)  # the rows already there are sealed as they are now


def downgrade() -> None:
    for ledger, _keys in LEDGERS:
        soften_ledger_guard(ledger.table)
    op.drop_table('ledger_heads')
