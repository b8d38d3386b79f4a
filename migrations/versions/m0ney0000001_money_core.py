"""money core: payment reward status and attention, refund sending and backoff, idempotency leases

Revision ID: m0ney0000001
Revises: r3pa1r000001
Create Date: 2026-12-01 19:00:00

"""
from alembic import op
import sqlalchemy as sa

import models


revision = 'm0ney0000001'
down_revision = 'r3pa1r000001'
branch_labels = None
depends_on = None

REWARD_STATUSES = "('due', 'rewarded', 'withheld', 'retrying', 'none')"
# lifetime counters net of reversals (reversing an earn or a spend left them unchanged before)
MOVED = """COALESCE((SELECT SUM({sign} e.delta) FROM points_entry e LEFT JOIN points_entry o ON o.id = e.reverses_id
 WHERE e.member_id = points_account.member_id AND (e.kind = '{kind}' OR (e.kind = 'reverse' AND o.kind = '{kind}'))), 0)"""


def upgrade():
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reward_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('reward_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('reward_retry_at', models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reward_error', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('attention', sa.String(length=255), nullable=True))
        batch_op.create_check_constraint(
            'reward_status', f"reward_status IS NULL OR reward_status IN {REWARD_STATUSES}")
        batch_op.create_index('ix_payment_reward_status', ['reward_status'], unique=False)
    op.execute("UPDATE payment SET reward_status = CASE WHEN paid_after_close THEN 'none' "
               "WHEN rewarded_at IS NOT NULL THEN 'rewarded' ELSE 'due' END "
               "WHERE status IN ('paid', 'partially_refunded', 'refunded')")
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submitted_at', models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('retry_at', models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('failure_reason', sa.String(length=64), nullable=True))
    op.execute("UPDATE refund SET submitted_at = created_at WHERE refund_id IS NOT NULL")
    op.execute(f"UPDATE points_account SET lifetime_earned = {MOVED.format(sign='', kind='earn')}, "
               f"lifetime_spent = {MOVED.format(sign='-', kind='spend')}, "
               f"lifetime_expired = {MOVED.format(sign='-', kind='expire')}")
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_until', models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_idempotency_record_created_at', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_record_created_at')
        batch_op.drop_column('lease_until')
    with op.batch_alter_table('refund', schema=None) as batch_op:
        for column in ('failure_reason', 'last_error', 'retry_at', 'attempts', 'submitted_at'):
            batch_op.drop_column(column)
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_reward_status')
        batch_op.drop_constraint('reward_status', type_='check')
        for column in ('attention', 'reward_error', 'reward_retry_at', 'reward_attempts', 'reward_status'):
            batch_op.drop_column(column)
