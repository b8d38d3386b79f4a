from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models import db


class Level(db.Model):
    """A named growth threshold and the benefits it brings."""

    __tablename__ = "level"
    __table_args__ = (
        CheckConstraint("threshold >= 0", name="threshold"),
        CheckConstraint("points_multiplier_pct BETWEEN 1 AND 1000", name="multiplier"),
        CheckConstraint("makeup_cards_per_month >= 0", name="makeup_cards"),
        CheckConstraint("mall_discount_pct BETWEEN 1 AND 100", name="mall_discount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    threshold: Mapped[int] = mapped_column(unique=True)
    points_multiplier_pct: Mapped[int] = mapped_column(default=100)
    makeup_cards_per_month: Mapped[int] = mapped_column(default=0)
    mall_discount_pct: Mapped[int] = mapped_column(default=100)
    exclusive_goods: Mapped[bool] = mapped_column(default=False)
    levelup_pack_id: Mapped[int | None]
    created_at: Mapped[datetime]


class LevelChange(db.Model):
    """A member's level history: one row per move, written with the growth entry that caused it."""

    __tablename__ = "level_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    from_level_id: Mapped[int | None] = mapped_column(ForeignKey("level.id", ondelete="SET NULL"))
    to_level_id: Mapped[int | None] = mapped_column(ForeignKey("level.id", ondelete="SET NULL"))
    growth_total: Mapped[int]
    growth_entry_id: Mapped[int | None] = mapped_column(ForeignKey("growth_entry.id"))
    created_at: Mapped[datetime]
