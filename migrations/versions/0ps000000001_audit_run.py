"""audit runs

Each run of audit-ledger, so that /metrics shows the last one's result and time.

Revision ID: 0ps000000001
Revises: 1nv1t3s00001
Create Date: 2026-12-04 21:10:00

"""
from alembic import op
import sqlalchemy as sa

import models


# revision identifiers, used by Alembic.
revision = '0ps000000001'
down_revision = '1nv1t3s00001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('problems', sa.Integer(), nullable=False),
        sa.Column('accounts', sa.Integer(), nullable=False),
        sa.Column('liability_points', sa.Integer(), nullable=False),
        sa.Column('first_problems', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_run')),
    )
    op.create_index('ix_audit_run_finished_at', 'audit_run', ['finished_at'], unique=False)


def downgrade():
    op.drop_index('ix_audit_run_finished_at', table_name='audit_run')
    op.drop_table('audit_run')
