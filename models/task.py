"""The task centre: tasks operators define, and the claims members make (progress is counted from
member_event rows, never stored)."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models import db

TASK_KINDS = ("newbie", "daily", "weekly", "monthly", "achievement")


class Task(db.Model):
    """What a member is asked to do, which event counts, how many, and what it pays (per tier for an
    achievement: `tiers`, each {"target", "points", "growth", "coupon_pack_id"})."""

    __tablename__ = "task"
    __table_args__ = (
        CheckConstraint(f"kind IN {TASK_KINDS}", name="kind"),
        CheckConstraint("target >= 1", name="target"),
        CheckConstraint("reward_points >= 0 AND reward_growth >= 0", name="reward"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(255), default="")
    icon: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(32))
    target: Mapped[int] = mapped_column(default=1)
    condition: Mapped[dict | None]  # e.g. {"min_amount_fen": 5000} on payment_paid
    reward_points: Mapped[int] = mapped_column(default=0)
    reward_growth: Mapped[int] = mapped_column(default=0)
    reward_pack_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_pack.id"))
    tiers: Mapped[list | None]
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    sort_order: Mapped[int] = mapped_column(default=0)
    page: Mapped[str] = mapped_column(String(255), default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    client_reportable: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TaskClaim(db.Model):
    """A reward a member claimed: once per task, period and tier (the unique business key is the
    guard), and a newbie reward once per phone number (phone_key), whichever member holds it."""

    __tablename__ = "task_claim"
    __table_args__ = (UniqueConstraint("member_id", "task_id", "period_key", "tier",
                                       name="uq_task_claim_member_task_period_tier"),
                      Index("ix_task_claim_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    period_key: Mapped[str] = mapped_column(String(16))
    tier: Mapped[int] = mapped_column(default=0)
    business_key: Mapped[str] = mapped_column(String(191), unique=True)
    phone_key: Mapped[str | None] = mapped_column(String(191), unique=True)
    points: Mapped[int] = mapped_column(default=0)
    growth: Mapped[int] = mapped_column(default=0)
    coupon_codes: Mapped[list] = mapped_column(default=list)
    created_at: Mapped[datetime]
