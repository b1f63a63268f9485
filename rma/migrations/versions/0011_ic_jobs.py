"""programming: IC batch jobs (jobs, their attempts, socket events; job locks)

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from rma.migrations.ledger_guard import (
    drop_ledger_guard,
    harden_ledger_guard,
    install_ledger_guard,
)

# The append-only ledgers of this revision, with their primary and unique keys.
LEDGERS = (
    ('ic_jobs', [['id']]),
    ('ic_job_attempts', [['attempt_id']]),
    ('ic_job_events', [['id']]),
)

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ic_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('blank_part_id', sa.Integer(), nullable=False),
    sa.Column('programmed_part_id', sa.Integer(), nullable=False),
    sa.Column('bin_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bin_id'], ['stock_locations.id'], name=op.f('fk_ic_jobs_bin_id_stock_locations')),
    sa.ForeignKeyConstraint(['blank_part_id'], ['parts.id'], name=op.f('fk_ic_jobs_blank_part_id_parts')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_ic_jobs_created_by_id_users')),
    sa.ForeignKeyConstraint(['image_id'], ['firmware_images.id'], name=op.f('fk_ic_jobs_image_id_firmware_images')),
    sa.ForeignKeyConstraint(['programmed_part_id'], ['parts.id'], name=op.f('fk_ic_jobs_programmed_part_id_parts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ic_jobs'))
    )
    with op.batch_alter_table('ic_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ic_jobs_blank_part_id'), ['blank_part_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ic_jobs_image_id'), ['image_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ic_jobs_programmed_part_id'), ['programmed_part_id'], unique=False)

    op.create_table('ic_job_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('socket_off', 'socket_on', name='jobeventkind', native_enum=False, length=32), nullable=False),
    sa.Column('socket', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('by_system', sa.Boolean(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_ic_job_events_actor_id_users')),
    sa.ForeignKeyConstraint(['job_id'], ['ic_jobs.id'], name=op.f('fk_ic_job_events_job_id_ic_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ic_job_events'))
    )
    with op.batch_alter_table('ic_job_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ic_job_events_job_id'), ['job_id'], unique=False)

    op.create_table('ic_job_locks',
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('station', sa.String(length=64), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['ic_jobs.id'], name=op.f('fk_ic_job_locks_job_id_ic_jobs')),
    sa.ForeignKeyConstraint(['operator_id'], ['users.id'], name=op.f('fk_ic_job_locks_operator_id_users')),
    sa.PrimaryKeyConstraint('job_id', name=op.f('pk_ic_job_locks'))
    )
    op.create_table('ic_job_attempts',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['programming_attempts.id'], name=op.f('fk_ic_job_attempts_attempt_id_programming_attempts')),
    sa.ForeignKeyConstraint(['job_id'], ['ic_jobs.id'], name=op.f('fk_ic_job_attempts_job_id_ic_jobs')),
    sa.PrimaryKeyConstraint('attempt_id', name=op.f('pk_ic_job_attempts'))
    )
    with op.batch_alter_table('ic_job_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ic_job_attempts_job_id'), ['job_id'], unique=False)
    for table, keys in LEDGERS:
        install_ledger_guard(table)
        harden_ledger_guard(table, keys)


def downgrade() -> None:
    for table, _keys in LEDGERS:
        drop_ledger_guard(table)
    with op.batch_alter_table('ic_job_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ic_job_attempts_job_id'))

    op.drop_table('ic_job_attempts')
    op.drop_table('ic_job_locks')
    with op.batch_alter_table('ic_job_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ic_job_events_job_id'))

    op.drop_table('ic_job_events')
    with op.batch_alter_table('ic_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ic_jobs_programmed_part_id'))
        batch_op.drop_index(batch_op.f('ix_ic_jobs_image_id'))
        batch_op.drop_index(batch_op.f('ix_ic_jobs_blank_part_id'))

    op.drop_table('ic_jobs')
