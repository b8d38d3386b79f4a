"""Each test of the daily figures has a database and a Redis of its own: a figure counts every member,
entry and payment of its day, so no other test's rows may be in them. Their members travel days ahead."""
from datetime import timedelta

import pytest

from models import DailyFigures, db
from services.stats import rollup
from tests.support.apps import app_of_its_own
from tests.support.dates import at


@pytest.fixture
def app(sandbox):
    yield from app_of_its_own(sandbox, "stats", redis_db_below=3)


@pytest.fixture(autouse=True)
def _tokens_outlive_the_days(long_tokens):
    pass


def go(clock, day, time="10:00"):
    """The app's clock at `time` (Beijing) of a business day."""
    clock.freeze(at(f"{day}T{time}:00+08:00"))


def after_midnight(clock, day):
    """Just after `day` ended, the worker's job rolls up (yesterday, and the days that may have moved)."""
    go(clock, day + timedelta(days=1), "00:30")
    return rollup.roll_due()


def stored(day) -> dict | None:
    db.session.rollback()
    row = db.session.scalar(db.select(DailyFigures).where(DailyFigures.day == day))
    return None if row is None else rollup.as_figures(row)


def stats(client, headers, **query):
    query = {{"from_": "from"}.get(key, key): str(value) for key, value in query.items()}
    return client.get("/api/v1/admin/stats", headers=headers, query_string=query)

