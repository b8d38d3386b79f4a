from sqlalchemy import CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from models import db
from models.ledger import LedgerEntryMixin


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


class GrowthEntry(LedgerEntryMixin, db.Model):
    __tablename__ = "growth_entry"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta"),
        CheckConstraint("total_after >= 0", name="total_after"),
        CheckConstraint("kind IN ('earn', 'reverse')", name="kind"),
        Index("ix_growth_entry_member_id_id", "member_id", "id"),
        Index("ix_growth_entry_kind_created_at", "kind", "created_at"),  # the daily figures
    )

    total_after: Mapped[int]
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("growth_entry.id"), index=True)
