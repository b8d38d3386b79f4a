"""audit-ledger recomputes the stored daily figures from the books: a row altered by hand is reported and the
command exits 1; mended, the books are clean again."""
from datetime import date, timedelta

import pytest

from tests.stats.conftest import go
from tests.support.audit import assert_reported, audit, corrupted

D0 = date(2025, 5, 5)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


@pytest.fixture
def rolled(app, client, login, clock):
    """Three days with a member signing in on each, rolled up; then ten days on, past the worker's re-rolls."""
    go(clock, day(0))
    member = login()
    for n in range(3):
        go(clock, day(n))
        assert client.post("/api/v1/signin", headers=member["headers"]).status_code == 200
    go(clock, day(3))
    rolled = app.test_cli_runner().invoke(args=["rollup-stats", "--from", str(day(0)), "--to", str(day(2))])
    assert rolled.exit_code == 0, rolled.output
    go(clock, day(10))


def test_the_stored_figures_agree_with_the_books_to_begin_with(app, rolled):
    code, output = audit(app)
    assert code == 0 and "ledger clean" in output and "stats" in output, output


@pytest.mark.parametrize("breaking,mending,names", [
    ("UPDATE daily_figures SET points_issued = points_issued + 1 WHERE day = :d",
     "UPDATE daily_figures SET points_issued = points_issued - 1 WHERE day = :d",
     ["daily figures of {d}: points_issued stored 6 but the books say 5",
      "daily figures of {d}: points_outstanding 10 does not follow from the day before (5 + 6)"]),
    ("UPDATE daily_figures SET points_outstanding = points_outstanding + 7 WHERE day = :d",
     "UPDATE daily_figures SET points_outstanding = points_outstanding - 7 WHERE day = :d",
     ["daily figures of {d}: points_outstanding stored 17 but the books say 10"]),
    ("UPDATE daily_figures SET active_members = 0 WHERE day = :d",
     "UPDATE daily_figures SET active_members = 1 WHERE day = :d",
     ["daily figures of {d}: active_members stored 0 but the books say 1"]),
    ("UPDATE daily_figures SET details = '{}' WHERE day = :d",
     "DELETE FROM daily_figures WHERE day = :d",  # rolled again below
     ["daily figures of {d}: members_by_level stored None but the books say {{'none': 1}}"]),
], ids=["issued", "outstanding", "active", "details"])
def test_an_altered_row_is_reported_and_exits_1(app, rolled, breaking, mending, names):
    with corrupted(breaking, mending, d=str(day(1))):
        assert_reported(app, *(name.format(d=day(1)) for name in names))
    app.test_cli_runner().invoke(args=["rollup-stats", "--from", str(day(1)), "--to", str(day(1))])
    code, output = audit(app)
    assert code == 0, output


def test_a_row_the_worker_still_rolls_again_must_follow_from_the_day_before(app, rolled, clock):
    go(clock, day(3))  # day 1 is inside the re-roll window: recomputed every hour, not audited against the books
    with corrupted("UPDATE daily_figures SET points_outstanding = 99 WHERE day = :d",
                   "UPDATE daily_figures SET points_outstanding = 10 WHERE day = :d", d=str(day(1))):
        assert_reported(app, f"daily figures of {day(1)}: points_outstanding 99 does not follow from the day before")
