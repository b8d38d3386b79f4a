"""GET /admin/stats: the daily figures of a range by day, week or month, their totals and those of the range
before, and the cohort table. Read from the stored rows alone (one statement), and today's figures
computed live when the range reaches today.

In a bucket (and the totals) the counts are summed; what stands at the end (members, points outstanding,
liability, members by level) is the last day's; active members are the mean of the days' (a member active
on several days is one on each), `active_member_days` their sum. A day with no stored row has no figures:
a bucket without any answers null, never a zero it does not know.
"""
import csv
import io
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from models import DailyFigures, db
from models.stats import FIGURE_COLUMNS
from services.levels import levels
from services.platform import clock
from services.platform.errors import InvalidRequest
from services.stats import rollup
from services.stats.activity import RETURN_DAYS
from services.stats.window import ONE_DAY, each_day

MAX_DAYS = 366
GRANULARITIES = ("day", "week", "month")
AT_END = ("total_members", "points_outstanding", "liability_fen")
RETURNS = tuple(f"{kind}_d{n}" for kind in ("active", "signed") for n in RETURN_DAYS)
COUNTS = tuple(name for name in FIGURE_COLUMNS if name not in (*AT_END, *RETURNS, "active_members"))
BREAKDOWNS = tuple(name for name in rollup.DETAILS if name != "members_by_level")
COMPARED = (*COUNTS, "active_members", "active_member_days", *AT_END)


def report(*, since: date, until: date, granularity: str) -> dict:
    """The figures from `since` to `until` (days past today have none: the series stops at today)."""
    check_range(since, until)
    today = clock.today()
    through = min(until, today)
    before = since - timedelta(days=(through - since).days + 1)
    figures = _figures(before, min(through + timedelta(days=max(RETURN_DAYS)), today - ONE_DAY))
    if through == today:
        figures[today] = rollup.live_today()
    days = each_day(since, through)
    totals = _with_rates(_summary(_found(figures, days)))
    previous = _with_rates(_summary(_found(figures, each_day(before, since - ONE_DAY))))
    return {"from": since, "to": until, "through": through, "granularity": granularity,
            "series": _series(figures, days, granularity), "totals": totals, "previous": previous,
            "change": {name: _change(totals[name], previous[name]) for name in COMPARED},
            "cohorts": [_cohort(figures, day, today) for day in days]}


def check_range(since: date, until: date) -> None:
    """A range the report answers (InvalidRequest naming the field otherwise)."""
    today = clock.today()
    if since > until:
        raise InvalidRequest("`from` is after `to`.", details={"from": ["Must not be after `to`."]})
    if (until - since).days + 1 > MAX_DAYS:
        raise InvalidRequest(f"At most {MAX_DAYS} days a call.",
                             details={"to": [f"At most {MAX_DAYS} days from `from` on."]})
    if since > today:
        raise InvalidRequest(f"`from` is after today ({today}): there are no figures for days to come.",
                             details={"from": [f"Must not be after {today}."]})


def _figures(first: date, last: date) -> dict:
    rows = db.session.scalars(select(DailyFigures).where(DailyFigures.day >= first, DailyFigures.day <= last))
    return {row.day: rollup.as_figures(row) for row in rows}


def _bucket(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def _series(figures: dict, days: list[date], granularity: str) -> list[dict]:
    buckets: dict[date, list] = {}
    for day in days:
        buckets.setdefault(_bucket(day, granularity), []).append(day)
    return [{"date": start, **_summary(_found(figures, in_bucket))} for start, in_bucket in buckets.items()]


def _found(figures: dict, days: list[date]) -> list[dict]:
    """The figures of those of `days` that have them, in order."""
    return [figures[day] for day in days if day in figures]


def _summary(days: list[dict]) -> dict:
    """The figures of some days together (none: every figure null)."""
    if not days:
        return {"days": 0, **dict.fromkeys((*COMPARED, "members_by_level", *BREAKDOWNS))}
    active_days, last = sum(day["active_members"] for day in days), days[-1]
    return {"days": len(days), **{name: sum(day[name] for day in days) for name in COUNTS},
            "active_members": (2 * active_days + len(days)) // (2 * len(days)),  # the mean, half up
            "active_member_days": active_days,
            "total_members": last["total_members"], "points_outstanding": last["points_outstanding"],
            "liability_fen": last["points_outstanding"] * current_app.config["POINT_VALUE_FEN"],
            "members_by_level": _by_level_code(last["members_by_level"]),
            **{name: _added(day[name] for day in days) for name in BREAKDOWNS}}


def _added(breakdowns) -> dict:
    """Breakdowns (counts by a key, or by keys nested) added key by key."""
    total: dict = {}
    for breakdown in breakdowns:
        for key, value in breakdown.items():
            total[key] = _added([total.get(key, {}), value]) if isinstance(value, dict) else total.get(key, 0) + value
    return total


def _by_level_code(by_id: dict) -> dict:
    ladder = levels.ladder()
    return {(ladder[int(key)].code if key.isdigit() and int(key) in ladder else key): count
            for key, count in by_id.items()}


def _with_rates(summary: dict) -> dict:
    """Redemption (spent / issued) and breakage (expired / issued); null without points issued."""
    issued = summary["points_issued"]
    return {**summary, "redemption_rate": summary["points_spent"] / issued if issued else None,
            "breakage_rate": summary["points_expired"] / issued if issued else None}


def _change(now: int | None, before: int | None) -> float | None:
    """The change against the range before, as a share of it; null on a zero (or unknown) baseline."""
    return None if not before or now is None else (now - before) / before


def _cohort(figures: dict, day: date, today: date) -> dict:
    """Of the members who joined on `day`, the share active (and signed in) N days later; null while day N
    is not over or has no figures, and on a day nobody joined."""
    joined = figures[day]["new_members"] if day in figures else None

    def share(kind: str, n: int):
        back = day + timedelta(days=n)
        if not joined or back >= today or back not in figures:
            return None
        return figures[back][f"{kind}_d{n}"] / joined

    return {"date": day, "new_members": joined,
            "retention": {f"d{n}": share("active", n) for n in RETURN_DAYS},
            "signin_retention": {f"d{n}": share("signed", n) for n in RETURN_DAYS}}


CSV_FIELDS = ("date", "days", *COMPARED)
CSV_BY_REASON = ("points_issued_by_reason", "points_spent_by_reason")


def as_csv(answer: dict) -> str:
    """The series as CSV, one bucket a line: its counts, then the points issued and spent by each reason."""
    reasons = {name: sorted({reason for bucket in answer["series"] for reason in bucket[name] or {}})
               for name in CSV_BY_REASON}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_FIELDS, *(f"{name[:-len('_by_reason')]}:{reason}" for name in CSV_BY_REASON
                                    for reason in reasons[name])])
    for bucket in answer["series"]:
        writer.writerow([*("" if bucket[name] is None else bucket[name] for name in CSV_FIELDS),
                         *((bucket[name] or {}).get(reason, "" if bucket[name] is None else 0)
                           for name in CSV_BY_REASON for reason in reasons[name])])
    return out.getvalue()
