"""The level policy: the window growth is counted over, whether levels go down, and when levels are evaluated.

A policy row is never edited. An operator's change is a new row effective from the next evaluation of the
policy in force, so a change never acts on the past and never takes back what was paid; a second change
before then replaces the first. Evaluations fall at the end of each period: each calendar year for the
lifetime and calendar-year windows, each month for the rolling twelve months.
"""
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import bindparam, delete, func, select

from models import GrowthAccount, GrowthEntry, LevelPolicy, db
from services.platform import audit_trail, clock, round_trips, snapshots
from services.platform.db import transaction

SNAPSHOT = "level_policies"
DEFAULT = SimpleNamespace(id=None, growth_window="lifetime", downgrade="none", grace_days=30, effective_from=None)


def all_policies() -> list[SimpleNamespace]:
    rows = db.session.scalars(select(LevelPolicy).order_by(LevelPolicy.effective_from, LevelPolicy.id))
    return [SimpleNamespace(id=row.id, growth_window=row.growth_window, downgrade=row.downgrade,
                            grace_days=row.grace_days, effective_from=row.effective_from) for row in rows]


def policies() -> list[SimpleNamespace]:
    """Every policy, oldest first: this process's copy. Exact by construction, like the sign-in rules: a
    change takes effect at the next evaluation, never at once, so a copy SECONDS old decides alike."""
    return snapshots.get(SNAPSHOT, all_policies)


def in_effect(at: datetime | None = None, *, rows: list | None = None) -> SimpleNamespace:
    """The policy in force at `at` (now): the newest whose effective_from has come, else the default."""
    at = at or clock.now()
    current = DEFAULT
    for row in policies() if rows is None else rows:
        if row.effective_from <= at:
            current = row
    return current


def pending(at: datetime | None = None) -> SimpleNamespace | None:
    """A policy set by an operator that has not taken effect yet."""
    at = at or clock.now()
    later = [row for row in policies() if row.effective_from > at]
    return later[-1] if later else None


def next_evaluation(policy: SimpleNamespace, after: datetime | None = None) -> datetime:
    """The first evaluation strictly after `after` (now) under `policy`: the next first of January, or
    the next first of a month for the rolling twelve months (business time)."""
    day = clock.local(after or clock.now()).date()
    if policy.growth_window == "rolling_12_months":
        return clock.start_of_day(date(day.year + day.month // 12, day.month % 12 + 1, 1))
    return clock.start_of_day(date(day.year + 1, 1, 1))


def window_start(growth_window: str, end: datetime) -> datetime | None:
    """Where the window of growth that counts at `end` begins (None: since the start). A window ending at
    an evaluation is the period that evaluation closes."""
    if growth_window == "lifetime":
        return None
    last = clock.local(end - timedelta(microseconds=1))
    if growth_window == "calendar_year":
        return clock.start_of_day(date(last.year, 1, 1))
    end_local = clock.local(end)
    year_ago = end_local.replace(year=end_local.year - 1, day=min(end_local.day, 28)) if (
        end_local.month == 2 and end_local.day == 29) else end_local.replace(year=end_local.year - 1)
    return year_ago.astimezone(UTC)


def window_growth(member_id: int, growth_window: str, end: datetime | None = None) -> int:
    """The member's growth counted in the window ending at `end` (now), net of reversals."""
    if end is None:
        return round_trips.read(window_growth_read(member_id, growth_window))[0]
    return net(db.session.scalar(_window_sum(growth_window, end).where(GrowthEntry.member_id == member_id)))


def window_growth_read(member_id: int, growth_window: str) -> round_trips.Read:
    """window_growth up to now, as a read to go in one round trip with others."""
    kind, params = growth_now(member_id, growth_window)
    return round_trips.Read(((_GROWTH_READS[kind], params),), lambda rows: net(rows[0][0]))


def growth_now(member_id: int, growth_window: str) -> tuple[str, dict]:
    """Which of GROWTH_NOW counts the member's growth in the window up to now, and its parameters."""
    if growth_window == "lifetime":
        return "lifetime", {"member": member_id}
    end = clock.now()
    return "since", {"member": member_id, "start": window_start(growth_window, end), "end": end}


def net(total) -> int:
    return max(int(total or 0), 0)


_entries, _accounts = GrowthEntry.__table__, GrowthAccount.__table__
# the member's growth up to now, as scalar subqueries of :member (and the window's :start and :end), for
# statements that read it with other things (GET /me's level summary)
GROWTH_NOW = {
    "lifetime": select(_accounts.c.total).where(_accounts.c.member_id == bindparam("member")).scalar_subquery(),
    "since": select(func.coalesce(func.sum(_entries.c.delta), 0)).where(
        _entries.c.member_id == bindparam("member"), _entries.c.created_at >= bindparam("start"),
        _entries.c.created_at <= bindparam("end")).scalar_subquery(),
}
_GROWTH_READS = {kind: select(growth) for kind, growth in GROWTH_NOW.items()}


def window_growths(growth_window: str, end: datetime | None = None, member_ids=None) -> dict[int, int]:
    """window_growth of many members (every member, or `member_ids`) in one statement."""
    stmt = _window_sum(growth_window, end).add_columns(GrowthEntry.member_id).group_by(GrowthEntry.member_id)
    if member_ids is not None:
        stmt = stmt.where(GrowthEntry.member_id.in_(member_ids))
    return {member_id: max(int(total), 0) for total, member_id in db.session.execute(stmt).all()}


def _window_sum(growth_window: str, end: datetime | None):
    """Growth entries of the window ending at `end` (an evaluation: the entries before it), or now (every
    entry so far, the one just written included)."""
    stmt = select(func.coalesce(func.sum(GrowthEntry.delta), 0))
    if end is None:
        end = clock.now()
        stmt = stmt.where(GrowthEntry.created_at <= end)
    else:
        stmt = stmt.where(GrowthEntry.created_at < end)
    if (start := window_start(growth_window, end)) is not None:
        stmt = stmt.where(GrowthEntry.created_at >= start)
    return stmt


def set_policy(operator_id: int, *, growth_window: str, downgrade: str, grace_days: int) -> dict:
    """Set the policy from the next evaluation on (audited); a change not yet in force is replaced."""
    with transaction():
        now = clock.now()
        starts = next_evaluation(in_effect(now, rows=all_policies()), now)
        db.session.execute(delete(LevelPolicy).where(LevelPolicy.effective_from > now))
        row = LevelPolicy(growth_window=growth_window, downgrade=downgrade, grace_days=grace_days,
                          effective_from=starts, operator_id=operator_id, created_at=now)
        db.session.add(row)
        db.session.flush()
        audit_trail.record(operator_id, "level_policy.set", target_type="level_policy", target_id=row.id,
                           reason=None, details={"growth_window": growth_window, "downgrade": downgrade,
                                                 "grace_days": grace_days, "effective_from": starts.isoformat()})
        snapshots.changed(SNAPSHOT)
    return describe()


def upcoming(at: datetime | None = None) -> datetime:
    """When the next evaluation happens, under the policy in force at `at` (now)."""
    at = at or clock.now()
    return next_evaluation(in_effect(at), at)


def describe() -> dict:
    """The policy in force, the one waiting for the next evaluation, and when that is."""
    waiting = pending()
    return {**_view(in_effect()), "next_evaluation": upcoming(), "pending": _view(waiting) if waiting else None}


def _view(policy: SimpleNamespace) -> dict:
    return {"growth_window": policy.growth_window, "downgrade": policy.downgrade, "grace_days": policy.grace_days,
            "effective_from": policy.effective_from}
