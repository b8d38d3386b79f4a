"""Member levels: operator-configured growth thresholds, and members moving up them as their growth grows.

A level goes up in the transaction of the growth that reaches it (counted over the policy's window) and
never down there, a refund included: levels go down only at an evaluation, as the policy says
(services.levels.evaluation). Every move is a LevelChange row with its cause; a move up pays the
level-up gift of each level it reaches (services.levels.gifts)."""
from types import SimpleNamespace

from flask import current_app

from sqlalchemy import bindparam, func, select

from models import Level, LevelChange, Member, db
from services.coupons import catalog
from services.ledger import growth
from services.levels import gifts, policy, replay
from services.members import cards
from services.platform.lock_order import lock_member
from services.platform import audit_trail, clock, round_trips, snapshots
from services.platform.db import duplicates_conflict, execute_prebuilt, expire_loaded, get_row, transaction


SNAPSHOT = "levels"
PACK_FIELDS = ("levelup_pack_id", "birthday_pack_id")
BENEFIT_FIELDS = ("points_multiplier_pct", "makeup_cards_per_month", "mall_discount_pct", "exclusive_goods",
                  "levelup_pack_id", "birthday_points", "birthday_pack_id")
LEVEL_FIELDS = ("code", "name", "threshold", *BENEFIT_FIELDS)


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


def place_new_member(member: Member) -> None:
    """A new member starts at the entry level (the one a growth of 0 reaches), if the ladder has one."""
    level = level_for(0)
    member.level_id = level.id if level else None


def follow_growth(member_id: int, total: int, entry_id: int | None = None, *,
                  reached_id: int | None | bool = False, cause: str = "growth") -> LevelChange | None:
    """Move the member up to the level their growth reaches (inside the caller's transaction); never down.

    The growth that counts is the policy's window (`total` is the lifetime total). The member's level
    is the locked row's (lock_order.lock_member), never a statement's snapshot: two growth earnings of one member
    are serialised by that lock, so a level change is recorded (and its gift paid) once.
    `reached_id`: the level `total` reaches, when the statement that changed the growth returned it
    already (reached_level_column); otherwise it is read.
    """
    member = lock_member(member_id)
    growth_window = policy.in_effect().growth_window
    if growth_window != "lifetime":
        total = policy.window_growth(member_id, growth_window)
        reached_id = _reached(total)
    elif reached_id is False:
        reached_id = _reached(total)
    if member.level_id == reached_id or not rises(member.level_id, reached_id):
        return None
    return move(member, reached_id, cause=cause, growth=total, entry_id=entry_id)


def move(member, to_id: int | None, *, cause: str, growth: int, entry_id: int | None = None,
         evaluation_id: int | None = None) -> LevelChange:
    """Record and make a move of the locked `member`; a move up pays the gifts of the levels it reaches.
    The row records both levels as they are now, so the history (and the audit) read the same after a
    level is changed or deleted."""
    from_id = member.level_id
    held, reached = (db.session.get(Level, level_id) if level_id is not None else None for level_id in (from_id, to_id))
    change = LevelChange(member_id=member.id, from_level_id=from_id, to_level_id=to_id, growth_total=growth,
                         growth_entry_id=entry_id, cause=cause[:32], evaluation_id=evaluation_id, created_at=clock.now(),
                         **_as_recorded("from", held), **_as_recorded("to", reached))
    execute_prebuilt(_SET_LEVEL, member=member.id, level=to_id)
    expire_loaded(Member, member.id)
    member.level_id = to_id
    db.session.add(change)
    cards.changed(db.session.get(Member, member.id))
    if rises(from_id, to_id):
        gifts.level_up(member.id, from_id, to_id)
    return change


def _as_recorded(side: str, level: Level | None) -> dict:
    return {f"{side}_code": level.code if level else None, f"{side}_threshold": level.threshold if level else None}


def thresholds() -> dict[int, int]:
    """Every level's threshold by id, from SQL (what is paid is decided on it)."""
    return dict(db.session.execute(select(Level.id, Level.threshold)).all())


def rises(from_id: int | None, to_id: int | None, ladder: dict[int, int] | None = None) -> bool:
    """Whether `to_id` is above `from_id` (no level is below every level)."""
    ladder = thresholds() if ladder is None else ladder
    return ladder.get(to_id, -1) > ladder.get(from_id, -1)


def _reached(total: int) -> int | None:
    return execute_prebuilt(_REACHED, total=total).scalar()


_levels, _members = Level.__table__, Member.__table__


def reached_level_column(total):
    """The level a growth total reaches (as level_for), as a scalar subquery on an SQL expression:
    a statement that changes growth can return it with the total."""
    return (select(_levels.c.id).where(_levels.c.threshold <= total)
            .order_by(_levels.c.threshold.desc()).limit(1).scalar_subquery())


def _follow_earned(member_id: int, total: int, entry_id: int, reached_id: int | None, reason: str) -> None:
    follow_growth(member_id, total, entry_id, reached_id=reached_id, cause=reason)


FOLLOWS_GROWTH = growth.Follower(returning=reached_level_column, follow=_follow_earned)
_REACHED = select(reached_level_column(bindparam("total")))
_SET_LEVEL = _members.update().where(_members.c.id == bindparam("member")).values(level_id=bindparam("level"))


def summary(member_id: int) -> dict:
    """The member's level, growth value in the policy's window and what the next level needs."""
    return round_trips.read(summary_read(member_id))[0]


