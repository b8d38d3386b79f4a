"""GET /admin/stats: cohorts, clear answers to every range a caller may send, the roles that may read it,
and a handful of statements whatever the range; rollup-stats and the worker's job."""
from datetime import date, timedelta

import pytest
from sqlalchemy import event

from models import db
from services.ledger import points
from services.platform.db import transaction
from services.stats import rollup
from tests.stats.conftest import after_midnight, go, stats, stored
from tests.support.api import assert_error, unique
from tests.support.payments import notify_xml, post_notify, start_payment

D0 = date(2025, 4, 7)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def _roll(app, first: date, last: date):
    result = app.test_cli_runner().invoke(args=["rollup-stats", "--from", str(first), "--to", str(last)])
    assert result.exit_code == 0, result.output
    return result.output


def test_cohort_shares_are_exact_and_a_day_nobody_joined_has_none(app, client, wx, login, clock, operator):
    go(clock, day(0))
    w, x, y, _z = login(), login(), login(), login()
    go(clock, day(1))
    for member in (w, x):
        assert client.post("/api/v1/signin", headers=member["headers"]).status_code == 200
    go(clock, day(7))
    assert client.post("/api/v1/signin", headers=w["headers"]).status_code == 200
    payment = start_payment(client, y, 1000)["payment"]  # active, not signed in
    assert post_notify(client, notify_xml(wx, payment["out_trade_no"]))
    go(clock, day(8))
    _roll(app, day(0), day(7))
    cohorts = stats(client, operator("viewer"), from_=day(0), to=day(1)).get_json()["cohorts"]
    assert cohorts == [
        {"date": str(day(0)), "new_members": 4, "retention": {"d1": 0.5, "d7": 0.5, "d30": None},
         "signin_retention": {"d1": 0.5, "d7": 0.25, "d30": None}},
        {"date": str(day(1)), "new_members": 0, "retention": {"d1": None, "d7": None, "d30": None},
         "signin_retention": {"d1": None, "d7": None, "d30": None}}]


def test_a_range_with_no_figures_answers_nulls_not_zeros(client, clock, operator):
    go(clock, day(0))
    answer = stats(client, operator("viewer"), from_=day(-30), to=day(-1)).get_json()
    assert len(answer["series"]) == 30 and {bucket["days"] for bucket in answer["series"]} == {0}
    assert answer["series"][0]["new_members"] is None and answer["totals"]["points_outstanding"] is None
    assert answer["totals"]["redemption_rate"] is None and set(answer["change"].values()) == {None}
    assert {cohort["retention"]["d1"] for cohort in answer["cohorts"]} == {None}


@pytest.mark.parametrize("query, status, field", [
    ({"from_": day(1), "to": day(0)}, 400, "from"),
    ({"from_": day(-366), "to": day(0)}, 400, "to"),  # 367 days
    ({"from_": day(1), "to": day(5)}, 400, "from"),  # all after today
    ({"from_": "2025-02-30", "to": day(0)}, 422, "from"),
    ({"to": day(0)}, 422, "from"),
    ({"from_": day(0), "to": day(0), "granularity": "year"}, 422, "granularity"),
], ids=["from-after-to", "367-days", "after-today", "no-such-date", "no-from", "granularity"])
def test_a_range_it_cannot_answer_is_a_clear_error(client, clock, operator, query, status, field):
    go(clock, day(0))
    error = assert_error(stats(client, operator("viewer"), **query), status)
    assert error["code"] == "invalid_request" and field in error["details"]


def test_366_days_and_a_range_past_today_are_answered(client, clock, operator):
    go(clock, day(0))
    viewer = operator("viewer")
    year = stats(client, viewer, from_=day(-365), to=day(0)).get_json()
    assert len(year["series"]) == 366 and year["through"] == str(day(0))
    ahead = stats(client, viewer, from_=day(-1), to=day(30), granularity="month").get_json()
    assert (ahead["through"], [bucket["date"] for bucket in ahead["series"]]) == (str(day(0)), ["2025-04-01"])


