"""The sign-in index in Redis: a calendar bitmap per member-month and the member's sign-in totals.

Keys share the member's hash tag with the member card (`signin:{m:42}:2026-11`, `signin:{m:42}:totals`),
so a calendar read is one round trip to one Cluster slot. A month's bitmap (SETBIT) has bit n-1 set
for day n signed or made up, bit 32+n-1 for a made-up day, bit 64+n-1 for a make-up paid with a card,
and bit MARKER once it was built from SQL. The totals key holds "total|last day|streak on it|longest".

SQL is the record and reads trust the index: a key that is missing (never built, expired, flushed) is
rebuilt from SQL on read; one a failed write left stale is rebuilt by services.index.redis_repair. Writes
never go backwards whoever writes last: bits are only ever set, and the totals key only takes a value
with at least its total (the total only grows). Keys expire after INDEX_TTL: the index rebuilds
itself from SQL at least that often. Redis errors never fail a request (reads then answer from SQL).
"""
import calendar as calendar_
import logging
from dataclasses import dataclass
from datetime import date, timedelta

from redis.exceptions import RedisError
from sqlalchemy import func, select

from models import db
from models.signin import SigninRecord
from services.index import redis_index, redis_rebuild
from services.platform import clock

log = logging.getLogger(__name__)
INDEX_TTL = 7 * 24 * 3600
MADE_UP, CARD, MARKER = 32, 64, 127
REPAIR_KIND = "signin"


@dataclass(frozen=True)
class Totals:
    """A member's sign-ins as a whole: how many, the last day, the streak on it, the longest streak."""

    total: int = 0
    last_day: date | None = None
    streak: int = 0
    longest: int = 0


@dataclass(frozen=True)
class Month:
    """One member-month of the calendar: day numbers signed (made-ups included), made up, paid with a card."""

    signed: frozenset = frozenset()
    made_up: frozenset = frozenset()
    card_paid: frozenset = frozenset()


def month_key(member_id: int, month: str) -> str:
    return f"signin:{{m:{member_id}}}:{month}"


def totals_key(member_id: int) -> str:
    return f"signin:{{m:{member_id}}}:totals"


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


# -- reading ------------------------------------------------------------------------------------

def prefetch_calls(member_id: int, month: str) -> list:
    """The calls that fetch a member's totals and one month (to ride with the token check)."""
    return [("get", totals_key(member_id)), ("get", month_key(member_id, month))]


def totals_and_month(member_id: int, first: date, fetched: list | None) -> tuple[Totals, Month]:
    """The totals and the month from what `reads` fetched, rebuilding what was missing from SQL;
    all from SQL when Redis was away (fetched is None)."""
    raw_totals, raw_month = fetched or (None, None)
    totals_missing, month_missing = raw_totals is None, raw_month is None or not _built(raw_month)
    totals = totals_from_sql(member_id) if totals_missing else parse_totals(raw_totals)
    month = month_from_sql(member_id, first) if month_missing else parse_month(raw_month)
    if fetched is not None and (totals_missing or month_missing):
        _write_back(member_id, first, totals if totals_missing else None, month if month_missing else None)
    return totals, month


def parse_totals(raw: bytes) -> Totals:
    total, last_day, streak, longest = raw.decode().split("|")
    return Totals(int(total), date.fromisoformat(last_day) if last_day else None, int(streak), int(longest))


def parse_month(raw: bytes) -> Month:
    return Month(_bits(raw, 0), _bits(raw, MADE_UP), _bits(raw, CARD))


def days_in(raw: bytes | None) -> set[int]:
    """The day numbers signed (or made up) in a month bitmap."""
    return set(_bits(raw or b"", 0))


# the 1-based positions of the bits set in each byte value, highest bit first (Redis's bit order)
_BYTE_BITS = tuple(tuple(n + 1 for n in range(8) if value & (0x80 >> n)) for value in range(256))


def _bits(raw: bytes, base: int) -> frozenset:
    """The day numbers whose bits are set in the 32 bits from `base` (a byte boundary)."""
    start = base // 8
    return frozenset(8 * i + n for i, byte in enumerate(raw[start:start + 4]) for n in _BYTE_BITS[byte])


def _built(raw: bytes) -> bool:
    return len(raw) > MARKER // 8 and bool(raw[MARKER // 8] & (0x80 >> (MARKER % 8)))


def totals_from_sql(member_id: int) -> Totals:
    total, longest, last_day = db.session.execute(
        select(func.count(), func.max(SigninRecord.streak), func.max(SigninRecord.day))
        .where(SigninRecord.member_id == member_id)).one()
    if not total:
        return Totals()
    streak = db.session.scalar(select(SigninRecord.streak).where(SigninRecord.member_id == member_id,
                                                                 SigninRecord.day == last_day))
    return Totals(total, last_day, streak, longest)


def month_from_sql(member_id: int, first: date) -> Month:
    last = first.replace(day=calendar_.monthrange(first.year, first.month)[1])
    return _month_of(db.session.execute(select(SigninRecord.day, SigninRecord.kind, SigninRecord.paid_with).where(
        SigninRecord.member_id == member_id, SigninRecord.day.between(first, last))).all())