def summary_read(member_id: int) -> round_trips.Read:
    """summary() as a read (one statement), to go in one round trip with other areas' (GET /me)."""
    kind, params = policy.growth_now(member_id, policy.in_effect().growth_window)
    return round_trips.Read(((_SUMMARIES[kind], params),), _summary_of)


def _summaries():
    """The summary statement for each way of counting growth: the member's level and the one above it."""
    members, held, above = Member.__table__, Level.__table__.alias("held"), Level.__table__.alias("above")
    next_one = (select(above.c.name, above.c.threshold).where(above.c.threshold > func.coalesce(held.c.threshold, -1))
                .order_by(above.c.threshold).limit(1))
    return {kind: select(counted.label("growth"), held.c.code, held.c.name,
                         next_one.with_only_columns(above.c.name).scalar_subquery().label("next_name"),
                         next_one.with_only_columns(above.c.threshold).scalar_subquery().label("next_threshold"))
            .select_from(members.outerjoin(held, held.c.id == members.c.level_id))
            .where(members.c.id == bindparam("member"))
            for kind, counted in policy.GROWTH_NOW.items()}


_SUMMARIES = _summaries()


def _summary_of(rows: list) -> dict:
    """The summary from its statement's row (none when the member is gone: no level, no growth)."""
    row = rows[0] if rows else None
    total = policy.net(row.growth if row else 0)
    next_threshold = row.next_threshold if row else None
    return {
        "code": row.code if row else None,
        "name": row.name if row else None,
        "growth": total,
        "next_level": row.next_name if row else None,
        "next_threshold": next_threshold,
        "growth_to_next": max(next_threshold - total, 0) if next_threshold is not None else None,
    }


def get_level(level_id: int) -> Level:
    return get_row(Level, level_id, missing="No such level.")


def create_level(operator_id: int, fields: dict) -> Level:
    """Add a level (audited); members whose growth reaches it move up."""
    with duplicates_conflict("Another level has that code or threshold.", "level_conflict"), transaction():
        _check_packs(fields)
        level = Level(**{k: v for k, v in fields.items() if k in LEVEL_FIELDS}, created_at=clock.now())
        db.session.add(level)
        db.session.flush()
        audit_trail.record(operator_id, "level.create", target_type="level", target_id=level.id, reason=None,
                           details=_jsonable(fields))
        ladder_changed()
    return level


def update_level(operator_id: int, level_id: int, fields: dict) -> Level:
    """Change a level (audited). A benefit changed applies from now on; members whose growth now
    reaches a level move up, and nobody moves down (only an evaluation lowers a level)."""
    with duplicates_conflict("Another level has that code or threshold.", "level_conflict"), transaction():
        level = get_level(level_id)
        _check_packs(fields)
        for key in LEVEL_FIELDS:
            if key in fields:
                setattr(level, key, fields[key])
        db.session.flush()
        audit_trail.record(operator_id, "level.update", target_type="level", target_id=level.id, reason=None,
                           details=_jsonable(fields))
        ladder_changed()
    return level


def _check_packs(fields: dict) -> None:
    catalog.require_packs(**{key: fields.get(key) for key in PACK_FIELDS})


def delete_level(operator_id: int, level_id: int) -> None:
    """Remove a level (audited); its members move to the level below it."""
    with transaction():
        level = get_level(level_id)
        below = db.session.scalar(select(Level.id).where(Level.threshold < level.threshold)
                                  .order_by(Level.threshold.desc()).limit(1))
        for member_id in db.session.scalars(select(Member.id).where(Member.level_id == level_id).order_by(Member.id)):
            move(lock_member(member_id), below, cause="ladder", growth=0)
        db.session.delete(level)
        db.session.flush()
        audit_trail.record(operator_id, "level.delete", target_type="level", target_id=level_id, reason=None,
                           details={"code": level.code})
        ladder_changed()


def ladder_changed() -> None:
    """After the ladder changed: stamp the change (the audit replays the policy from it on) and move up
    the members whose growth reaches a higher level than they hold."""
    snapshots.changed(SNAPSHOT)
    now = clock.now()
    db.session.execute(Level.__table__.update().values(ladder_changed_at=now))
    growth_window = policy.in_effect().growth_window
    ladder = thresholds()
    growths = policy.window_growths(growth_window)
    for member_id, level_id in db.session.execute(select(Member.id, Member.level_id).order_by(Member.id)).all():
        growth = growths.get(member_id, 0)
        reached = replay.reached(growth, ladder)
        if rises(level_id, reached, ladder):
            member = lock_member(member_id)
            move(member, reached, cause="ladder", growth=growth)


def _jsonable(fields: dict) -> dict:
    return {key: value for key, value in fields.items() if key in LEVEL_FIELDS}


def add_levels(rows: list[dict]) -> list[Level]:
    """Add levels no operator asked for (seed-demo's, not audited) in one transaction; members whose
    growth reaches one move up."""
    with transaction():
        added = [Level(**_jsonable(fields), created_at=clock.now()) for fields in rows]
        db.session.add_all(added)
        db.session.flush()
        ladder_changed()
    return added


def set_benefits(benefits: dict[int, dict]) -> None:
    """Set benefits no operator asked for (seed-demo's, not audited): level id → benefit fields, in one
    transaction; they apply from now on."""
    with transaction():
        for level_id, fields in benefits.items():
            _check_packs(fields)
            level = get_level(level_id)
            for key in fields.keys() & BENEFIT_FIELDS:
                setattr(level, key, fields[key])
        snapshots.changed(SNAPSHOT)
