from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models import db


class GrowthAccount(db.Model):
    """A member's growth value: earned only, lowered only by reversing its own entries."""

    __tablename__ = "growth_account"
    __table_args__ = (
        CheckConstraint("total >= 0", name="total"),
        CheckConstraint("lifetime >= total", name="lifetime"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    total: Mapped[int] = mapped_column(default=0)
    lifetime: Mapped[int] = mapped_column(default=0)


class GrowthEntry(db.Model):
    __tablename__ = "growth_entry"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta"),
        CheckConstraint("total_after >= 0", name="total_after"),
        CheckConstraint("kind IN ('earn', 'reverse')", name="kind"),
        Index("ix_growth_entry_member_id_id", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    delta: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(String(128))
    business_key: Mapped[str] = mapped_column(String(191), unique=True)
    total_after: Mapped[int]
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("growth_entry.id"), index=True)
    created_at: Mapped[datetime]
