"""seed-demo --history: a small history lived through the services leaves stored daily figures with real
activity and retention cohorts, clean books, the clock at real time, and is written once."""
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from demo import habits
from models import DailyFigures, Member, PointsEntry, db
from services.payments import bills
from services.platform import clock as app_clock
from tests.stats.conftest import stats, stored
from tests.support.apps import app_of_its_own
from tests.support.audit import audit

DAYS, MEMBERS = 16, 20  # payments stop 8 days before today (the bill's catch-up): 8 days with some


@pytest.fixture(scope="module")
def app(sandbox):
    """A database and a Redis of its own: the history's figures count every member of their days."""
    yield from app_of_its_own(sandbox, "demo", redis_db_below=4)


@pytest.fixture(scope="module")
def seeded(app):
    """The first run of `seed-demo --history 16 --members 20`: its output."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["seed-demo", "--history", str(DAYS), "--members", str(MEMBERS)])
    assert result.exit_code == 0, result.output
    return result.output


def _days():
    yesterday = app_clock.today() - timedelta(days=1)
    return [yesterday - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]


def _written() -> tuple:
    db.session.rollback()
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Member, PointsEntry, DailyFigures))


def test_history_stores_the_figures_of_each_day_up_to_yesterday(seeded, app):
    figures = [stored(day) for day in _days()]
    assert all(figures), seeded
    assert stored(app_clock.today()) is None  # today is live
    assert sum(day["new_members"] for day in figures) == MEMBERS + 1  # and the sandbox's demo member, on day one
    assert figures[0]["new_members"] > figures[-1]["new_members"]  # more join at the launch
    assert all(day["signins"] > 0 and day["points_issued"] > 0 and day["tasks_claimed"] > 0 for day in figures)
    assert sum(day["payments"] for day in figures) > 0 and sum(day["lottery_draws"] for day in figures) > 0
    assert not any(day["payments"] or day["refunds"] for day in figures[-(bills.CATCH_UP_DAYS + 1):])
    assert f"{MEMBERS} members joined" in seeded


def test_history_gives_cohorts_a_next_day_retention(seeded, client, operator):
    days = _days()
    answer = stats(client, operator("viewer"), from_=days[0], to=days[-1]).get_json()
    shares = [cohort["retention"]["d1"] for cohort in answer["cohorts"] if cohort["retention"]["d1"] is not None]
    assert shares and all(0 <= share <= 1 for share in shares) and any(shares)


def test_history_leaves_the_books_clean_and_the_clock_at_real_time(seeded, app):
    code, output = audit(app)
    assert code == 0, output
    assert abs(app_clock.now() - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_second_run_writes_nothing(seeded, app):
    before = _written()
    result = app.test_cli_runner().invoke(args=["seed-demo", "--history", str(DAYS), "--members", str(MEMBERS)])
    assert result.exit_code == 0, result.output
    assert "nothing written" in result.output
    assert _written() == before


def test_the_members_join_as_the_seeded_habits_say(seeded):
    """A seeded random.Random: the same members join on the same days, whatever the day of the run."""
    days = _days()
    people = habits.population(random.Random(habits.SEED), days[0], days[-1], MEMBERS)
    expected = [sum(1 for habit in people if habit.joins == day) for day in days]
    expected[0] += 1  # the sandbox's demo member, seeded as the programme opens
    assert [stored(day)["new_members"] for day in days] == expected
