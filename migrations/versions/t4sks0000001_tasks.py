"""task centre: tasks and their claims; payment events are payment_paid

Revision ID: t4sks0000001
Revises: 3dge00000001
Create Date: 2026-12-01 21:00:00

"""
from alembic import op
import sqlalchemy as sa

import models


revision = 't4sks0000001'
down_revision = '3dge00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('icon', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('target', sa.Integer(), nullable=False),
    sa.Column('condition', sa.JSON(), nullable=True),
    sa.Column('reward_points', sa.Integer(), nullable=False),
    sa.Column('reward_growth', sa.Integer(), nullable=False),
    sa.Column('reward_pack_id', sa.Integer(), nullable=True),
    sa.Column('tiers', sa.JSON(), nullable=True),
    sa.Column('starts_at', models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ends_at', models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('page', sa.String(length=255), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('client_reportable', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('newbie', 'daily', 'weekly', 'monthly', 'achievement')", name=op.f('ck_task_kind')),
    sa.CheckConstraint('target >= 1', name=op.f('ck_task_target')),
    sa.CheckConstraint('reward_points >= 0 AND reward_growth >= 0', name=op.f('ck_task_reward')),
    sa.ForeignKeyConstraint(['reward_pack_id'], ['coupon_pack.id'], name=op.f('fk_task_reward_pack_id_coupon_pack')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task')),
    sa.UniqueConstraint('code', name=op.f('uq_task_code'))
    )
    op.create_table('task_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('period_key', sa.String(length=16), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('business_key', sa.String(length=191), nullable=False),
    sa.Column('phone_key', sa.String(length=191), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('growth', sa.Integer(), nullable=False),
    sa.Column('coupon_codes', sa.JSON(), nullable=False),
    sa.Column('created_at', models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_task_claim_member_id_member')),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_task_claim_task_id_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_claim')),
    sa.UniqueConstraint('business_key', name=op.f('uq_task_claim_business_key')),
    sa.UniqueConstraint('phone_key', name=op.f('uq_task_claim_phone_key')),
    sa.UniqueConstraint('member_id', 'task_id', 'period_key', 'tier', name='uq_task_claim_member_task_period_tier')
    )
    with op.batch_alter_table('task_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_claim_member_id'), ['member_id'], unique=False)
    op.execute("UPDATE member_event SET type = 'payment_paid' WHERE type = 'payment'")


def downgrade():
    op.execute("UPDATE member_event SET type = 'payment' WHERE type = 'payment_paid'")
    with op.batch_alter_table('task_claim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_claim_member_id'))
    op.drop_table('task_claim')
    op.drop_table('task')
