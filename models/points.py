from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models import db
from models.ledger import LedgerEntryMixin


class PointsAccount(db.Model):
    """The cached totals of a member's points; every change locks this row (after the member's).

    balance = lifetime_earned - lifetime_spent - lifetime_expired, where lifetime_earned is what was
    earned less the earnings reversed (refunds), lifetime_spent what was spent less the spending
    given back, and lifetime_expired what expired (audit-ledger checks each against the entries).
    """

    __tablename__ = "points_account"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance"),
        CheckConstraint("frozen >= 0", name="frozen"),
        CheckConstraint("frozen <= balance", name="available"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(default=0)
    frozen: Mapped[int] = mapped_column(default=0)
    lifetime_earned: Mapped[int] = mapped_column(default=0)
    lifetime_spent: Mapped[int] = mapped_column(default=0)
    lifetime_expired: Mapped[int] = mapped_column(default=0)


class PointsEntry(LedgerEntryMixin, db.Model):
    """One immutable movement of points; its business key makes every cause count once."""

    __tablename__ = "points_entry"
    __table_args__ = (
        # a reversal that found nothing to claw back is still recorded (delta 0, shortfall in meta)
        CheckConstraint("delta <> 0 OR kind = 'reverse'", name="delta"),
        CheckConstraint("balance_after >= 0", name="balance_after"),
        CheckConstraint("kind IN ('earn', 'spend', 'expire', 'reverse')", name="kind"),
        Index("ix_points_entry_member_id_id", "member_id", "id"),
        Index("ix_points_entry_kind_created_at", "kind", "created_at"),  # leaderboards read earnings by period
    )

    balance_after: Mapped[int]
    expires_at: Mapped[datetime | None]
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("points_entry.id"), index=True)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("points_hold.id"))
    meta: Mapped[dict | None]


class PointsLot(db.Model):
    """Points earned together, expiring together; remaining is what is left to spend or expire."""

    __tablename__ = "points_lot"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining"),
        Index("ix_points_lot_member_open", "member_id", "expires_at", "id"),
        Index("ix_points_lot_due", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("points_entry.id"), unique=True)
    amount: Mapped[int]
    remaining: Mapped[int]
    expires_at: Mapped[datetime | None]


class PointsAllocation(db.Model):
    """Which lot an entry took points from (positive) or gave them back to (negative)."""

    __tablename__ = "points_allocation"
    __table_args__ = (CheckConstraint("amount <> 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("points_entry.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("points_lot.id"), index=True)
    amount: Mapped[int]


class PointsHold(db.Model):
    """Points frozen for an unpaid order, until posted (spent) or released."""

    __tablename__ = "points_hold"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("status IN ('open', 'posted', 'released')", name="status"),
        Index("ix_points_hold_member_status", "member_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    amount: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="open")
    reason: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(String(128))
    business_key: Mapped[str] = mapped_column(String(191), unique=True)
    created_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
