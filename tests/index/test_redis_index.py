"""The Redis index the hot reads trust without SQL: member cards, repairs after failed writes, cached
board tops, rebuild-redis after FLUSHALL, and hot answers that keep to their documented schemas."""
from datetime import date, timedelta

import pytest
import redis
from sqlalchemy import select

from blueprints.leaderboards import StandingsSchema
from blueprints.signin import CalendarSchema
from models import RedisRepair, db
from services.index import redis_repair
from services.index.redis_rebuild import rebuild_redis_command
from services.leaderboards import leaderboards
from services.platform.redis_client import get_redis
from services.signin import signin_index
from tests.support.api import assert_error
from tests.support.dates import at
from tests.support.db import row_counts
from tests.support.leaderboards import board, earn, ids_in

SYNTHETIC = 900_000_000  # board members that are not in SQL


@pytest.fixture
def redis_away(app, monkeypatch):
    """Call it to make Redis unreachable from the app; call `.back()` to bring it back."""
    class Away:
        def __call__(self):
            self.real = get_redis()
            monkeypatch.setitem(app.extensions, "redis", redis.Redis(port=1, socket_connect_timeout=1))

        def back(self):
            monkeypatch.setitem(app.extensions, "redis", self.real)
    return Away()


def _calendar(client, member, **query):
    return client.get("/api/v1/signin/calendar", headers=member["headers"], query_string=query)


def _repairs() -> set:
    db.session.rollback()
    return {(row.kind, row.member_id) for row in db.session.scalars(select(RedisRepair))}


def test_a_revoked_token_is_refused_though_its_card_was_cached(client, login):
    member = login()
    assert _calendar(client, member).status_code == 200  # the card is in Redis now
    assert client.post("/api/v1/auth/logout", headers=member["headers"]).status_code == 204
    assert_error(_calendar(client, member), 401)


def test_a_revocation_redis_missed_is_repaired_before_the_next_read(client, login, redis_away):
    member = login()
    assert _calendar(client, member).status_code == 200
    redis_away()
    assert client.post("/api/v1/auth/logout", headers=member["headers"]).status_code == 204
    assert ("member_card", member["member"]["id"]) in _repairs()
    redis_away.back()  # Redis still holds the old card
    assert_error(_calendar(client, member), 401)
    assert ("member_card", member["member"]["id"]) not in _repairs()


def test_a_failed_index_write_is_noted_and_the_job_repairs_it(app, client, login, clock, redis_away):
    clock.freeze(at("2038-03-10T09:00:00+08:00"))
    member = login()
    mid = member["member"]["id"]
    assert _calendar(client, member).get_json()["total_days"] == 0  # the index holds "no sign-ins"
    redis_away()
    assert client.post("/api/v1/signin", headers=member["headers"]).status_code == 200
    assert {("signin", mid), ("leaderboards", None)} <= _repairs()
    redis_away.back()
    assert redis_repair.repair_waiting() >= 2  # what the worker's periodic job runs
    assert not {key for key in _repairs() if key[1] in (mid, None)}
    totals = signin_index.parse_totals(get_redis().get(signin_index.totals_key(mid)))
    assert (totals.total, totals.last_day, totals.streak) == (1, date(2038, 3, 10), 1)
    assert signin_index.days_in(get_redis().get(signin_index.month_key(mid, "2038-03"))) == {10}


def test_the_index_never_goes_back_whoever_writes_last(app, client, login, clock):
    clock.freeze(at("2038-04-01T09:00:00+08:00"))
    member = login()
    mid = member["member"]["id"]
    for n in range(3):
        clock.freeze(at(f"2038-04-0{n + 1}T09:00:00+08:00"))
        assert client.post("/api/v1/signin", headers=member["headers"]).status_code == 200
    fresh = get_redis().get(signin_index.totals_key(mid))
    stale = signin_index.Totals(2, date(2038, 4, 2), 2, 2)  # a slow reader's snapshot, written late
    signin_index._write_back(mid, date(2038, 4, 1), stale, None)
    assert get_redis().get(signin_index.totals_key(mid)) == fresh


def test_a_board_top_stays_cached_until_the_top_changes(client, clock, named):
    clock.freeze(at("2038-05-05T10:00:00+08:00"))
    m = named("A", "B")
    b = leaderboards.BOARDS["points_week"]
    now = clock.now()
    leaderboards.write_board(b, [(SYNTHETIC + n, 1000 + n, now) for n in range(120)])
    tops = leaderboards.board_keys(b)[1]
    earn(m["A"], 10)
    assert board(client, m["B"])["me"] == {"rank": None, "score": 0}
    assert get_redis().hexists(tops, "50")
    earn(m["A"], 5)  # still far below the top 100: the cached top stands
    assert get_redis().hexists(tops, "50")
    assert board(client, m["A"])["me"] == {"rank": 121, "score": 15}
    earn(m["A"], 5000)  # into the top: the cached top goes, the answer has A first
    assert not get_redis().hexists(tops, "50")
    answer = board(client, m["B"])
    assert ids_in(answer, m) == [("A", 1, 5015)]
    assert answer["items"][1] == {"rank": 2, "score": 1119, "member": {"nickname": "微信用户", "avatar_url": ""}}


def test_a_new_nickname_shows_on_a_cached_board(client, clock, named):
    clock.freeze(at("2038-06-07T10:00:00+08:00"))
    m = named("C")
    earn(m["C"], 30)
    assert ids_in(board(client, m["C"]), m) == [("C", 1, 30)]
    res = client.patch("/api/v1/me", json={"nickname": "Zed"}, headers=m["C"]["headers"])
    assert res.status_code == 200
    assert [item["member"]["nickname"] for item in board(client, m["C"])["items"]] == ["Z**"]


def test_hot_answers_keep_to_their_documented_schemas(client, named, clock):
    clock.freeze(at("2038-07-08T10:00:00+08:00"))
    m = named("D")
    earn(m["D"], 12)
    assert client.post("/api/v1/signin", headers=m["D"]["headers"]).status_code == 200
    for schema, answer in ((CalendarSchema(), _calendar(client, m["D"], month="2038-07").get_json()),
                           (StandingsSchema(), board(client, m["D"]))):
        assert schema.dump(schema.load(answer)) == answer


def test_flushall_then_rebuild_redis_gives_identical_answers(app, client, make_member, clock):
    start = date(2038, 8, 1)
    clock.freeze(at("2038-07-31T09:00:00+08:00"))
    members = [make_member(points_=100) for _ in range(2)]
    for n in (0, 1, 3):
        clock.freeze(at(f"{start + timedelta(days=n)}T09:00:00+08:00"))
        for member in members:
            assert client.post("/api/v1/signin", headers=member["headers"]).status_code == 200
    made_up = client.post("/api/v1/signin/makeup", headers=members[0]["headers"], json={"day": "2038-08-03"})
    assert made_up.status_code == 200

    def answers():
        return [(_calendar(client, member, month=month).get_json(), board(client, member, name))
                for member in members for month in ("2038-07", "2038-08")
                for name in ("points_week", "points_month", "streak")]
    before = answers()
    get_redis().flushdb()  # FLUSHALL, for this test database
    result = app.test_cli_runner().invoke(rebuild_redis_command)
    assert result.exit_code == 0, result.output
    assert "rebuilt" in result.output
    assert answers() == before
    assert row_counts(RedisRepair)["redis_repair"] == 0
