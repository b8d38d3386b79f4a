"""points lottery: lotteries, prizes, draws

Revision ID: l0tt3ry00001
Revises: t4sks0000001
Create Date: 2026-12-01 22:00:00

"""
from alembic import op
import sqlalchemy as sa

import models


revision = 'l0tt3ry00001'
down_revision = 't4sks0000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lottery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('cost_points', sa.Integer(), nullable=False),
    sa.Column('daily_limit', sa.Integer(), nullable=False),
    sa.Column('starts_at', models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ends_at', models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('cost_points > 0', name=op.f('ck_lottery_cost')),
    sa.CheckConstraint('daily_limit > 0', name=op.f('ck_lottery_limit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lottery'))
    )
    op.create_table('lottery_prize',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lottery_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('coupon_template_id', sa.Integer(), nullable=True),
    sa.Column('coupon_pack_id', sa.Integer(), nullable=True),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('drawn', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('points', 'coupon', 'none')", name=op.f('ck_lottery_prize_kind')),
    sa.CheckConstraint('weight > 0', name=op.f('ck_lottery_prize_weight')),
    sa.CheckConstraint('stock IS NULL OR stock >= 0', name=op.f('ck_lottery_prize_stock')),
    sa.CheckConstraint('points >= 0', name=op.f('ck_lottery_prize_points')),
    sa.ForeignKeyConstraint(['coupon_pack_id'], ['coupon_pack.id'], name=op.f('fk_lottery_prize_coupon_pack_id_coupon_pack')),
    sa.ForeignKeyConstraint(['coupon_template_id'], ['coupon_template.id'], name=op.f('fk_lottery_prize_coupon_template_id_coupon_template')),
    sa.ForeignKeyConstraint(['lottery_id'], ['lottery.id'], name=op.f('fk_lottery_prize_lottery_id_lottery')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lottery_prize'))
    )
    with op.batch_alter_table('lottery_prize', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lottery_prize_lottery_id'), ['lottery_id'], unique=False)
    op.create_table('lottery_draw',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lottery_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('prize_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('points_spent', sa.Integer(), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('coupon_codes', sa.JSON(), nullable=False),
    sa.Column('business_key', sa.String(length=191), nullable=False),
    sa.Column('created_at', models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lottery_id'], ['lottery.id'], name=op.f('fk_lottery_draw_lottery_id_lottery')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_lottery_draw_member_id_member')),
    sa.ForeignKeyConstraint(['prize_id'], ['lottery_prize.id'], name=op.f('fk_lottery_draw_prize_id_lottery_prize')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lottery_draw')),
    sa.UniqueConstraint('business_key', name=op.f('uq_lottery_draw_business_key'))
    )
    with op.batch_alter_table('lottery_draw', schema=None) as batch_op:
        batch_op.create_index('ix_lottery_draw_member_day', ['lottery_id', 'member_id', 'day'], unique=False)


def downgrade():
    op.drop_table('lottery_draw')
    op.drop_table('lottery_prize')
    op.drop_table('lottery')
