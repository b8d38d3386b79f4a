"""bill_reconciliation: each day of WeChat Pay's trade bill matched against our payments and refunds

Revision ID: b1ll00000001
Revises: 1d3mp0t3nt01
Create Date: 2026-12-04 06:00:00

"""
from alembic import op
import sqlalchemy as sa

import models


revision = 'b1ll00000001'
down_revision = '1d3mp0t3nt01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bill_reconciliation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bill_date', sa.Date(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('mended', sa.Integer(), nullable=False),
    sa.Column('attention', sa.Integer(), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.Column('first_run_at', models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_run_at', models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("outcome IN ('no_bill', 'reconciled', 'attention')", name=op.f('ck_bill_reconciliation_outcome')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bill_reconciliation')),
    sa.UniqueConstraint('bill_date', name=op.f('uq_bill_reconciliation_bill_date'))
    )


def downgrade():
    op.drop_table('bill_reconciliation')