def test_operators_read_the_figures_and_no_one_else(client, clock, operator, login):
    go(clock, day(0))
    query = {"from": str(day(0)), "to": str(day(0))}
    assert_error(client.get("/api/v1/admin/stats", query_string=query), 401)
    assert_error(client.get("/api/v1/admin/stats", query_string=query, headers=login()["headers"]), 403)
    for role in ("viewer", "admin"):
        for path in ("/api/v1/admin/stats", "/api/v1/admin/stats.csv"):
            assert client.get(path, query_string=query, headers=operator(role)).status_code == 200


def _statements(app, call) -> list[str]:
    seen = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # the levels' codes come from the process's copy of the ladder, reloaded from SQL every 10 s at most
    return [statement for statement in seen if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK"))
            and "FROM level " not in statement]


def test_the_api_reads_the_stored_rows_in_one_statement_whatever_the_range(app, client, clock, login, operator):
    go(clock, day(0))
    login()
    go(clock, day(40))
    _roll(app, day(0), day(39))
    viewer = operator("viewer")
    stats(client, viewer, from_=day(0), to=day(0))  # the operator's first request warms what it caches
    week = _statements(app, lambda: stats(client, viewer, from_=day(30), to=day(36)))
    year = _statements(app, lambda: stats(client, viewer, from_=day(-325), to=day(39), granularity="month"))
    figures = [statement for statement in year if "daily_figures" in statement]
    assert len(week) == len(year) <= 3 and len(figures) == 1, year


def test_rollup_stats_refuses_a_day_not_over(app, clock):
    go(clock, day(0))
    result = app.test_cli_runner().invoke(args=["rollup-stats", "--from", str(day(-1)), "--to", str(day(0))])
    assert result.exit_code == 2 and "is not over" in result.output
    result = app.test_cli_runner().invoke(args=["rollup-stats", "--from", str(day(-1)), "--to", str(day(-2))])
    assert result.exit_code == 2 and "--from is after --to" in result.output


def test_the_workers_job_fills_the_days_since_it_last_ran_and_rolls_the_last_week_again(clock, login):
    go(clock, day(0))
    login()
    assert after_midnight(clock, day(0)) == {"from": str(day(-6)), "to": str(day(0)), "new": 7, "changed": 0,
                                             "unchanged": 0}
    go(clock, day(15))
    login()
    assert after_midnight(clock, day(19)) == {"from": str(day(1)), "to": str(day(19)), "new": 19, "changed": 0,
                                              "unchanged": 0}
    assert (stored(day(15))["new_members"], stored(day(19))["total_members"]) == (1, 2)
    assert after_midnight(clock, day(20))["from"] == str(day(14))
    assert rollup.due_days() == (day(14), day(20))  # still at 00:30 on day 21


def test_the_workers_job_rolls_again_from_the_day_a_make_up_mended(app, client, clock, login):
    go(clock, date(2025, 5, 1))
    member = login()
    with transaction():
        points.earn(member["member"]["id"], 100, reason="welcome", business_key=unique("welcome"))
    for signed in (1, 3):
        go(clock, date(2025, 5, signed))
        assert client.post("/api/v1/signin", headers=member["headers"]).status_code == 200
    go(clock, date(2025, 5, 20))
    _roll(app, date(2025, 5, 1), date(2025, 5, 19))
    assert client.post("/api/v1/signin/makeup", headers=member["headers"], json={"day": "2025-05-02"}).status_code == 200
    assert stored(date(2025, 5, 3))["streaks"]["1"] == 1
    assert after_midnight(clock, date(2025, 5, 20))["from"] == "2025-05-02"  # beyond the week it rolls again
    assert stored(date(2025, 5, 3))["streaks"]["3"] == 1 and stored(date(2025, 5, 2))["streaks"]["2"] == 1
