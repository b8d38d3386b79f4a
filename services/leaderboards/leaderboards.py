"""Leaderboards: Redis sorted sets per period, an index of SQL rebuilt whenever it is missing.

Boards: `points_week` / `points_month` (points earned in the current ISO week / month in TIMEZONE,
from the ledger's earn entries), `streak` (current sign-in streaks: one board per business day,
so a streak that broke drops off the next day) and `invites_week` / `invites_month` (friends who
qualified through the member's card in the period, counted by the invites area). Keys are
Cluster-safe, one hash tag per board and period (`lb:{points_week:2026-W48}`), each expiring a few
periods later.

Score = value * 2**bits + (2**bits - 1 - s), s = whole seconds from the board's epoch (the period's
start; 2020-01-01 for streaks) to the instant the member reached that value. Equal values share the
integer part, and the one who got there first has the larger fraction, so is listed first. A
member's rank = 1 + ZCOUNT(key, (value + 1) * 2**bits, +inf): only strictly higher values count, so
ties share a rank (1, 2, 2, 4). Equal scores (same value, same second) fall back to Redis's order,
member id as text, descending; the SQL fallback sorts the same way.

A board exists in Redis only whole: a rebuild writes it to a temporary key with a sentinel member
("_", score -1) and renames it; earnings are applied after the SQL commit, and only to boards that
exist (a missing board is rebuilt from SQL on read, which already counts them); when Redis cannot
take them, services.index.redis_repair rebuilds the boards. Points earned are
additive and the reach time is the latest earning, so the applied score equals the rebuilt one.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from models import PointsEntry, db
from services.index import redis_index
from services.platform import clock
from services.platform.areas import wiring
from services.platform.errors import NotFound
from services.platform.redis_client import get_redis


SENTINEL = "_"
TOP_SIZE = 100  # the longest top a reader may ask for: its rendering is cached (services.leaderboards.standings)
REPAIR_KIND = "leaderboards"
WRITE_BATCH = 10_000
STREAK_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Board:
    name: str
    period: str  # clock.period_key kind
    bits: int  # seconds of tie-break below the value
    ttl: int


BOARDS = {b.name: b for b in (Board("points_week", "week", 22, 5 * 7 * 86400),
                              Board("points_month", "month", 22, 100 * 86400),
                              Board("streak", "day", 32, 3 * 86400),
                              Board("invites_week", "week", 22, 5 * 7 * 86400),
                              Board("invites_month", "month", 22, 100 * 86400))}
POINTS_BOARDS = ("points_week", "points_month")
INVITE_BOARDS = ("invites_week", "invites_month")  # friends who qualified; rows from the invites area

# After a write to KEYS[1] that moved ARGV[1] from rank `before` to `after` (0-based, nil when off the
# board): if the top TOP_SIZE changed, bump the board's version (KEYS[3]) and drop its cached tops (KEYS[2]).
_TOUCH_TOP = """
local after = redis.call('ZREVRANK', KEYS[1], ARGV[1])
if (before and before < %d) or (after and after < %d) then
  redis.call('INCR', KEYS[3])
  redis.call('DEL', KEYS[2])
end
""" % (TOP_SIZE, TOP_SIZE)
# Applies an earning to a board that exists: value added, reach time the later of the two.
_EARN = redis_index.Script("""
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local slot, value, secs = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local before = redis.call('ZREVRANK', KEYS[1], ARGV[1])
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if old then
  old = tonumber(old)
  local v = math.floor(old / slot)
  value = value + v
  secs = math.max(secs, slot - 1 - (old - v * slot))
end
redis.call('ZADD', KEYS[1], string.format('%.17g', value * slot + (slot - 1 - secs)), ARGV[1])
""" + _TOUCH_TOP + "return 1")
# Sets a score on a board that exists (0 removes the member).
_SET = redis_index.Script("""
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local before = redis.call('ZREVRANK', KEYS[1], ARGV[1])
if ARGV[2] == '0' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end
""" + _TOUCH_TOP + "return 1")


# -- keys and scores ------------------------------------------------------------------------

def board(name: str) -> Board:
    if name not in BOARDS:
        raise NotFound("No such leaderboard.", details={"boards": sorted(BOARDS)})
    return BOARDS[name]


def key(b: Board, at: datetime | None = None) -> str:
    return f"lb:{{{b.name}:{clock.period_key(b.period, at)}}}"


def board_keys(b: Board, at: datetime | None = None) -> list[str]:
    """The board, its cached tops (a hash: limit → rendered items) and its version (bumped whenever
    its top TOP_SIZE changes): one hash tag, so a script may touch all three."""
    k = key(b, at)
    return [k, f"{k}:top", f"{k}:v"]


def tops_changed_calls(at: datetime | None = None) -> list:
    """The calls that drop every current board's cached tops (a name or an avatar changed)."""
    return [call for b in BOARDS.values() for _, tops, version in [board_keys(b, at)]
            for call in (("incr", version), ("expire", version, b.ttl), ("delete", tops))]


