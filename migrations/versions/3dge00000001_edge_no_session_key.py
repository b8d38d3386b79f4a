"""the edge: the member's WeChat session_key is no longer kept

Revision ID: 3dge00000001
Revises: m0ney0000001
Create Date: 2026-12-01 20:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '3dge00000001'
down_revision = 'm0ney0000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('session_key')


def downgrade():
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_key', sa.String(length=128), nullable=True))
