"""The one source of time, movable by tests, and the one function that turns instants into periods."""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app


class Clock:
    """Real time, unless a test froze it or moved it."""

    def __init__(self):
        self._frozen_at = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return (self._frozen_at or datetime.now(UTC)) + self._offset

    def freeze(self, at: datetime) -> None:
        self._frozen_at, self._offset = at.astimezone(UTC), timedelta(0)

    def advance(self, delta: timedelta) -> None:
        self._offset += delta

    def reset(self) -> None:
        self._frozen_at, self._offset = None, timedelta(0)


def init_app(app):
    app.extensions["clock"] = Clock()


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return current_app.extensions["clock"].now()


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def local(at: datetime | None = None) -> datetime:
    """An instant seen in the business time zone."""
    return (at or now()).astimezone(zone())


def today() -> date:
    """The business day now, in the configured TIMEZONE."""
    return local().date()


def period_key(kind: str, at: datetime | None = None) -> str:
    """The business period an instant falls in: day 2026-11-23, week 2026-W48, month 2026-11, year 2026."""
    day = local(at).date()
    if kind == "day":
        return day.isoformat()
    if kind == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "month":
        return f"{day.year}-{day.month:02d}"
    if kind == "year":
        return str(day.year)
    raise ValueError(f"unknown period kind {kind!r}")


def period_bounds(kind: str, at: datetime | None = None) -> tuple[datetime, datetime]:
    """The instants (UTC) the business day, ISO week (from Monday) or month containing `at` begins and ends."""
    day = local(at).date()
    if kind == "week":
        first = day - timedelta(days=day.weekday())
        return start_of_day(first), start_of_day(first + timedelta(days=7))
    if kind == "month":
        first = day.replace(day=1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return start_of_day(first), start_of_day(following)
    if kind == "day":
        return start_of_day(day), start_of_day(day + timedelta(days=1))
    raise ValueError(f"unknown period kind {kind!r}")


def backoff(attempt: int, *, first: float, most: float) -> timedelta:
    """How long to wait before try number `attempt + 1` after `attempt` failures: `first`, doubling, at most `most`."""
    return timedelta(seconds=min(first * 2 ** (attempt - 1), most))


def within(starts_at: datetime | None, ends_at: datetime | None, at: datetime | None = None) -> bool:
    """Whether `at` (now) falls in the window [starts_at, ends_at); a missing end is open."""
    at = at or now()
    return (starts_at is None or starts_at <= at) and (ends_at is None or at < ends_at)


def start_of_day(day: date) -> datetime:
    """The instant (UTC) a business day begins."""
    return datetime(day.year, day.month, day.day, tzinfo=zone()).astimezone(UTC)
