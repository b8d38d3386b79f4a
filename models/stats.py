"""The daily figures: one row per business day, rolled up from the ledgers and records (services/stats)."""
from datetime import date, datetime

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models import db

# every count of a row: what the day moved, what stood at its end, and the earlier cohorts back that day
FIGURE_COLUMNS = (
    "new_members", "active_members", "total_members", "signins", "makeups",
    "points_issued", "points_spent", "points_expired", "points_reversed", "points_returned", "points_outstanding",
    "growth_issued", "growth_reversed", "tasks_claimed", "lottery_draws", "lottery_prizes",
    "payments", "payments_fen", "refunds", "refunds_fen", "payment_packs",
    "mall_orders", "mall_units", "mall_points", "mall_cash_fen",
    "coupons_issued", "coupons_used", "coupons_expired",
    "guide_bindings", "store_purchases", "store_purchases_fen", "write_offs",
    "active_d1", "active_d7", "active_d30", "signed_d1", "signed_d7", "signed_d30",
)
# 邀请有礼: friends who joined through a card, qualified, and whose inviter was rewarded that day
INVITATION_FIGURES = ("invitations", "invitations_qualified", "invitations_rewarded")
COUNTED_FIRST = FIGURE_COLUMNS  # the columns of the first CHECK, as the table was made
FIGURE_COLUMNS = FIGURE_COLUMNS + INVITATION_FIGURES


class DailyFigures(db.Model):
    """What the programme did on one business day, and what stood at its end. A row is recomputed whole
    (rollup-stats, the worker's job); `details` holds the breakdowns (by reason, kind, level, task, store,
    guide). active_dN / signed_dN: members who joined N days before this day and were active / signed in
    on it (a cohort's day-N return, read by the cohort table)."""

    __tablename__ = "daily_figures"
    __table_args__ = (
        CheckConstraint(" AND ".join(f"{column} >= 0" for column in COUNTED_FIRST), name="counts"),
        CheckConstraint(" AND ".join(f"{column} >= 0" for column in INVITATION_FIGURES), name="invitations"),
        CheckConstraint("new_members <= total_members AND active_members <= total_members", name="members"),
        CheckConstraint("signed_d1 <= active_d1 AND signed_d7 <= active_d7 AND signed_d30 <= active_d30",
                        name="returns"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    new_members: Mapped[int] = mapped_column(default=0)
    active_members: Mapped[int] = mapped_column(default=0)
    total_members: Mapped[int] = mapped_column(default=0)
    signins: Mapped[int] = mapped_column(default=0)
    makeups: Mapped[int] = mapped_column(default=0)
    points_issued: Mapped[int] = mapped_column(default=0)
    points_spent: Mapped[int] = mapped_column(default=0)
    points_expired: Mapped[int] = mapped_column(default=0)
    points_reversed: Mapped[int] = mapped_column(default=0)  # earnings taken back (refunds)
    points_returned: Mapped[int] = mapped_column(default=0)  # spending given back (mall refunds)
    points_outstanding: Mapped[int] = mapped_column(default=0)  # the ledger's sum at the day's end
    growth_issued: Mapped[int] = mapped_column(default=0)
    growth_reversed: Mapped[int] = mapped_column(default=0)
    tasks_claimed: Mapped[int] = mapped_column(default=0)
    lottery_draws: Mapped[int] = mapped_column(default=0)
    lottery_prizes: Mapped[int] = mapped_column(default=0)
    payments: Mapped[int] = mapped_column(default=0)
    payments_fen: Mapped[int] = mapped_column(default=0)
    refunds: Mapped[int] = mapped_column(default=0)
    refunds_fen: Mapped[int] = mapped_column(default=0)
    payment_packs: Mapped[int] = mapped_column(default=0)  # 支付有礼 packs handed out
    mall_orders: Mapped[int] = mapped_column(default=0)
    mall_units: Mapped[int] = mapped_column(default=0)
    mall_points: Mapped[int] = mapped_column(default=0)
    mall_cash_fen: Mapped[int] = mapped_column(default=0)
    coupons_issued: Mapped[int] = mapped_column(default=0)
    coupons_used: Mapped[int] = mapped_column(default=0)
    coupons_expired: Mapped[int] = mapped_column(default=0)
    guide_bindings: Mapped[int] = mapped_column(default=0)
    store_purchases: Mapped[int] = mapped_column(default=0)
    store_purchases_fen: Mapped[int] = mapped_column(default=0)
    write_offs: Mapped[int] = mapped_column(default=0)
    active_d1: Mapped[int] = mapped_column(default=0)
    active_d7: Mapped[int] = mapped_column(default=0)
    active_d30: Mapped[int] = mapped_column(default=0)
    signed_d1: Mapped[int] = mapped_column(default=0)
    signed_d7: Mapped[int] = mapped_column(default=0)
    signed_d30: Mapped[int] = mapped_column(default=0)
    invitations: Mapped[int] = mapped_column(default=0)
    invitations_qualified: Mapped[int] = mapped_column(default=0)
    invitations_rewarded: Mapped[int] = mapped_column(default=0)
    details: Mapped[dict]
    computed_at: Mapped[datetime]