def _month_of(rows) -> Month:
    """A Month from one member-month's records (rows with day, kind, paid_with)."""
    return Month(frozenset(row.day.day for row in rows),
                 frozenset(row.day.day for row in rows if row.kind == "made_up"),
                 frozenset(row.day.day for row in rows if row.paid_with == "card"))


def _write_back(member_id: int, first: date, totals: Totals | None, month: Month | None) -> None:
    calls = []
    if totals is not None:
        calls.append(_totals_call(member_id, totals))
    if month is not None:
        calls += _month_calls(member_id, month_of(first), month)
    try:
        redis_index.execute(calls)
    except (RedisError, OSError):
        log.warning("sign-in index of member %s not written back; rebuilt on a later read", member_id)


# -- writing ------------------------------------------------------------------------------------

def record_after_commit(member_id: int, day: date, *, kind: str, paid_with: str | None, totals: Totals) -> None:
    """Index a sign-in (or make-up) of the current transaction once it commits."""
    key = month_key(member_id, month_of(day))
    calls = [("setbit", key, day.day - 1, 1), _totals_call(member_id, totals)]
    if kind == "made_up":
        calls.append(("setbit", key, MADE_UP + day.day - 1, 1))
    if paid_with == "card":
        calls.append(("setbit", key, CARD + day.day - 1, 1))
    redis_index.write_after_commit(calls, repair=(REPAIR_KIND, member_id))


def _totals_call(member_id: int, totals: Totals) -> tuple:
    value = (f"{totals.total}|{totals.last_day.isoformat() if totals.last_day else ''}"
             f"|{totals.streak}|{totals.longest}")
    return redis_index.SET_NEWER, [totals_key(member_id)], [totals.total, value, INDEX_TTL]


def _month_calls(member_id: int, month: str, days: Month) -> list:
    key = month_key(member_id, month)
    calls = [("setbit", key, base + n - 1, 1)
             for base, numbers in ((0, days.signed), (MADE_UP, days.made_up), (CARD, days.card_paid))
             for n in sorted(numbers)]
    return [*calls, ("setbit", key, MARKER, 1), ("expire", key, INDEX_TTL)]


# -- rebuilding ---------------------------------------------------------------------------------

def rebuild_member(member_id: int | None) -> None:
    """Rebuild one member's keys from SQL: every month they signed in, and their totals."""
    if member_id is None:
        return
    months = {date(row.year, row.month, 1) for row in db.session.scalars(
        select(SigninRecord.day).where(SigninRecord.member_id == member_id))}
    calls = [_totals_call(member_id, totals_from_sql(member_id))]
    for first in sorted(months):
        calls += _month_calls(member_id, month_of(first), month_from_sql(member_id, first))
    redis_index.execute(calls)


def rebuild_calendars(progress=None) -> int:
    """rebuild-redis: every member-month bitmap and totals key from SQL; returns the keys written."""
    return sum(_rebuild_batch([row.member_id for row in rows]) for rows in redis_rebuild.in_batches(
        select(SigninRecord.member_id).group_by(SigninRecord.member_id), SigninRecord.member_id, progress=progress))


def _rebuild_batch(member_ids: list[int]) -> int:
    """The keys of a batch of members, from two queries and one round trip."""
    rows = db.session.execute(
        select(SigninRecord.member_id, SigninRecord.day, SigninRecord.kind, SigninRecord.paid_with,
               SigninRecord.streak)
        .where(SigninRecord.member_id.in_(member_ids)).order_by(SigninRecord.member_id, SigninRecord.day)).all()
    by_member: dict[int, list] = {}
    for row in rows:
        by_member.setdefault(row.member_id, []).append(row)
    calls = []
    for member_id, records in by_member.items():
        last = records[-1]
        calls.append(_totals_call(member_id, Totals(len(records), last.day, last.streak,
                                                    max(r.streak for r in records))))
        months: dict[str, list] = {}
        for r in records:
            months.setdefault(month_of(r.day), []).append(r)
        for month, days in months.items():
            calls += _month_calls(member_id, month, _month_of(days))
    redis_index.execute(calls)
    return sum(1 + len({month_of(r.day) for r in records}) for records in by_member.values())


def current_streaks(at) -> list[tuple[int, int, object]]:
    """The streak board's rows from SQL: (member_id, streak, when it was reached) of every member who
    signed in on the business day of `at` or the day before."""
    today = clock.local(at).date()
    rows = db.session.execute(
        select(SigninRecord.member_id, SigninRecord.day, SigninRecord.streak, SigninRecord.created_at)
        .where(SigninRecord.day.in_([today, today - timedelta(days=1)]))
        .order_by(SigninRecord.member_id, SigninRecord.day)).all()
    latest = {row.member_id: row for row in rows}  # day order: the later day wins
    return [(row.member_id, row.streak, row.created_at) for row in latest.values()]

