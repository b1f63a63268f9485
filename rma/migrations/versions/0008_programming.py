"""programming: firmware registry, programming ledger, locks

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

from rma.migrations.ledger_guard import drop_ledger_guard, harden_ledger_guard, install_ledger_guard

# The append-only ledgers of this revision, with their primary and unique keys.
LEDGERS = (
    ('firmware_images', [['id'], ['sha256']]),
    ('firmware_image_models', [['id'], ['image_id', 'model_id']]),
    ('firmware_events', [['id']]),
    ('programming_attempts', [['id']]),
    ('programming_blocks', [['id'], ['attempt_id', 'seq']]),
    ('programming_results', [['attempt_id']]),
)

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('firmware_images',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('part_number', sa.String(length=64), nullable=True),
    sa.Column('memory', sa.String(length=32), nullable=False),
    sa.Column('chip_id', sa.String(length=32), nullable=False),
    sa.Column('base', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('added_by_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_firmware_images_added_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_firmware_images')),
    sa.UniqueConstraint('sha256', name=op.f('uq_firmware_images_sha256'))
    )
    with op.batch_alter_table('firmware_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_firmware_images_part_number'), ['part_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_firmware_images_version'), ['version'], unique=False)

    op.create_table('firmware_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.Enum('released', 'retired', 'made_current', name='firmwareeventkind', native_enum=False, length=32), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_firmware_events_actor_id_users')),
    sa.ForeignKeyConstraint(['image_id'], ['firmware_images.id'], name=op.f('fk_firmware_events_image_id_firmware_images')),
    sa.ForeignKeyConstraint(['model_id'], ['product_models.id'], name=op.f('fk_firmware_events_model_id_product_models')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_firmware_events'))
    )
    with op.batch_alter_table('firmware_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_firmware_events_image_id'), ['image_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_firmware_events_model_id'), ['model_id'], unique=False)

    op.create_table('firmware_image_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['firmware_images.id'], name=op.f('fk_firmware_image_models_image_id_firmware_images')),
    sa.ForeignKeyConstraint(['model_id'], ['product_models.id'], name=op.f('fk_firmware_image_models_model_id_product_models')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_firmware_image_models')),
    sa.UniqueConstraint('image_id', 'model_id', name=op.f('uq_firmware_image_models_image_id'))
    )
    with op.batch_alter_table('firmware_image_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_firmware_image_models_image_id'), ['image_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_firmware_image_models_model_id'), ['model_id'], unique=False)

    op.create_table('programming_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('station', sa.String(length=64), nullable=False),
    sa.Column('port', sa.String(length=300), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('programmer', sa.String(length=64), nullable=True),
    sa.Column('programmer_serial', sa.String(length=64), nullable=True),
    sa.Column('programmer_firmware', sa.String(length=64), nullable=True),
    sa.Column('socket', sa.Integer(), nullable=False),
    sa.Column('chip_id', sa.String(length=32), nullable=True),
    sa.Column('chip_name', sa.String(length=32), nullable=True),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('image_sha256', sa.String(length=64), nullable=False),
    sa.Column('image_version', sa.String(length=64), nullable=False),
    sa.Column('base', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('old_sha256', sa.String(length=64), nullable=True),
    sa.Column('old_version', sa.String(length=64), nullable=True),
    sa.Column('tool_version', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['firmware_images.id'], name=op.f('fk_programming_attempts_image_id_firmware_images')),
    sa.ForeignKeyConstraint(['operator_id'], ['users.id'], name=op.f('fk_programming_attempts_operator_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_programming_attempts_unit_id_units')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_programming_attempts_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programming_attempts'))
    )
    with op.batch_alter_table('programming_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programming_attempts_image_id'), ['image_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_programming_attempts_station'), ['station'], unique=False)
        batch_op.create_index(batch_op.f('ix_programming_attempts_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_programming_attempts_visit_id'), ['visit_id'], unique=False)

    op.create_table('programming_blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['programming_attempts.id'], name=op.f('fk_programming_blocks_attempt_id_programming_attempts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programming_blocks')),
    sa.UniqueConstraint('attempt_id', 'seq', name=op.f('uq_programming_blocks_attempt_id'))
    )
    with op.batch_alter_table('programming_blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programming_blocks_attempt_id'), ['attempt_id'], unique=False)

    op.create_table('programming_locks',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=True),
    sa.Column('station', sa.String(length=64), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['programming_attempts.id'], name=op.f('fk_programming_locks_attempt_id_programming_attempts')),
    sa.ForeignKeyConstraint(['operator_id'], ['users.id'], name=op.f('fk_programming_locks_operator_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_programming_locks_visit_id_visits')),
    sa.PrimaryKeyConstraint('visit_id', name=op.f('pk_programming_locks'))
    )
    op.create_table('programming_results',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('result', sa.Enum('ok', 'failed', 'error', 'aborted', 'abandoned', name='attemptresult', native_enum=False, length=32), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('first_bad_address', sa.Integer(), nullable=True),
    sa.Column('written', sa.Integer(), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('chip_sha256', sa.String(length=64), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('resent', sa.Integer(), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['programming_attempts.id'], name=op.f('fk_programming_results_attempt_id_programming_attempts')),
    sa.PrimaryKeyConstraint('attempt_id', name=op.f('pk_programming_results'))
    )
    with op.batch_alter_table('programming_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programming_results_result'), ['result'], unique=False)
    for table, keys in LEDGERS:
        install_ledger_guard(table)
        harden_ledger_guard(table, keys)


def downgrade() -> None:
    for table, _keys in LEDGERS:
        drop_ledger_guard(table)
    with op.batch_alter_table('programming_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programming_results_result'))

    op.drop_table('programming_results')
    op.drop_table('programming_locks')
    with op.batch_alter_table('programming_blocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programming_blocks_attempt_id'))

    op.drop_table('programming_blocks')
    with op.batch_alter_table('programming_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programming_attempts_visit_id'))
        batch_op.drop_index(batch_op.f('ix_programming_attempts_unit_id'))
        batch_op.drop_index(batch_op.f('ix_programming_attempts_station'))
        batch_op.drop_index(batch_op.f('ix_programming_attempts_image_id'))

    op.drop_table('programming_attempts')
    with op.batch_alter_table('firmware_image_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_firmware_image_models_model_id'))
        batch_op.drop_index(batch_op.f('ix_firmware_image_models_image_id'))

    op.drop_table('firmware_image_models')
    with op.batch_alter_table('firmware_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_firmware_events_model_id'))
        batch_op.drop_index(batch_op.f('ix_firmware_events_image_id'))

    op.drop_table('firmware_events')
    with op.batch_alter_table('firmware_images', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_firmware_images_version'))
        batch_op.drop_index(batch_op.f('ix_firmware_images_part_number'))

    op.drop_table('firmware_images')
