"""The daily rollup: every figure of a business day from the books, stored as one row, recomputable for
any past day (`rollup-stats`, the worker's job); today's computed live, never stored.

What stands at a day's end (members, points outstanding, members by level) is the end of the day before
plus what the day moved: the stored row of the day before when there is one, else the books from the
start. So rolling a day reads only that day's rows.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select, update

from models import DailyFigures, db
from models.stats import FIGURE_COLUMNS
from services.platform import clock
from services.platform.db import insert_once, transaction
from services.platform.progress import with_progress_bar
from services.stats import activity, books
from services.stats.window import ONE_DAY, Window, each_day

REROLL_DAYS = 7  # the worker rolls these last days again every hour: late notifies, refunds confirmed later
CATCH_UP_DAYS = 366  # days the worker fills in after the last stored one (a worker stopped for a while)
DETAILS = ("members_by_level", "streaks", "cycle_rewards", "points_issued_by_reason", "points_spent_by_reason",
           "points_reversed_by_reason", "points_returned_by_reason", "tasks", "lottery_prizes_by_kind",
           "payments_by_kind", "coupon_packs_by_source", "mall_by_kind", "guides")


@dataclass(frozen=True)
class State:
    """What stands at an instant: members, points outstanding (the ledger's sum), members by level."""

    members: int = 0
    points: int = 0
    levels: dict = field(default_factory=dict)

    def plus(self, other: "State") -> "State":
        levels = dict(self.levels)
        for level, count in other.levels.items():
            levels[level] = levels.get(level, 0) + count
        return State(self.members + other.members, self.points + other.points,
                     {level: count for level, count in sorted(levels.items()) if count})

    @classmethod
    def moved(cls, window: Window) -> "State":
        """What the window changed."""
        return cls.changed(activity.joined(window), books.points_net(window), activity.level_moves(window))

    @classmethod
    def changed(cls, joined: dict, points: int, moves: dict) -> "State":
        """The change of new members (by the level they joined at), points entries and moves between levels."""
        return cls(sum(joined.values()), points, dict(joined)).plus(cls(levels=moves))

    @classmethod
    def of(cls, figures: dict) -> "State":
        return cls(figures["total_members"], figures["points_outstanding"], figures["members_by_level"])


def as_figures(row: DailyFigures) -> dict:
    """A stored row as the figures it was rolled from."""
    return {**{column: getattr(row, column) for column in FIGURE_COLUMNS}, **row.details}


def opening(day: date) -> State:
    """What stood at the start of `day`: the last stored day's end and what the days since moved, or the
    books from their start."""
    last = db.session.scalar(
        select(DailyFigures).where(DailyFigures.day < day).order_by(DailyFigures.day.desc()).limit(1))
    if last is None:
        return State.moved(Window.before(day))
    state = State.of(as_figures(last))
    if last.day + ONE_DAY < day:
        state = state.plus(State.moved(Window.days(last.day + ONE_DAY, day - ONE_DAY)))
    return state


def figures_of(day: date, start: State) -> dict:
    """Every figure of `day`, what stood at its start being `start`."""
    window = Window.day(day)
    joined, moves, points = activity.joined(window), activity.level_moves(window), books.points(window)
    end = start.plus(State.changed(joined, points.pop("points_net"), moves))
    return {"new_members": sum(joined.values()), "total_members": end.members, "points_outstanding": end.points,
            "members_by_level": end.levels, **activity.active(day, window), **activity.signins(day, window), **points,
            **books.growth(window), **books.tasks(window), **books.lottery(window), **books.money(window),
            **books.mall(window), **books.coupons(window), **books.guides(window), **books.invitations(window)}


def live_today() -> dict:
    """Today's figures so far, computed now (never stored: the day is not over)."""
    today = clock.today()
    return figures_of(today, opening(today))


def roll(first: date, last: date, progress=None) -> dict:
    """Recompute and store the figures of every day from `first` to `last` (all before today), in order;
    how many rows were new, changed or unchanged."""
    if last >= clock.today():
        raise ValueError(f"{last} is not over: only days before today are rolled up (today's figures are live)")
    outcome = {"new": 0, "changed": 0, "unchanged": 0}
    state = opening(first)
    with with_progress_bar(progress, each_day(first, last)) as days:
        for day in days:
            figures = figures_of(day, state)
            outcome[_store(day, figures)] += 1
            state = State.of(figures)
    return outcome


def _store(day: date, figures: dict) -> str:
    stored = db.session.scalar(select(DailyFigures).where(DailyFigures.day == day))
    if stored is not None and as_figures(stored) == figures:
        return "unchanged"
    values = {**{column: figures[column] for column in FIGURE_COLUMNS},
              "details": {name: figures[name] for name in DETAILS}, "computed_at": clock.now()}
    with transaction():
        if insert_once(DailyFigures.__table__, key="day", day=day, **values) is None:
            db.session.execute(update(DailyFigures).where(DailyFigures.day == day).values(**values))
    return "new" if stored is None else "changed"


def due_days() -> tuple[date, date]:
    """The days the worker rolls: the last REROLL_DAYS, any day after the last stored one (up to
    CATCH_UP_DAYS back), and every day from the earliest one a make-up made since has mended."""
    today = clock.today()
    last = today - ONE_DAY
    first = last - timedelta(days=REROLL_DAYS - 1)
    stored = db.session.scalar(select(func.max(DailyFigures.day)))
    if stored is not None and stored < first:
        first = max(stored + ONE_DAY, last - timedelta(days=CATCH_UP_DAYS - 1))
    mended = activity.mended_since(Window.days(first, today))
    return (min(first, mended) if mended else first), last


def roll_due() -> dict:
    """The worker's job (hourly): yesterday once it is over, and the days before it that may have moved."""
    first, last = due_days()
    return {"from": first.isoformat(), "to": last.isoformat(), **roll(first, last)}


@click.command("rollup-stats")
@click.option("--from", "first", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="the first business day to roll up (YYYY-MM-DD)")
@click.option("--to", "last", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="the last one, before today (YYYY-MM-DD)")
@with_appcontext
def rollup_stats_command(first, last):
    """Recompute the daily figures of every business day from --from to --to (the worker keeps the last days)."""
    first, last = first.date(), last.date()
    if last >= clock.today():
        raise click.BadParameter(f"{last} is not over (today is {clock.today()}): today's figures are computed "
                                 "live, only days before it are rolled up", param_hint="--to")
    if first > last:
        raise click.BadParameter("--from is after --to", param_hint="--from")
    outcome = roll(first, last, progress=lambda days: click.progressbar(days, label="days rolled up"))
    click.echo(f"rolled up {first} to {last} ({(last - first).days + 1} days): {outcome['new']} new, "
               f"{outcome['changed']} changed, {outcome['unchanged']} unchanged")
    end = as_figures(db.session.scalar(select(DailyFigures).where(DailyFigures.day == last)))
    click.echo(f"at the end of {last}: {end['total_members']} members, {end['points_outstanding']} points "
               f"outstanding ({end['points_outstanding'] * current_app.config['POINT_VALUE_FEN'] / 100:.2f} yuan)")
