"""Daily sign-in: one record per member per business day, versioned rule sets, and earned badges."""
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models import db

SIGNIN_KINDS = ("signed", "made_up")


class SigninRecord(db.Model):
    """A member signed in (or made up) one business day; the rewards granted are kept on it for good."""

    __tablename__ = "signin_record"
    __table_args__ = (
        # the one-per-day guarantee: concurrent duplicates fail here, not in a read-then-write
        UniqueConstraint("member_id", "day", name="uq_signin_record_member_id_day"),
        CheckConstraint("kind IN ('signed', 'made_up')", name="kind"),
        CheckConstraint("streak >= 1", name="streak"),
        CheckConstraint("points >= 0 AND growth >= 0 AND cost_points >= 0", name="amounts"),
        CheckConstraint("paid_with IS NULL OR paid_with IN ('card', 'points')", name="paid_with"),
        Index("ix_signin_record_day", "day"),
        # the daily figures' make-ups, by the day they were made; partial, so sign-ins write no entry in it
        Index("ix_signin_record_made_up", "created_at", sqlite_where=text("kind = 'made_up'"),
              postgresql_where=text("kind = 'made_up'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    day: Mapped[date]
    kind: Mapped[str] = mapped_column(String(16))
    streak: Mapped[int]  # the run of consecutive days ending on this day (kept right when a make-up mends it)
    cycle_day: Mapped[int | None]  # None for a make-up: it pays no cycle reward
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("signin_rule.id", ondelete="SET NULL"))
    points: Mapped[int] = mapped_column(default=0)
    growth: Mapped[int] = mapped_column(default=0)
    coupons: Mapped[list] = mapped_column(default=list)
    bonus: Mapped[list] = mapped_column(default=list)
    badges: Mapped[list] = mapped_column(default=list)
    paid_with: Mapped[str | None] = mapped_column(String(8))
    cost_points: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]


class SigninRule(db.Model):
    """A version of the sign-in rules: in force from effective_from until a later version starts."""

    __tablename__ = "signin_rule"
    __table_args__ = (
        CheckConstraint("cycle_days BETWEEN 1 AND 31", name="cycle_days"),
        CheckConstraint("after_cycle IN ('restart')", name="after_cycle"),
        Index("ix_signin_rule_effective", "effective_from", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    cycle_days: Mapped[int] = mapped_column(default=7)
    after_cycle: Mapped[str] = mapped_column(String(16), default="restart")
    rewards: Mapped[list]  # one per cycle day: {"points", "growth", "coupon_pack_id"}
    milestones: Mapped[list]  # {"kind": "streak"/"total", "days", "badge_code", "badge_name", "points", ...}
    effective_from: Mapped[date]
    replaces_id: Mapped[int | None]
    created_at: Mapped[datetime]


class MemberBadge(db.Model):
    """A badge a member earned, once."""

    __tablename__ = "member_badge"
    __table_args__ = (UniqueConstraint("member_id", "code", name="uq_member_badge_member_id_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("signin_record.id"))
    earned_at: Mapped[datetime]
