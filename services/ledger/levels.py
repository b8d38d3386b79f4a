"""Member levels: operator-configured growth thresholds, and members following their growth."""
from types import SimpleNamespace

from flask import current_app

from sqlalchemy import bindparam, select

from models import GrowthAccount, Level, LevelChange, Member, db
from services.members import member_cards
from services.members.member_lock import lock_member
from services.platform import clock, snapshots
from services.platform.db import duplicates_conflict, execute_prebuilt, expire_loaded, transaction
from services.platform.errors import NotFound

SNAPSHOT = "levels"
LEVEL_FIELDS = ("code", "name", "threshold", "points_multiplier_pct", "makeup_cards_per_month",
                "mall_discount_pct", "exclusive_goods", "levelup_pack_id")


def all_levels() -> list[Level]:
    return list(db.session.scalars(select(Level).order_by(Level.threshold)))


def level_for(growth: int) -> Level | None:
    """The highest level whose threshold the growth value reaches."""
    return db.session.scalar(select(Level).where(Level.threshold <= growth).order_by(Level.threshold.desc()).limit(1))


def ladder() -> dict[int, SimpleNamespace]:
    """Every level by id, for showing: this process's copy (at most snapshots.SECONDS old)."""
    return snapshots.get(SNAPSHOT, lambda: {level.id: SimpleNamespace(**{field: getattr(level, field) for field in (
        "id", *LEVEL_FIELDS)}) for level in all_levels()})


def purchase_rewards(level_id: int | None, amount_fen: int) -> tuple[int, int]:
    """(points, growth) a purchase earns: POINTS_PER_YUAN per whole yuan × the level's multiplier, and
    GROWTH_PER_YUAN per whole yuan (the level read from SQL: this is paid)."""
    level = db.session.get(Level, level_id) if level_id else None
    multiplier = level.points_multiplier_pct if level else 100
    yuan = amount_fen // 100
    return (yuan * current_app.config["POINTS_PER_YUAN"] * multiplier // 100,
            yuan * current_app.config["GROWTH_PER_YUAN"])


def makeup_cards(level_id: int | None) -> int:
    """The make-up cards a month a level gives, for showing (from this process's copy of the ladder)."""
    level = ladder().get(level_id)
    return level.makeup_cards_per_month if level else 0


def entry_level_id() -> int | None:
    level = level_for(0)
    return level.id if level else None


def follow_growth(member_id: int, total: int, entry_id: int | None = None, *,
                  reached_id: int | None | bool = False) -> LevelChange | None:
    """Move the member to the level their growth total reaches (inside the caller's transaction).

    The member's level is the locked row's (member_lock), never a statement's snapshot: two growth
    earnings of one member are serialised by that lock, so a level change is recorded once.
    `reached_id`: the level `total` reaches, when the statement that changed the growth returned it
    already (reached_level_column); otherwise it is read.
    """
    member = lock_member(member_id)
    if reached_id is False:
        reached_id = execute_prebuilt(_REACHED, total=total).scalar()
    if member.level_id == reached_id:
        return None
    change = LevelChange(member_id=member_id, from_level_id=member.level_id, to_level_id=reached_id,
                         growth_total=total, growth_entry_id=entry_id, created_at=clock.now())
    execute_prebuilt(_SET_LEVEL, member=member_id, level=reached_id)
    expire_loaded(Member, member_id)
    member.level_id = reached_id
    db.session.add(change)
    member_cards.changed(db.session.get(Member, member_id))
    return change


_levels, _members = Level.__table__, Member.__table__


def reached_level_column(total):
    """The level a growth total reaches (as level_for), as a scalar subquery on an SQL expression:
    a statement that changes growth can return it with the total."""
    return (select(_levels.c.id).where(_levels.c.threshold <= total)
            .order_by(_levels.c.threshold.desc()).limit(1).scalar_subquery())


_REACHED = select(reached_level_column(bindparam("total")))
_SET_LEVEL = _members.update().where(_members.c.id == bindparam("member")).values(level_id=bindparam("level"))


def summary(member: Member) -> dict:
    """The member's level, growth value and what the next level needs."""
    growth = db.session.get(GrowthAccount, member.id)
    total = growth.total if growth else 0
    current = db.session.get(Level, member.level_id) if member.level_id else None
    following = db.session.scalar(select(Level).where(Level.threshold > (current.threshold if current else -1))
                                  .order_by(Level.threshold).limit(1))
    return {
        "code": current.code if current else None,
        "name": current.name if current else None,
        "growth": total,
        "next_level": following.name if following else None,
        "next_threshold": following.threshold if following else None,
        "growth_to_next": max(following.threshold - total, 0) if following else None,
    }


def get_level(level_id: int) -> Level:
    level = db.session.get(Level, level_id)
    if level is None:
        raise NotFound("No such level.")
    return level


def create_level(fields: dict) -> Level:
    """Add a level; members whose growth reaches it move up."""
    with duplicates_conflict("Another level has that code or threshold.", "level_conflict"), transaction():
        level = Level(**{k: v for k, v in fields.items() if k in LEVEL_FIELDS}, created_at=clock.now())
        db.session.add(level)
        db.session.flush()
        refollow_all()
    return level


def update_level(level_id: int, fields: dict) -> Level:
    with duplicates_conflict("Another level has that code or threshold.", "level_conflict"), transaction():
        level = get_level(level_id)
        for key in LEVEL_FIELDS:
            if key in fields:
                setattr(level, key, fields[key])
        db.session.flush()
        refollow_all()
    return level


def delete_level(level_id: int) -> None:
    """Remove a level; its members move to the level their growth reaches."""
    with transaction():
        level = get_level(level_id)
        db.session.execute(Member.__table__.update().where(Member.level_id == level_id).values(level_id=None))
        db.session.delete(level)
        db.session.flush()
        refollow_all()


def refollow_all() -> None:
    """After the ladder changed: move the members whose level no longer matches their growth."""
    snapshots.changed(SNAPSHOT)
    ladder = all_levels()
    rows = db.session.execute(select(Member.id, Member.level_id, GrowthAccount.total)
                              .join(GrowthAccount, GrowthAccount.member_id == Member.id)).all()
    for member_id, level_id, total in rows:
        reached = [level.id for level in ladder if level.threshold <= total]
        if (reached[-1] if reached else None) != level_id:
            lock_member(member_id)  # then the total, which only changes under that lock
            follow_growth(member_id, db.session.scalar(select(GrowthAccount.total).where(
                GrowthAccount.member_id == member_id)))
