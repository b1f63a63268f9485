"""test station: plans, runs, steps, run ends, locks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

from rma.migrations.ledger_guard import drop_ledger_guard, install_ledger_guard

LEDGERS = ('test_plans', 'test_runs', 'test_steps', 'test_run_ends')


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('test_plans',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('first_used_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_test_plans'))
    )
    op.create_table('test_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('incoming', 'outgoing', name='runkind', native_enum=False, length=32), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('station', sa.String(length=64), nullable=False),
    sa.Column('port', sa.String(length=300), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('plan_sha256', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=32), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['users.id'], name=op.f('fk_test_runs_operator_id_users')),
    sa.ForeignKeyConstraint(['plan_sha256'], ['test_plans.sha256'], name=op.f('fk_test_runs_plan_sha256_test_plans')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_test_runs_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_test_runs')),
    sa.UniqueConstraint('visit_id', 'kind', 'attempt', name=op.f('uq_test_runs_visit_id'))
    )
    with op.batch_alter_table('test_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_test_runs_model'), ['model'], unique=False)
        batch_op.create_index(batch_op.f('ix_test_runs_station'), ['station'], unique=False)
        batch_op.create_index(batch_op.f('ix_test_runs_visit_id'), ['visit_id'], unique=False)

    op.create_table('test_locks',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('station', sa.String(length=64), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['users.id'], name=op.f('fk_test_locks_operator_id_users')),
    sa.ForeignKeyConstraint(['run_id'], ['test_runs.id'], name=op.f('fk_test_locks_run_id_test_runs')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_test_locks_visit_id_visits')),
    sa.PrimaryKeyConstraint('visit_id', name=op.f('pk_test_locks'))
    )
    op.create_table('test_run_ends',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Enum('pass', 'fail', 'error', 'aborted', name='outcome', native_enum=False, length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('fixture', sa.String(length=200), nullable=True),
    sa.Column('failed_steps', sa.JSON(), nullable=False),
    sa.Column('checklist', sa.JSON(), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['test_runs.id'], name=op.f('fk_test_run_ends_run_id_test_runs')),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_test_run_ends'))
    )
    with op.batch_alter_table('test_run_ends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_test_run_ends_outcome'), ['outcome'], unique=False)

    op.create_table('test_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.String(length=48), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('command', sa.String(length=200), nullable=True),
    sa.Column('limits', sa.JSON(), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('numeric', sa.Float(), nullable=True),
    sa.Column('verdict', sa.Enum('pass', 'fail', 'error', name='verdict', native_enum=False, length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('elapsed_ms', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['test_runs.id'], name=op.f('fk_test_steps_run_id_test_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_test_steps')),
    sa.UniqueConstraint('run_id', 'seq', name=op.f('uq_test_steps_run_id'))
    )
    with op.batch_alter_table('test_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_test_steps_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_test_steps_step_id'), ['step_id'], unique=False)
    for table in LEDGERS:
        install_ledger_guard(table)


def downgrade() -> None:
    for table in LEDGERS:
        drop_ledger_guard(table)
    with op.batch_alter_table('test_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_test_steps_step_id'))
        batch_op.drop_index(batch_op.f('ix_test_steps_run_id'))

    op.drop_table('test_steps')
    with op.batch_alter_table('test_run_ends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_test_run_ends_outcome'))

    op.drop_table('test_run_ends')
    op.drop_table('test_locks')
    with op.batch_alter_table('test_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_test_runs_visit_id'))
        batch_op.drop_index(batch_op.f('ix_test_runs_station'))
        batch_op.drop_index(batch_op.f('ix_test_runs_model'))

    op.drop_table('test_runs')
    op.drop_table('test_plans')
