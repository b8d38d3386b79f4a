"""invitations

Invitation rule versions, each invitation and the refusals counted per day and reason; coupons gain the
`invite` source; the daily figures gain invitations, qualified and rewarded.

Revision ID: 1nv1t3s00001
Revises: st4ts0000001
Create Date: 2026-12-04 15:30:00

"""
from alembic import op
import sqlalchemy as sa

import models


# revision identifiers, used by Alembic.
revision = '1nv1t3s00001'
down_revision = 'st4ts0000001'
branch_labels = None
depends_on = None

SOURCES = ('payment', 'signin', 'task', 'mall', 'levelup', 'birthday', 'operator')
STEPS = "step IN ('phone', 'signin', 'payment')"
STATUSES = "status IN ('joined', 'qualified', 'rewarded', 'reversed', 'refused', 'expired')"
FIGURES = ('invitations', 'invitations_qualified', 'invitations_rewarded')
REASONS = ("reason IN ('unknown_code', 'self', 'existing_member', 'inviter_frozen', 'cycle', 'rate_limited',"
           " 'phone_seen', 'daily_cap', 'monthly_cap', 'inviter_frozen_at_reward')")


def _sources(values):
    return "source IN (" + ", ".join(repr(value) for value in values) + ")"


def upgrade():
    op.create_table(
        'invite_rule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('step', sa.String(length=16), nullable=False),
        sa.Column('min_payment_fen', sa.Integer(), nullable=False),
        sa.Column('inviter_points', sa.Integer(), nullable=False),
        sa.Column('inviter_growth', sa.Integer(), nullable=False),
        sa.Column('inviter_pack_id', sa.Integer(), nullable=True),
        sa.Column('friend_points', sa.Integer(), nullable=False),
        sa.Column('friend_growth', sa.Integer(), nullable=False),
        sa.Column('friend_pack_id', sa.Integer(), nullable=True),
        sa.Column('daily_cap', sa.Integer(), nullable=False),
        sa.Column('monthly_cap', sa.Integer(), nullable=False),
        sa.Column('window_days', sa.Integer(), nullable=False),
        sa.Column('joins_per_address', sa.Integer(), nullable=False),
        sa.Column('replaces_id', sa.Integer(), nullable=True),
        sa.Column('operator_id', sa.Integer(), nullable=True),
        sa.Column('created_at', models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(STEPS, name=op.f('ck_invite_rule_step')),
        sa.CheckConstraint('window_days BETWEEN 1 AND 365', name=op.f('ck_invite_rule_window_days')),
        sa.CheckConstraint('daily_cap >= 0 AND monthly_cap >= 0 AND min_payment_fen >= 0',
                           name=op.f('ck_invite_rule_limits')),
        sa.ForeignKeyConstraint(['friend_pack_id'], ['coupon_pack.id'],
                                name=op.f('fk_invite_rule_friend_pack_id_coupon_pack')),
        sa.ForeignKeyConstraint(['inviter_pack_id'], ['coupon_pack.id'],
                                name=op.f('fk_invite_rule_inviter_pack_id_coupon_pack')),
        sa.ForeignKeyConstraint(['operator_id'], ['operator.id'], name=op.f('fk_invite_rule_operator_id_operator')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invite_rule')),
    )
    op.create_table(
        'invitation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('inviter_id', sa.Integer(), nullable=False),
        sa.Column('invitee_id', sa.Integer(), nullable=False),
        sa.Column('rule_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('refusal', sa.String(length=32), nullable=True),
        sa.Column('joined_at', models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('qualified_at', models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('qualified_ref', sa.String(length=64), nullable=True),
        sa.Column('reversible_until', models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('friend_points', sa.Integer(), nullable=False),
        sa.Column('friend_growth', sa.Integer(), nullable=False),
        sa.Column('friend_coupons', sa.Integer(), nullable=False),
        sa.Column('inviter_points', sa.Integer(), nullable=False),
        sa.Column('inviter_growth', sa.Integer(), nullable=False),
        sa.Column('inviter_coupons', sa.Integer(), nullable=False),
        sa.Column('rewarded_at', models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('reward_day', sa.Date(), nullable=True),
        sa.Column('reward_month', sa.String(length=8), nullable=True),
        sa.Column('reversed_at', models.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(STATUSES, name=op.f('ck_invitation_status')),
        sa.CheckConstraint('inviter_id <> invitee_id', name=op.f('ck_invitation_not_self')),
        sa.ForeignKeyConstraint(['invitee_id'], ['member.id'], name=op.f('fk_invitation_invitee_id_member')),
        sa.ForeignKeyConstraint(['inviter_id'], ['member.id'], name=op.f('fk_invitation_inviter_id_member')),
        sa.ForeignKeyConstraint(['rule_id'], ['invite_rule.id'], name=op.f('fk_invitation_rule_id_invite_rule')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
        sa.UniqueConstraint('invitee_id', name=op.f('uq_invitation_invitee_id')),
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index('ix_invitation_inviter', ['inviter_id', 'id'], unique=False)
        batch_op.create_index('ix_invitation_inviter_reward_day', ['inviter_id', 'reward_day'], unique=False)
        batch_op.create_index('ix_invitation_status_expires', ['status', 'expires_at'], unique=False)
        batch_op.create_index('ix_invitation_joined_at', ['joined_at'], unique=False)
        batch_op.create_index('ix_invitation_qualified_at', ['qualified_at'], unique=False)
        batch_op.create_index('ix_invitation_rewarded_at', ['rewarded_at'], unique=False)
    op.create_table(
        'invite_refusal',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('slot', sa.String(length=48), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.CheckConstraint(REASONS, name=op.f('ck_invite_refusal_reason')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invite_refusal')),
        sa.UniqueConstraint('slot', name=op.f('uq_invite_refusal_slot')),
    )
    _coupon_sources(SOURCES + ('invite',))
    with op.batch_alter_table('daily_figures', schema=None) as batch_op:
        for column in FIGURES:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_check_constraint('invitations', ' AND '.join(f'{column} >= 0' for column in FIGURES))
    with op.batch_alter_table('daily_figures', schema=None) as batch_op:
        for column in FIGURES:
            batch_op.alter_column(column, server_default=None)


def downgrade():
    with op.batch_alter_table('daily_figures', schema=None) as batch_op:
        batch_op.drop_constraint('invitations', type_='check')
        for column in reversed(FIGURES):
            batch_op.drop_column(column)
    op.execute("UPDATE coupon SET source = 'operator' WHERE source = 'invite'")
    op.execute("UPDATE coupon_issue SET source = 'operator' WHERE source = 'invite'")
    _coupon_sources(SOURCES)
    op.drop_table('invite_refusal')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        for name in ('ix_invitation_rewarded_at', 'ix_invitation_qualified_at', 'ix_invitation_joined_at',
                     'ix_invitation_status_expires', 'ix_invitation_inviter_reward_day', 'ix_invitation_inviter'):
            batch_op.drop_index(name)
    op.drop_table('invitation')
    op.drop_table('invite_rule')


def _coupon_sources(values):
    for table in ('coupon_issue', 'coupon'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint('source', type_='check')
            batch_op.create_check_constraint('source', _sources(values))
