"""Leaderboards through HTTP on a real Redis: ties, masking, periods, rebuilds, Redis away, rollbacks.

Each test freezes the clock in its own week far in the future, so the boards it reads are its own.
"""
from datetime import timedelta

import pytest
import redis

from services.index.redis_rebuild import rebuild_redis_command
from services.leaderboards import leaderboards, standings
from services.ledger import points
from services.platform.db import transaction
from services.platform.redis_client import get_redis
from tests.support.api import assert_error, unique
from tests.support.dates import at
from tests.support.leaderboards import board, earn, ids_in

BOARDS = ("points_week", "points_month", "streak")








def test_ranks_share_ties_and_list_first_to_reach_first(client, clock, named):
    clock.freeze(at("2031-03-03T10:00:00+08:00"))
    m = named("A", "B", "C", "D")
    earn(m["A"], 100)
    earn(m["C"], 30)
    board(client, m["A"])  # the first read builds the board from SQL; the rest arrive after commits
    clock.advance(timedelta(minutes=2))
    earn(m["C"], 20)  # C reaches 50 at 10:02
    clock.advance(timedelta(minutes=3))
    earn(m["B"], 50)  # B reaches 50 at 10:05: after C
    earn(m["D"], 10)
    answer = board(client, m["B"])
    assert ids_in(answer, m) == [("A", 1, 100), ("C", 2, 50), ("B", 2, 50), ("D", 4, 10)]
    assert answer["me"] == {"rank": 2, "score": 50}
    assert board(client, m["D"], limit=2)["me"] == {"rank": 4, "score": 10}  # outside the top: ZCOUNT


def test_names_are_masked(client, clock, login):
    clock.freeze(at("2031-03-17T10:00:00+08:00"))
    people = {"张三丰": "张**", "Alice": "A***", "Al": "A*", "": "微信用户"}
    members = []
    for score, nickname in enumerate(people, start=1):
        member = login()
        client.patch("/api/v1/me", json={"nickname": nickname}, headers=member["headers"])
        client.patch("/api/v1/me", json={"avatar_url": "https://example.com/a.png"}, headers=member["headers"])
        earn(member, score)
        members.append(member)
    items = board(client, members[0])["items"]
    assert [i["member"]["nickname"] for i in items] == list(reversed(people.values()))
    assert {i["member"]["avatar_url"] for i in items} == {"https://example.com/a.png"}
    assert standings.mask("  ") == "微信用户" and standings.mask("X") == "X*"


def test_me_off_the_board_and_limits(client, clock, named):
    clock.freeze(at("2031-03-24T10:00:00+08:00"))
    m = named("A", "B")
    earn(m["A"], 5)
    answer = board(client, m["B"], name="points_month")
    assert answer["me"] == {"rank": None, "score": 0}
    res = client.get("/api/v1/leaderboards/points_week?limit=101", headers=m["A"]["headers"])
    assert_error(res, 422)


def test_unknown_board_is_404(client, login):
    member = login()
    assert assert_error(client.get("/api/v1/leaderboards/points_year", headers=member["headers"]), 404)["code"] == \
        "not_found"
    assert_error(client.get("/api/v1/leaderboards/points_week"), 401)


def test_week_rollover_starts_a_new_board(client, clock, named):
    clock.freeze(at("2031-04-13T23:59:00+08:00"))  # Sunday night, Shanghai
    m = named("A", "B")
    earn(m["A"], 40)
    earn(m["B"], 10)
    assert board(client, m["A"])["me"] == {"rank": 1, "score": 40}
    clock.advance(timedelta(minutes=2))  # Monday 00:01: a new ISO week, same month
    earn(m["B"], 5)
    week = board(client, m["A"])
    assert week["me"] == {"rank": None, "score": 0}
    assert ids_in(week, m) == [("B", 1, 5)]
    assert ids_in(board(client, m["A"], name="points_month"), m) == [("A", 1, 40), ("B", 2, 15)]


