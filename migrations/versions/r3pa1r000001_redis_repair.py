"""redis_repair: Redis writes that failed after their commit, to rebuild from SQL

Revision ID: r3pa1r000001
Revises: 1ndex0000001
Create Date: 2026-12-01 07:30:00

"""
from alembic import op
import sqlalchemy as sa

import models


revision = 'r3pa1r000001'
down_revision = '1ndex0000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('redis_repair',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redis_repair'))
    )


def downgrade():
    op.drop_table('redis_repair')
