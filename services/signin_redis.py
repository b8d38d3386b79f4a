"""The sign-in index in Redis: a calendar bitmap per member-month and the member's current streak.

Keys share the member's hash tag (`signin:{m:42}:2026-11`, `signin:{m:42}:streak`), so one pipeline
touches one Cluster slot. Bit n-1 of a month's bitmap is day n, signed or made up. The streak key
holds "last day|streak on it|total days". SQL is the record: every read checks the index against
counts it reads from SQL anyway, and rebuilds a key that is stale or missing; Redis errors never fail
a request (reads then answer from SQL).
"""
import logging
from datetime import date, timedelta

from redis.exceptions import RedisError
from sqlalchemy import func, select

from models import db
from models.signin import SigninRecord
from services import clock, leaderboards, redis_rebuild
from services.redis_client import get_redis

log = logging.getLogger(__name__)
REBUILD_BATCH = 1000


def month_key(member_id: int, month: str) -> str:
    return f"signin:{{m:{member_id}}}:{month}"


def streak_key(member_id: int) -> str:
    return f"signin:{{m:{member_id}}}:streak"


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def bitmap(days: list[date]) -> bytes:
    """The bytes of a month bitmap with the given days set (Redis numbers bits from the high end)."""
    raw = bytearray(4)
    for day in days:
        raw[(day.day - 1) // 8] |= 0x80 >> ((day.day - 1) % 8)
    return bytes(raw)


def days_in(raw: bytes | None) -> set[int]:
    """The day numbers set in a month bitmap."""
    return {i * 8 + bit + 1 for i, byte in enumerate(raw or b"") for bit in range(8) if byte & (0x80 >> bit)}


def streak_value(last_day: date | None, streak: int, total: int) -> str:
    return f"{last_day.isoformat() if last_day else ''}|{streak}|{total}"


def record_day(member_id: int, day: date, *, last_day: date, streak: int, total: int) -> None:
    """After the commit: set the day's bit and the member's streak; a Redis failure is logged, never raised."""
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.setbit(month_key(member_id, _month(day)), day.day - 1, 1)
        pipe.set(streak_key(member_id), streak_value(last_day, streak, total))
        pipe.execute()
    except RedisError:
        log.warning("sign-in index not updated for member %s on %s; rebuilt on read", member_id, day, exc_info=True)


def read(member_id: int, month: str) -> tuple[bytes | None, str | None] | None:
    """One round trip: the month's bitmap and the streak value; None when Redis is unreachable."""
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.get(month_key(member_id, month))
        pipe.get(streak_key(member_id))
        raw, streak = pipe.execute()
    except RedisError:
        log.warning("Redis unreachable: calendar of member %s from SQL", member_id, exc_info=True)
        return None
    return raw, streak.decode() if streak is not None else None


def write(member_id: int, *, month: str | None = None, days: list[date] = (), streak: str | None = None) -> None:
    """Replace a member's month bitmap and/or streak with what SQL says."""
    try:
        pipe = get_redis().pipeline(transaction=False)
        if month is not None:
            pipe.set(month_key(member_id, month), bitmap(days))
        if streak is not None:
            pipe.set(streak_key(member_id), streak)
        pipe.execute()
    except RedisError:
        log.warning("could not rebuild the sign-in index of member %s", member_id, exc_info=True)


def rebuild_calendars(progress=None) -> int:
    """rebuild-redis: every member-month bitmap and streak key from SQL; returns the keys written."""
    written, after = 0, (0, date.min)
    totals = dict(db.session.execute(select(SigninRecord.member_id, func.count())
                                     .group_by(SigninRecord.member_id)).all())
    while rows := db.session.execute(
            select(SigninRecord.member_id, SigninRecord.day, SigninRecord.streak)
            .where((SigninRecord.member_id > after[0])
                   | ((SigninRecord.member_id == after[0]) & (SigninRecord.day > after[1])))
            .order_by(SigninRecord.member_id, SigninRecord.day).limit(REBUILD_BATCH)).all():
        written += _write_batch(rows, totals)
        after = (rows[-1].member_id, rows[-1].day)
        if progress:
            progress(len(rows))
    return written


def _write_batch(rows, totals: dict) -> int:
    """Write the bitmaps of a batch's member-months, SETBIT by SETBIT (a month may span two batches)."""
    pipe, last = get_redis().pipeline(transaction=False), {}
    for row in rows:
        pipe.setbit(month_key(row.member_id, _month(row.day)), row.day.day - 1, 1)
        last[row.member_id] = row
    for member_id, row in last.items():  # rows come in day order: a member's last one wins
        pipe.set(streak_key(member_id), streak_value(row.day, row.streak, totals[member_id]))
    pipe.execute()
    return len({(row.member_id, _month(row.day)) for row in rows}) + len(last)


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


redis_rebuild.register("signin", rebuild_calendars)
leaderboards.register_streak_source(current_streaks)
