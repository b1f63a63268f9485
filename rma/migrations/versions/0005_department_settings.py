"""department settings: one value per department, changed by the supervisor or admin;
the returns ledger's visits and the courier parcels by date, open parcels

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('department_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_department_settings_changed_by_id_users')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_department_settings'))
    )
    op.create_index('ix_visits_opened_at', 'visits', ['opened_at'], unique=False)
    op.create_index('ix_parcels_opened_at', 'parcels', ['opened_at'], unique=False)
    op.create_index('ix_parcels_direction_closed_at', 'parcels', ['direction', 'closed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_parcels_direction_closed_at', table_name='parcels')
    op.drop_index('ix_parcels_opened_at', table_name='parcels')
    op.drop_index('ix_visits_opened_at', table_name='visits')
    op.drop_table('department_settings')