def test_flush_then_rebuild_gives_identical_answers(app, client, clock, named):
    clock.freeze(at("2031-05-05T09:00:00+08:00"))
    m = named("A", "B", "C")
    for member, amount in ((m["A"], 7), (m["B"], 7), (m["C"], 9)):
        earn(member, amount)
        clock.advance(timedelta(seconds=30))
    before = {name: board(client, m["A"], name=name) for name in BOARDS}
    assert ids_in(before["points_week"], m) == [("C", 1, 9), ("A", 2, 7), ("B", 2, 7)]

    get_redis().flushdb()
    result = app.test_cli_runner().invoke(rebuild_redis_command)
    assert "leaderboards: 5 keys" in result.output, result.output  # with the invitation boards (tests/invites)
    assert {name: board(client, m["A"], name=name) for name in BOARDS} == before
    get_redis().flushdb()  # and a missing board is rebuilt on read
    assert {name: board(client, m["A"], name=name) for name in BOARDS if name != "streak"} == \
        {name: before[name] for name in BOARDS if name != "streak"}


def test_redis_unreachable_answers_from_sql(app, client, clock, named, monkeypatch):
    clock.freeze(at("2031-06-02T12:00:00+08:00"))
    m = named("A", "B", "C")
    earn(m["A"], 3)
    earn(m["B"], 8)
    expected = {name: board(client, m["A"], name=name) for name in ("points_week", "points_month")}
    monkeypatch.setitem(app.extensions, "redis", redis.Redis(port=1, socket_connect_timeout=1))
    clock.advance(timedelta(seconds=10))
    earn(m["C"], 8)  # the SQL write stands though Redis is away
    for name in ("points_week", "points_month"):
        answer = board(client, m["A"], name=name)
        assert ids_in(answer, m) == [("B", 1, 8), ("C", 1, 8), ("A", 3, 3)]
        assert answer["me"] == {"rank": 3, "score": 3} and ids_in(expected[name], m) == [("B", 1, 8), ("A", 2, 3)]
    monkeypatch.undo()
    get_redis().delete(*(leaderboards.key(leaderboards.BOARDS[n]) for n in ("points_week", "points_month")))
    assert ids_in(board(client, m["C"]), m) == [("B", 1, 8), ("C", 1, 8), ("A", 3, 3)]  # rebuilt on read


def test_rolled_back_earnings_never_reach_the_board(client, clock, named):
    clock.freeze(at("2031-07-07T12:00:00+08:00"))
    m = named("A", "B")
    earn(m["A"], 10)
    assert board(client, m["B"])["me"] == {"rank": None, "score": 0}
    with pytest.raises(RuntimeError), transaction():
        points.earn(m["B"]["member"]["id"], 50, reason="test", business_key=unique("lb-rollback"))
        raise RuntimeError("the unit of work fails after the earning")
    earn(m["A"], 1)  # a later commit does not carry the rolled-back earning along
    answer = board(client, m["B"])
    assert answer["me"] == {"rank": None, "score": 0}
    assert ids_in(answer, m) == [("A", 1, 11)]
    week = leaderboards.key(leaderboards.BOARDS["points_week"])
    assert get_redis().zscore(week, m["B"]["member"]["id"]) is None


def test_streak_board_ties_and_reach_order(client, clock, named):
    clock.freeze(at("2031-08-04T08:00:00+08:00"))
    m = named("A", "B", "C")
    board(client, m["A"], name="streak")  # built (from the sign-in area's source, when it has one)
    leaderboards.record_streak(m["B"]["member"]["id"], 5, at=clock.now())
    leaderboards.record_streak(m["A"]["member"]["id"], 5, at=clock.now() + timedelta(minutes=1))
    leaderboards.record_streak(m["C"]["member"]["id"], 9, at=clock.now() + timedelta(minutes=2))
    answer = board(client, m["A"], name="streak")
    assert ids_in(answer, m) == [("C", 1, 9), ("B", 2, 5), ("A", 2, 5)]
    assert answer["me"] == {"rank": 2, "score": 5}
    leaderboards.record_streak(m["C"]["member"]["id"], 0)  # a broken streak leaves the board
    assert ids_in(board(client, m["A"], name="streak"), m) == [("B", 1, 5), ("A", 1, 5)]


def test_scores_encode_value_then_first_to_reach():
    week = leaderboards.BOARDS["points_week"]
    start = at("2031-03-03T00:00:00+08:00")
    early, late = (leaderboards.score(week, 50, start + timedelta(seconds=s), start) for s in (1, 600))
    assert leaderboards.score(week, 49, start, start) < late < early < leaderboards.score(week, 51, start, start)
    assert early // (1 << week.bits) == 50
