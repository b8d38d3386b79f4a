"""audit-ledger's check of the daily figures: the stored rows against the books.

- Every stored row of the AUDIT_DAYS before the worker's re-roll window is recomputed from the books
  (what stood at the first one's start from the whole ledger, then day by day), and each figure that
  differs is reported: the points outstanding at a day's end are the sum of the ledger to then. Rows
  inside the window are not: the worker recomputes them every hour, since the books of the last days
  may still move (a notify or a refund confirmed late).
- Every stored row follows from the one of the day before: the points outstanding and the members at
  its end are those of the day before plus what the row says the day moved (a cheap read of the rows
  alone, all of them).
"""
from datetime import timedelta

from sqlalchemy import select

from models import DailyFigures, db
from services.platform import clock
from services.stats.rollup import REROLL_DAYS, State, as_figures, figures_of
from services.stats.window import ONE_DAY, Window

AUDIT_DAYS = 31


def audit_problems() -> list[str]:
    return recomputed_problems() + chain_problems()


def recomputed_problems() -> list[str]:
    last = clock.today() - timedelta(days=REROLL_DAYS + 1)
    rows = db.session.scalars(select(DailyFigures).where(DailyFigures.day > last - timedelta(days=AUDIT_DAYS),
                                                         DailyFigures.day <= last).order_by(DailyFigures.day)).all()
    problems, state, day = [], None, None
    for row in rows:
        if state is None:
            state = State.moved(Window.before(row.day))
        elif day + ONE_DAY < row.day:
            state = state.plus(State.moved(Window.days(day + ONE_DAY, row.day - ONE_DAY)))
        books = figures_of(row.day, state)
        problems += _differences(row.day, as_figures(row), books)
        state, day = State.of(books), row.day
    return problems


def _differences(day, stored: dict, books: dict) -> list[str]:
    return [f"daily figures of {day}: {name} stored {stored.get(name)!r} but the books say {value!r} "
            f"(flask rollup-stats --from {day} --to {day} recomputes it)"
            for name, value in books.items() if stored.get(name) != value]


def chain_problems() -> list[str]:
    problems, before = [], None
    for row in db.session.scalars(select(DailyFigures).order_by(DailyFigures.day)):
        if before is not None and before.day + ONE_DAY == row.day:
            moved = (row.points_issued + row.points_returned - row.points_spent - row.points_expired
                     - row.points_reversed)
            if row.points_outstanding != before.points_outstanding + moved:
                problems.append(f"daily figures of {row.day}: points_outstanding {row.points_outstanding} does not "
                                f"follow from the day before ({before.points_outstanding} + {moved})")
            if row.total_members != before.total_members + row.new_members:
                problems.append(f"daily figures of {row.day}: total_members {row.total_members} does not follow from "
                                f"the day before ({before.total_members} + {row.new_members})")
        before = row
    return problems
