from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models import db, one_of

LEVEL_WINDOWS = ("lifetime", "calendar_year", "rolling_12_months")
DOWNGRADES = ("none", "one_level")
LEVEL_GIFT_KINDS = ("levelup", "birthday")


class Level(db.Model):
    """A named growth threshold and the benefits it brings."""

    __tablename__ = "level"
    __table_args__ = (
        CheckConstraint("threshold >= 0", name="threshold"),
        CheckConstraint("points_multiplier_pct BETWEEN 1 AND 1000", name="multiplier"),
        CheckConstraint("makeup_cards_per_month >= 0", name="makeup_cards"),
        CheckConstraint("mall_discount_pct BETWEEN 1 AND 100", name="mall_discount"),
        CheckConstraint("birthday_points >= 0", name="birthday_points"),
        # an id names one level for ever, as on PostgreSQL: SQLite would hand a deleted level's id to the next
        # one, and the level history and the level-up gifts' keys would read it as that new level
        {"sqlite_autoincrement": True},
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
    birthday_points: Mapped[int] = mapped_column(default=0)
    birthday_pack_id: Mapped[int | None]
    created_at: Mapped[datetime]
    # when the thresholds last changed: the audit replays the policy from then on
    ladder_changed_at: Mapped[datetime | None]


class LevelChange(db.Model):
    """A member's level history: one row per move, with its cause (the growth entry's reason, an
    evaluation, or a change of the ladder) and the growth in the window that decided it.

    A row is never edited: it keeps both levels as they were when the move was made (id, code and
    threshold; None: no level), so the history reads the same, and a move down stays a move down, after
    an operator changes or deletes a level. The ids are no foreign keys for that reason: a deleted level's
    id stays (level ids are never reused). Rows written before the levels were recorded have no code or
    threshold (a level deleted before then lost its id too)."""

    __tablename__ = "level_change"
    __table_args__ = (Index("ix_level_change_created_at", "created_at"),)  # the daily figures' members by level

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    from_level_id: Mapped[int | None]
    from_code: Mapped[str | None] = mapped_column(String(32))
    from_threshold: Mapped[int | None]
    to_level_id: Mapped[int | None]
    to_code: Mapped[str | None] = mapped_column(String(32))
    to_threshold: Mapped[int | None]
    growth_total: Mapped[int]
    growth_entry_id: Mapped[int | None] = mapped_column(ForeignKey("growth_entry.id"))
    cause: Mapped[str] = mapped_column(String(32), default="growth")
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("level_evaluation.id"))
    created_at: Mapped[datetime]


class LevelPolicy(db.Model):
    """How growth is counted for levels and whether levels go down. Rows are never edited: a change is
    a new row that takes effect at the next evaluation (`effective_from`); the newest row in effect rules."""

    __tablename__ = "level_policy"
    __table_args__ = (
        CheckConstraint(one_of("growth_window", LEVEL_WINDOWS), name="growth_window"),
        CheckConstraint(one_of("downgrade", DOWNGRADES), name="downgrade"),
        CheckConstraint("grace_days BETWEEN 0 AND 180", name="grace_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    growth_window: Mapped[str] = mapped_column(String(32))
    downgrade: Mapped[str] = mapped_column(String(16))
    grace_days: Mapped[int] = mapped_column(default=30)
    effective_from: Mapped[datetime] = mapped_column(index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    created_at: Mapped[datetime]


class LevelEvaluation(db.Model):
    """One scheduled evaluation at a period's end (`due_at`), run once, member by member in id order
    (`last_member_id` commits with each member's change, so a crashed run resumes where it stopped)."""

    __tablename__ = "level_evaluation"
    __table_args__ = (
        CheckConstraint(one_of("growth_window", LEVEL_WINDOWS), name="growth_window"),
        CheckConstraint(one_of("downgrade", DOWNGRADES), name="downgrade"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    due_at: Mapped[datetime] = mapped_column(unique=True)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("level_policy.id"))
    growth_window: Mapped[str] = mapped_column(String(32))
    downgrade: Mapped[str] = mapped_column(String(16))
    last_member_id: Mapped[int] = mapped_column(default=0)
    members_lowered: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class LevelGift(db.Model):
    """A level benefit paid to a member: the level-up gift once per level ever reached
    (`levelup:{member}:{level}`), the birthday gift once a year (`birthday:{member}:{year}`). The
    unique key is the guard; the points and coupons are paid under the same key."""

    __tablename__ = "level_gift"
    __table_args__ = (
        CheckConstraint(one_of("kind", LEVEL_GIFT_KINDS), name="kind"),
        CheckConstraint("points >= 0", name="points"),
        Index("ix_level_gift_member_id_kind", "member_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    kind: Mapped[str] = mapped_column(String(16))
    level_id: Mapped[int | None] = mapped_column(ForeignKey("level.id", ondelete="SET NULL"))
    business_key: Mapped[str] = mapped_column(String(64), unique=True)
    points: Mapped[int] = mapped_column(default=0)
    coupon_pack_id: Mapped[int | None]
    created_at: Mapped[datetime]
