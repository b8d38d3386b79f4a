"""daily_figures: one row per business day; the indexes that bound each rollup query to one day's rows

Revision ID: st4ts0000001
Revises: h1st0ry00001
Create Date: 2026-12-04 12:40:00

"""
from alembic import op
import sqlalchemy as sa

import models


revision = 'st4ts0000001'
down_revision = 'h1st0ry00001'
branch_labels = None
depends_on = None

# each bounds a rollup query to the day's rows by a time column
INDEXES = (
    ("ix_member_created_at", "member", ["created_at"]),
    ("ix_level_change_created_at", "level_change", ["created_at"]),
    ("ix_growth_entry_kind_created_at", "growth_entry", ["kind", "created_at"]),
    ("ix_task_claim_created_at", "task_claim", ["created_at"]),
    ("ix_lottery_draw_created_at", "lottery_draw", ["created_at"]),
    ("ix_mall_order_created_at", "mall_order", ["created_at"]),
    ("ix_coupon_issue_created_at", "coupon_issue", ["created_at"]),
    ("ix_coupon_issued_at", "coupon", ["issued_at"]),
    ("ix_coupon_used_at", "coupon", ["used_at"]),
    ("ix_guide_binding_change_created_at", "guide_binding_change", ["created_at"]),
    ("ix_guide_scan_scanned_at", "guide_scan", ["scanned_at"]),
    ("ix_store_purchase_created_at", "store_purchase", ["created_at"]),
)
MADE_UP = sa.text("kind = 'made_up'")  # partial: sign-ins, the hottest write, add nothing to it


def upgrade():
    op.create_table('daily_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('new_members', sa.Integer(), nullable=False),
    sa.Column('active_members', sa.Integer(), nullable=False),
    sa.Column('total_members', sa.Integer(), nullable=False),
    sa.Column('signins', sa.Integer(), nullable=False),
    sa.Column('makeups', sa.Integer(), nullable=False),
    sa.Column('points_issued', sa.Integer(), nullable=False),
    sa.Column('points_spent', sa.Integer(), nullable=False),
    sa.Column('points_expired', sa.Integer(), nullable=False),
    sa.Column('points_reversed', sa.Integer(), nullable=False),
    sa.Column('points_returned', sa.Integer(), nullable=False),
    sa.Column('points_outstanding', sa.Integer(), nullable=False),
    sa.Column('growth_issued', sa.Integer(), nullable=False),
    sa.Column('growth_reversed', sa.Integer(), nullable=False),
    sa.Column('tasks_claimed', sa.Integer(), nullable=False),
    sa.Column('lottery_draws', sa.Integer(), nullable=False),
    sa.Column('lottery_prizes', sa.Integer(), nullable=False),
    sa.Column('payments', sa.Integer(), nullable=False),
    sa.Column('payments_fen', sa.Integer(), nullable=False),
    sa.Column('refunds', sa.Integer(), nullable=False),
    sa.Column('refunds_fen', sa.Integer(), nullable=False),
    sa.Column('payment_packs', sa.Integer(), nullable=False),
    sa.Column('mall_orders', sa.Integer(), nullable=False),
    sa.Column('mall_units', sa.Integer(), nullable=False),
    sa.Column('mall_points', sa.Integer(), nullable=False),
    sa.Column('mall_cash_fen', sa.Integer(), nullable=False),
    sa.Column('coupons_issued', sa.Integer(), nullable=False),
    sa.Column('coupons_used', sa.Integer(), nullable=False),
    sa.Column('coupons_expired', sa.Integer(), nullable=False),
    sa.Column('guide_bindings', sa.Integer(), nullable=False),
    sa.Column('store_purchases', sa.Integer(), nullable=False),
    sa.Column('store_purchases_fen', sa.Integer(), nullable=False),
    sa.Column('write_offs', sa.Integer(), nullable=False),
    sa.Column('active_d1', sa.Integer(), nullable=False),
    sa.Column('active_d7', sa.Integer(), nullable=False),
    sa.Column('active_d30', sa.Integer(), nullable=False),
    sa.Column('signed_d1', sa.Integer(), nullable=False),
    sa.Column('signed_d7', sa.Integer(), nullable=False),
    sa.Column('signed_d30', sa.Integer(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('computed_at', models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('new_members <= total_members AND active_members <= total_members', name=op.f('ck_daily_figures_members')),
    sa.CheckConstraint('new_members >= 0 AND active_members >= 0 AND total_members >= 0 AND signins >= 0 AND makeups >= 0 AND points_issued >= 0 AND points_spent >= 0 AND points_expired >= 0 AND points_reversed >= 0 AND points_returned >= 0 AND points_outstanding >= 0 AND growth_issued >= 0 AND growth_reversed >= 0 AND tasks_claimed >= 0 AND lottery_draws >= 0 AND lottery_prizes >= 0 AND payments >= 0 AND payments_fen >= 0 AND refunds >= 0 AND refunds_fen >= 0 AND payment_packs >= 0 AND mall_orders >= 0 AND mall_units >= 0 AND mall_points >= 0 AND mall_cash_fen >= 0 AND coupons_issued >= 0 AND coupons_used >= 0 AND coupons_expired >= 0 AND guide_bindings >= 0 AND store_purchases >= 0 AND store_purchases_fen >= 0 AND write_offs >= 0 AND active_d1 >= 0 AND active_d7 >= 0 AND active_d30 >= 0 AND signed_d1 >= 0 AND signed_d7 >= 0 AND signed_d30 >= 0', name=op.f('ck_daily_figures_counts')),
    sa.CheckConstraint('signed_d1 <= active_d1 AND signed_d7 <= active_d7 AND signed_d30 <= active_d30', name=op.f('ck_daily_figures_returns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_daily_figures')),
    sa.UniqueConstraint('day', name=op.f('uq_daily_figures_day'))
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    op.create_index("ix_signin_record_made_up", "signin_record", ["created_at"], sqlite_where=MADE_UP,
                    postgresql_where=MADE_UP)


def downgrade():
    op.drop_index("ix_signin_record_made_up", table_name="signin_record")
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
    op.drop_table('daily_figures')
