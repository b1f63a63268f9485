"""intake: parcels, attachments, reasons, interceptions, labels

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reason_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reason_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_reason_codes_code'))
    )
    op.create_table('interceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('serial_range', 'made_range', 'firmware', name='interceptionkind', native_enum=False, length=32), nullable=False),
    sa.Column('serial_from', sa.String(length=64), nullable=True),
    sa.Column('serial_to', sa.String(length=64), nullable=True),
    sa.Column('made_from', sa.Date(), nullable=True),
    sa.Column('made_to', sa.Date(), nullable=True),
    sa.Column('firmware', sa.String(length=64), nullable=True),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_interceptions_created_by_id_users')),
    sa.ForeignKeyConstraint(['model_id'], ['product_models.id'], name=op.f('fk_interceptions_model_id_product_models')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interceptions'))
    )
    with op.batch_alter_table('interceptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interceptions_model_id'), ['model_id'], unique=False)

    op.create_table('parcels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.Enum('in', 'out', name='direction', native_enum=False, length=32), nullable=False),
    sa.Column('courier', sa.String(length=64), nullable=False),
    sa.Column('waybill', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('declared_count', sa.Integer(), nullable=True),
    sa.Column('cost', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('opened_by_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scanned_count', sa.Integer(), nullable=True),
    sa.Column('discrepancy', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_parcels_closed_by_id_users')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_parcels_customer_id_customers')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_parcels_opened_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcels')),
    sa.UniqueConstraint('courier', 'waybill', name=op.f('uq_parcels_courier'))
    )
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parcels_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_parcels_direction'), ['direction'], unique=False)
        batch_op.create_index(batch_op.f('ix_parcels_waybill'), ['waybill'], unique=False)

    op.create_table('parcel_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parcel_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_parcel_attachments_added_by_id_users')),
    sa.ForeignKeyConstraint(['parcel_id'], ['parcels.id'], name=op.f('fk_parcel_attachments_parcel_id_parcels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcel_attachments'))
    )
    with op.batch_alter_table('parcel_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parcel_attachments_parcel_id'), ['parcel_id'], unique=False)

    op.create_table('intake_records',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('parcel_id', sa.Integer(), nullable=True),
    sa.Column('reason_code', sa.String(length=32), nullable=True),
    sa.Column('warranty', sa.Enum('in', 'out', 'unknown', name='warranty', native_enum=False, length=32), nullable=False),
    sa.Column('warranty_until', sa.Date(), nullable=True),
    sa.Column('warranty_basis', sa.String(length=16), nullable=True),
    sa.Column('repeat_of_id', sa.Integer(), nullable=True),
    sa.Column('model_chosen', sa.Boolean(), nullable=False),
    sa.Column('accessories', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['parcel_id'], ['parcels.id'], name=op.f('fk_intake_records_parcel_id_parcels')),
    sa.ForeignKeyConstraint(['repeat_of_id'], ['visits.id'], name=op.f('fk_intake_records_repeat_of_id_visits')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_intake_records_visit_id_visits')),
    sa.PrimaryKeyConstraint('visit_id', name=op.f('pk_intake_records'))
    )
    with op.batch_alter_table('intake_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_records_parcel_id'), ['parcel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_records_repeat_of_id'), ['repeat_of_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_records_warranty'), ['warranty'], unique=False)

    op.create_table('label_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template', sa.String(length=32), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('parcel_id', sa.Integer(), nullable=True),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('station', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('queued', 'printed', 'failed', name='labelstatus', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('printed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['parcel_id'], ['parcels.id'], name=op.f('fk_label_jobs_parcel_id_parcels')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_label_jobs_requested_by_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_label_jobs_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_jobs'))
    )
    with op.batch_alter_table('label_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_jobs_parcel_id'), ['parcel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_label_jobs_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_label_jobs_visit_id'), ['visit_id'], unique=False)

    op.create_table('parcel_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parcel_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parcel_id'], ['parcels.id'], name=op.f('fk_parcel_items_parcel_id_parcels')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_parcel_items_unit_id_units')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_parcel_items_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcel_items'))
    )
    with op.batch_alter_table('parcel_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parcel_items_parcel_id'), ['parcel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_parcel_items_unit_id'), ['unit_id'], unique=False)

    op.create_table('visit_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('interception_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['interception_id'], ['interceptions.id'], name=op.f('fk_visit_alerts_interception_id_interceptions')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_alerts_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_alerts')),
    sa.UniqueConstraint('visit_id', 'interception_id', name=op.f('uq_visit_alerts_visit_id'))
    )
    with op.batch_alter_table('visit_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_alerts_visit_id'), ['visit_id'], unique=False)

    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shipped_to_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('firmware_version', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_units_shipped_to_id_customers'), 'customers', ['shipped_to_id'], ['id'])

    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index('uq_visits_one_open_per_unit', ['unit_id'], unique=True, sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'))



def downgrade() -> None:
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('uq_visits_one_open_per_unit', sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'))

    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_units_shipped_to_id_customers'), type_='foreignkey')
        batch_op.drop_column('firmware_version')
        batch_op.drop_column('shipped_to_id')

    with op.batch_alter_table('visit_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_alerts_visit_id'))

    op.drop_table('visit_alerts')
    with op.batch_alter_table('parcel_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parcel_items_unit_id'))
        batch_op.drop_index(batch_op.f('ix_parcel_items_parcel_id'))

    op.drop_table('parcel_items')
    with op.batch_alter_table('label_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_jobs_visit_id'))
        batch_op.drop_index(batch_op.f('ix_label_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_label_jobs_parcel_id'))

    op.drop_table('label_jobs')
    with op.batch_alter_table('intake_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_records_warranty'))
        batch_op.drop_index(batch_op.f('ix_intake_records_repeat_of_id'))
        batch_op.drop_index(batch_op.f('ix_intake_records_parcel_id'))

    op.drop_table('intake_records')
    with op.batch_alter_table('parcel_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parcel_attachments_parcel_id'))

    op.drop_table('parcel_attachments')
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parcels_waybill'))
        batch_op.drop_index(batch_op.f('ix_parcels_direction'))
        batch_op.drop_index(batch_op.f('ix_parcels_customer_id'))

    op.drop_table('parcels')
    with op.batch_alter_table('interceptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interceptions_model_id'))

    op.drop_table('interceptions')
    op.drop_table('reason_codes')
