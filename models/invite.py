"""Invitations (邀请有礼): the operators' rule versions, each invitation, and the refusals counted."""
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models import db, one_of

INVITE_STEPS = ("phone", "signin", "payment")
INVITATION_STATUSES = ("joined", "qualified", "rewarded", "reversed", "refused", "expired")
REFUSAL_REASONS = ("unknown_code", "self", "existing_member", "inviter_frozen", "cycle", "rate_limited",
                   "phone_seen", "daily_cap", "monthly_cap", "inviter_frozen_at_reward")


class InviteRule(db.Model):
    """A version of the invitation rules: the latest is the one active set (enabled or switched off)."""

    __tablename__ = "invite_rule"
    __table_args__ = (
        CheckConstraint(one_of("step", INVITE_STEPS), name="step"),
        CheckConstraint("window_days BETWEEN 1 AND 365", name="window_days"),
        CheckConstraint("daily_cap >= 0 AND monthly_cap >= 0 AND min_payment_fen >= 0", name="limits"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    step: Mapped[str] = mapped_column(String(16))  # what the friend must do: bind a phone, sign in, pay
    min_payment_fen: Mapped[int] = mapped_column(default=0)
    inviter_points: Mapped[int] = mapped_column(default=0)
    inviter_growth: Mapped[int] = mapped_column(default=0)
    inviter_pack_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_pack.id"))
    friend_points: Mapped[int] = mapped_column(default=0)
    friend_growth: Mapped[int] = mapped_column(default=0)
    friend_pack_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_pack.id"))
    daily_cap: Mapped[int] = mapped_column(default=10)  # inviter rewards per business day
    monthly_cap: Mapped[int] = mapped_column(default=100)
    window_days: Mapped[int] = mapped_column(default=7)
    joins_per_address: Mapped[int] = mapped_column(default=20)  # invited logins from one address an hour
    replaces_id: Mapped[int | None]
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    created_at: Mapped[datetime]


class Invitation(db.Model):
    """A friend who became a member through a member's card, and what came of it."""

    __tablename__ = "invitation"
    __table_args__ = (
        CheckConstraint(one_of("status", INVITATION_STATUSES), name="status"),
        CheckConstraint("inviter_id <> invitee_id", name="not_self"),
        Index("ix_invitation_inviter", "inviter_id", "id"),
        Index("ix_invitation_inviter_reward_day", "inviter_id", "reward_day"),
        Index("ix_invitation_status_expires", "status", "expires_at"),
        Index("ix_invitation_joined_at", "joined_at"),
        Index("ix_invitation_qualified_at", "qualified_at"),  # the invitation boards, the daily figures
        Index("ix_invitation_rewarded_at", "rewarded_at"),  # the daily figures
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inviter_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    invitee_id: Mapped[int] = mapped_column(ForeignKey("member.id"), unique=True)  # one inviter, ever
    rule_id: Mapped[int] = mapped_column(ForeignKey("invite_rule.id"))
    status: Mapped[str] = mapped_column(String(16), default="joined")
    refusal: Mapped[str | None] = mapped_column(String(32))
    joined_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the friend qualifies before this
    qualified_at: Mapped[datetime | None]
    qualified_ref: Mapped[str | None] = mapped_column(String(64))  # the step: phone, signin:<day>, payment:<id>
    reversible_until: Mapped[datetime | None]  # a qualifying payment refunded in full before this takes back
    friend_points: Mapped[int] = mapped_column(default=0)
    friend_growth: Mapped[int] = mapped_column(default=0)
    friend_coupons: Mapped[int] = mapped_column(default=0)
    inviter_points: Mapped[int] = mapped_column(default=0)
    inviter_growth: Mapped[int] = mapped_column(default=0)
    inviter_coupons: Mapped[int] = mapped_column(default=0)
    rewarded_at: Mapped[datetime | None]
    reward_day: Mapped[date | None]  # the business day the inviter was rewarded (the caps count these)
    reward_month: Mapped[str | None] = mapped_column(String(8))
    reversed_at: Mapped[datetime | None]


class InviteRefusal(db.Model):
    """How many invitations (or inviter rewards) were refused, per business day and reason."""

    __tablename__ = "invite_refusal"
    __table_args__ = (CheckConstraint(one_of("reason", REFUSAL_REASONS), name="reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slot: Mapped[str] = mapped_column(String(48), unique=True)  # "<day>:<reason>"
    day: Mapped[date]
    reason: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(default=0)