def score(b: Board, value: int, reached_at: datetime, at: datetime | None = None) -> int:
    """The encoded score: value, then who reached it first."""
    slot = 1 << b.bits
    return value * slot + slot - 1 - _seconds(b, reached_at, at)


def _seconds(b: Board, reached_at: datetime, at: datetime | None = None) -> int:
    epoch = STREAK_EPOCH if b.name == "streak" else clock.period_bounds(b.period, at or reached_at)[0]
    return min(max(int((reached_at - epoch).total_seconds()), 0), (1 << b.bits) - 1)


# -- writes -----------------------------------------------------------------------------------

def note_points_earned(member_id: int, amount: int, *, at: datetime | None = None) -> None:
    """Add an earning of the current transaction to the week and month boards once it commits."""
    _add_after_commit(POINTS_BOARDS, member_id, amount, at or clock.now())


def note_invite_qualified(member_id: int, *, at: datetime) -> None:
    """Count a friend of the member's who qualified (in the current transaction) once it commits."""
    _add_after_commit(INVITE_BOARDS, member_id, 1, at)


def _add_after_commit(names: tuple[str, ...], member_id: int, amount: int, at: datetime) -> None:
    redis_index.write_after_commit(
        [(_EARN, board_keys(BOARDS[name], at), [member_id, 1 << BOARDS[name].bits, amount, _seconds(BOARDS[name], at)])
         for name in names], repair=(REPAIR_KIND, None))


def record_streak_after_commit(member_id: int, streak: int) -> None:
    """Set the member's current streak on today's board once the current transaction commits."""
    redis_index.write_after_commit([streak_call(member_id, streak)], repair=(REPAIR_KIND, None))


def record_streak(member_id: int, streak: int, *, at: datetime | None = None) -> None:
    """Set the member's current streak on the board of `at`'s day, now."""
    redis_index.execute([streak_call(member_id, streak, at)])


def streak_call(member_id: int, streak: int, at: datetime | None = None) -> tuple:
    b, at = BOARDS["streak"], at or clock.now()
    return _SET, board_keys(b, at), [member_id, score(b, streak, at) if streak > 0 else 0]


def write_board(b: Board, rows: Iterable[tuple[int, int, datetime]], at: datetime | None = None) -> int:
    """Replace the board of `at`'s period with these (member_id, value, reached_at) rows; returns how many."""
    client, k, count = get_redis(), key(b, at), 0
    tmp = f"{k}:building"
    pipe = client.pipeline(transaction=False)
    pipe.delete(tmp)
    pipe.zadd(tmp, {SENTINEL: -1})
    batch = {}
    for member_id, value, reached_at in rows:
        batch[str(member_id)] = score(b, value, reached_at, at)
        if len(batch) == WRITE_BATCH:
            count += len(batch)
            pipe.zadd(tmp, batch)
            pipe.execute()
            batch = {}
    count += len(batch)
    if batch:
        pipe.zadd(tmp, batch)
    pipe.expire(tmp, b.ttl)
    pipe.rename(tmp, k)
    _, tops, version = board_keys(b, at)
    pipe.incr(version)
    pipe.expire(version, b.ttl)
    pipe.delete(tops)
    pipe.execute()
    return count


# -- SQL, the source of truth ----------------------------------------------------------------

def rows_from_sql(b: Board, at: datetime | None = None) -> list[tuple[int, int, datetime]]:
    """(member_id, value, reached_at) of every member on the board of `at`'s period."""
    if b.name not in POINTS_BOARDS:  # kept by another area (its AREA's board source of this name)
        return [row for row in wiring().board_sources[b.name](at or clock.now()) if row[1] > 0]
    start, end = clock.period_bounds(b.period, at)
    return [tuple(row) for row in db.session.execute(
        select(PointsEntry.member_id, func.sum(PointsEntry.delta), func.max(PointsEntry.created_at))
        .where(PointsEntry.kind == "earn", PointsEntry.delta > 0,
               PointsEntry.created_at >= start, PointsEntry.created_at < end)
        .group_by(PointsEntry.member_id))]


def rebuild_board(b: Board, at: datetime | None = None) -> int:
    """Rebuild one board of the current period from SQL; returns the members written."""
    return write_board(b, rows_from_sql(b, at), at)


def rebuild_boards(progress=None) -> int:
    """rebuild-redis: the current week and month boards from the ledger, today's streak board and the
    current invitation boards.

    The streak board's rows come from the sign-in area (its AREA's board source "streak"), the
    invitation boards' from the invites area.
    """
    written = 0
    for b in BOARDS.values():
        members = rebuild_board(b)
        written += 1
        if progress:
            progress(members)
    return written




def repair_boards(_member_id: int | None) -> None:
    """Redis repair: a board write was lost, so every current board is rebuilt."""
    rebuild_boards()
