"""Daily sign-in: business days, streaks, the cycle, milestones, make-up, races, Redis, rules, reminders."""
import itertools
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
import redis
import requests
from sqlalchemy import func, select

from models import PointsEntry, db
from models.message import OutboxMessage
from models.signin import MemberBadge, SigninRecord, SigninRule
from services.platform.db import transaction
from services.platform.redis_client import get_redis
from services.signin import signin
from tests.support.api import assert_error, send
from tests.support.dates import at
from tests.support.db import row_counts

# Each test signs in in a year of its own, under rules it adds the day before: rules of other tests
# (always in other years) never apply to it.
_years = itertools.count(2040)
CYCLE = [{"points": p, "growth": 1} for p in (1, 2, 3, 4, 5, 6, 50)]
BADGE_7 = {"kind": "streak", "days": 7, "badge_code": "t_streak_7", "badge_name": "连签7天", "points": 20}


pytestmark = pytest.mark.usefixtures("long_tokens")  # these tests travel years ahead


@pytest.fixture
def admin(operator):
    return operator()


@pytest.fixture
def rules(client, admin, clock):
    """Freeze the clock the day before `first`, add a rule version (in force from `first`) and stay there."""
    def _rules(first: date, **fields):
        clock.freeze(at(f"{first - timedelta(days=1)}T12:00:00+08:00"))
        body = {"name": "test rules", "rewards": CYCLE, "milestones": [BADGE_7], **fields}
        res = client.post("/api/v1/admin/signin-rules", headers=admin, json=body)
        assert res.status_code == 201, res.get_json()
        assert res.get_json()["effective_from"] == first.isoformat()
        return res.get_json()
    return _rules


@pytest.fixture
def year():
    return next(_years)


def _go(clock, day: date, time="10:00"):
    clock.freeze(at(f"{day}T{time}:00+08:00"))


def _sign(client, member, status=200):
    res = client.post("/api/v1/signin", headers=member["headers"])
    assert res.status_code == status, res.get_json()
    return res.get_json()


def _calendar(client, member, month):
    res = client.get("/api/v1/signin/calendar", headers=member["headers"], query_string={"month": month})
    assert res.status_code == 200, res.get_json()
    return res.get_json()


def _makeup(client, member, day):
    return client.post("/api/v1/signin/makeup", headers=member["headers"], json={"day": str(day)})


def _states(calendar):
    return {item["day"]: item["state"] for item in calendar["days"]}


def _balance(client, member):
    return client.get("/api/v1/me", headers=member["headers"]).get_json()["points"]["balance"]


def test_2359_and_0001_shanghai_are_two_days_with_the_server_in_utc(client, login, rules, clock, year):
    first = date(year, 3, 10)
    rules(first)
    clock.freeze(at(f"{first}T23:59:00+08:00"))  # 15:59 UTC: the same UTC day as the next sign-in
    member = login()
    assert _sign(client, member)["day"] == str(first)
    assert_error(client.post("/api/v1/signin", headers=member["headers"]), 409)["code"] == "already_signed_in"
    clock.advance(timedelta(minutes=2))
    second = _sign(client, member)
    assert (second["day"], second["streak"], second["points"]) == (str(first + timedelta(days=1)), 2, 2)
    assert _calendar(client, member, f"{year}-03")["total_days"] == 2


def test_streak_survives_month_and_year_ends_and_a_missed_day_resets_it(client, login, rules, clock, year):
    start = date(year, 12, 30)
    rules(start)
    member = login()
    for n, day in enumerate([start, date(year, 12, 31), date(year + 1, 1, 1)], start=1):
        _go(clock, day)
        assert _sign(client, member)["streak"] == n
    _go(clock, date(year + 1, 1, 3))
    assert _calendar(client, member, f"{year + 1}-01")["streak"] == 0  # Jan 2 missed
    assert _sign(client, member)["streak"] == 1
    december, january = _calendar(client, member, f"{year}-12"), _calendar(client, member, f"{year + 1}-01")
    assert _states(december)[f"{year}-12-30"] == _states(december)[f"{year}-12-31"] == "signed"
    assert _states(december)[f"{year}-12-29"] == "missed"
    assert [_states(january)[f"{year + 1}-01-0{n}"] for n in (1, 2, 3, 4)] == ["signed", "missed", "signed", "future"]
    assert (january["streak"], january["longest_streak"], january["total_days"], january["signed_today"]) == (1, 3, 4,
                                                                                                               True)
    assert len(january["days"]) == 31 and len(_calendar(client, member, f"{year + 1}-02")["days"]) == 28


def test_cycle_pays_day_seven_once_per_cycle_and_the_milestone_badge_once(client, login, rules, clock, year):
    start = date(year, 5, 1)
    rules(start)
    member = login()
    answers = []
    for n in range(15):
        _go(clock, start + timedelta(days=n))
        answers.append(_sign(client, member))
    cycle_points = [reward["points"] for reward in CYCLE]
    assert [a["points"] for a in answers] == [*cycle_points[:6], 50 + 20, *cycle_points, 1]
    assert [a["streak"] for a in answers] == list(range(1, 16))
    assert [a["badges"] for a in answers if a["badges"]] == [[{"code": "t_streak_7", "name": "连签7天"}]]
    assert answers[6]["bonus"][0]["cycle_day"] == 7 and answers[6]["bonus"][1]["badge_code"] == "t_streak_7"
    assert _balance(client, member) == sum(cycle_points) * 2 + 20 + 1
    wall = client.get("/api/v1/badges", headers=member["headers"]).get_json()["items"]
    assert [(b["code"], b["earned_at"] is not None) for b in wall] == [("t_streak_7", True)]
    upcoming = _calendar(client, member, f"{year}-05")["upcoming_rewards"]
    assert [(u["day"], u["cycle_day"], u["points"]) for u in upcoming[:2]] == [
        (str(start + timedelta(days=15)), 2, 2), (str(start + timedelta(days=16)), 3, 3)]


def test_makeup_mends_the_streak_without_paying_twice(client, make_member, rules, clock, year):
    start = date(year, 6, 1)
    rules(start, cycle_days=3, rewards=[{"points": 1}, {"points": 2}, {"points": 100}],
          milestones=[{**BADGE_7, "days": 3, "badge_code": "t_streak_3", "points": 7}])
    member = make_member(points_=100)
    days = [start + timedelta(days=n) for n in range(6)]
    for day in days[:3] + days[4:5]:  # June 4 missed
        _go(clock, day)
        _sign(client, member)
    assert _balance(client, member) == 100 + 1 + 2 + 100 + 7 + 1
    allowance = _calendar(client, member, f"{year}-06")["makeup"]
    answer = _makeup(client, member, days[3])
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["kind"], body["streak"], body["points"], body["bonus"], body["badges"]) == ("made_up", 5, 0, [], [])
    assert body["cost_points"] == allowance["cost_points"]
    assert _balance(client, member) == 100 + 1 + 2 + 100 + 7 + 1 - allowance["cost_points"]
    calendar = _calendar(client, member, f"{year}-06")
    assert _states(calendar)[str(days[3])] == "made_up"
    assert (calendar["streak"], calendar["longest_streak"], calendar["makeup"]["left"]) == (5, 5, allowance["left"] - 1)
    assert assert_error(_makeup(client, member, days[3]), 409)["code"] == "already_signed_in"
    assert assert_error(_makeup(client, member, days[2]), 409)["code"] == "already_signed_in"
    _go(clock, days[5])
    assert (_sign(client, member)["streak"], db.session.scalar(select(func.count()).select_from(MemberBadge).where(
        MemberBadge.member_id == member["member"]["id"]))) == (6, 1)
    assert db.session.scalar(select(func.count()).select_from(PointsEntry).where(
        PointsEntry.business_key == f"signin:{member['member']['id']}:{days[3]}")) == 0


def test_makeup_refuses_today_future_other_months_before_joining_and_past_the_limit(client, make_member, rules, clock,
                                                                                   year, app, monkeypatch):
    rules(date(year, 7, 1))
    _go(clock, date(year, 7, 2))
    member, poor = make_member(points_=1000), make_member()
    _go(clock, date(year, 7, 20))
    for day in (date(year, 7, 20), date(year, 7, 21), date(year, 6, 30), date(year, 7, 1)):
        assert_error(_makeup(client, member, day), 422)
    monkeypatch.setitem(app.config, "SIGNIN_MAKEUP_PER_MONTH", 2)
    for day in (3, 4):
        assert _makeup(client, member, date(year, 7, day)).status_code == 200
    assert assert_error(_makeup(client, member, date(year, 7, 5)), 409)["code"] == "limit_reached"
    if _calendar(client, poor, f"{year}-07")["makeup"]["cost_points"]:
        assert assert_error(_makeup(client, poor, date(year, 7, 19)), 409)["code"] == "insufficient_points"


def test_twenty_parallel_signins_one_wins(client, login, rules, clock, year, live_server):
    day = date(year, 8, 8)
    rules(day)
    _go(clock, day)
    member = login()
    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(lambda _: requests.post(f"{live_server}/api/v1/signin", headers=member["headers"],
                                                      timeout=30), range(20)))
    assert sorted(res.status_code for res in codes) == [200] + [409] * 19
    assert {res.json()["error"]["code"] for res in codes if res.status_code == 409} == {"already_signed_in"}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(PointsEntry).where(
        PointsEntry.business_key == f"signin:{member['member']['id']}:{day}")) == 1


def test_calendar_rebuilt_after_flush_and_right_while_redis_is_down(client, make_member, rules, clock, year, app,
                                                                   monkeypatch):
    start = date(year, 9, 1)
    rules(start)
    member = make_member(points_=100)
    for n in (0, 1, 3, 4):
        _go(clock, start + timedelta(days=n))
        _sign(client, member)
    assert _makeup(client, member, start + timedelta(days=2)).status_code == 200
    before = _calendar(client, member, f"{year}-09")
    get_redis().flushdb()
    assert _calendar(client, member, f"{year}-09") == before
    assert get_redis().exists(f"signin:{{m:{member['member']['id']}}}:{year}-09")
    _go(clock, start + timedelta(days=5))
    real = get_redis()
    monkeypatch.setitem(app.extensions, "redis", redis.Redis(port=1, socket_connect_timeout=1))
    assert _sign(client, member)["streak"] == 6
    down = _calendar(client, member, f"{year}-09")
    assert (down["streak"], down["total_days"], _states(down)[str(start + timedelta(days=5))]) == (6, 6, "signed")
    monkeypatch.setitem(app.extensions, "redis", real)
    assert _calendar(client, member, f"{year}-09") == down  # the stale index is noticed and rebuilt
    assert signin.signin_index.days_in(real.get(f"signin:{{m:{member['member']['id']}}}:{year}-09")) == set(range(1, 7))


def test_rules_apply_from_the_next_day_and_past_rewards_stay(client, login, admin, rules, clock, year):
    first = date(year, 10, 1)
    old = rules(first, name="old")
    member = login()
    _go(clock, first)
    res = client.post("/api/v1/admin/signin-rules", headers=admin, json={"name": "new", "cycle_days": 1,
                                                                         "rewards": [{"points": 9}]})
    assert res.status_code == 201 and res.get_json()["effective_from"] == str(first + timedelta(days=1))
    new = res.get_json()
    assert _sign(client, member)["points"] == 1  # today still under the old rules
    patched = client.patch(f"/api/v1/admin/signin-rules/{new['id']}", headers=admin, json={"rewards": [{"points": 8}]})
    assert patched.status_code == 200 and patched.get_json()["id"] == new["id"]  # not in force yet: in place
    _go(clock, first + timedelta(days=1))
    assert _sign(client, member)["points"] == 8
    successor = client.patch(f"/api/v1/admin/signin-rules/{new['id']}", headers=admin, json={"name": "newer"})
    assert successor.status_code == 200
    assert (successor.get_json()["replaces_id"], successor.get_json()["effective_from"]) == (
        new["id"], str(first + timedelta(days=2)))
    assert assert_error(client.delete(f"/api/v1/admin/signin-rules/{old['id']}", headers=admin), 409)
    assert client.delete(f"/api/v1/admin/signin-rules/{successor.get_json()['id']}", headers=admin).status_code == 204
    assert_error(client.get(f"/api/v1/admin/signin-rules/{successor.get_json()['id']}", headers=admin), 404)
    listed = client.get("/api/v1/admin/signin-rules", headers=admin).get_json()["items"]
    assert {old["id"], new["id"]} <= {item["id"] for item in listed}
    assert client.get(f"/api/v1/admin/signin-rules/{old['id']}", headers=admin).get_json()["name"] == "old"


def test_a_copy_of_the_rules_from_an_earlier_day_never_pays(client, login, rules, clock, year):
    """Another process's edit of tomorrow's rules reaches this process only within the copy's 10 s:
    a copy loaded before the day began is not trusted to pay that day's rewards."""
    first = date(year, 10, 1)
    rules(first)
    early, late = login(), login(None)
    _go(clock, first, "23:59")
    assert _sign(client, early)["points"] == 1  # the copy of the versions is loaded now, on the 1st
    with transaction():  # as another process commits it: this process's copy is not told
        db.session.add(SigninRule(name="other process", cycle_days=1, after_cycle="restart",
                                  rewards=[{"points": 7, "growth": 0, "coupon_pack_id": None}], milestones=[],
                                  effective_from=first + timedelta(days=1), created_at=clock.now()))
    _go(clock, first + timedelta(days=1), "00:00")
    assert _sign(client, late)["points"] == 7
    assert _sign(client, early)["points"] == 7


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "abcd-01", "0000-01", "2026-00", "2026-01-01", ""])
def test_malformed_month_is_a_400(client, login, month):
    error = assert_error(client.get("/api/v1/signin/calendar", headers=login()["headers"],
                                    query_string={"month": month}), 400)
    assert error["code"] == "invalid_request"


@pytest.mark.parametrize("body", [{}, {"day": "x"}, {"day": 5}, {"day": "2026-02-30"}, "not json", [], None])
def test_bad_makeup_bodies_write_nothing(client, login, body):
    member = login()
    before = row_counts(SigninRecord, PointsEntry)
    res = send(client, "post", "/api/v1/signin/makeup", body, member["headers"])
    assert res.status_code in (400, 415, 422) and assert_error(res, res.status_code)
    assert row_counts(SigninRecord, PointsEntry) == before


@pytest.mark.parametrize("body", [
    {"name": "x", "cycle_days": 3, "rewards": [{"points": 1}]},
    {"name": "x", "cycle_days": 1, "rewards": [{"points": -1}]},
    {"name": "x", "cycle_days": 1, "rewards": [{"points": 1, "coupon_pack_id": 2**31 - 1}]},
    {"name": "x", "cycle_days": 0, "rewards": []},
    {"name": "x", "cycle_days": 1, "rewards": [{"points": 1}], "milestones": [BADGE_7, BADGE_7]},
    {"name": "x", "cycle_days": 1, "rewards": [{"points": 1}], "milestones": [{**BADGE_7, "kind": "weekly"}]},
    {"name": "x", "cycle_days": 1, "rewards": [{"points": 1}], "after_cycle": "stop"},
    {"rewards": [{"points": 1}]}, "{", [],
])
def test_bad_rules_write_nothing(client, admin, body):
    before = row_counts(SigninRule)
    res = send(client, "post", "/api/v1/admin/signin-rules", body, admin)
    assert res.status_code in (400, 422) and assert_error(res, res.status_code)["code"] == "invalid_request"
    assert row_counts(SigninRule) == before


@pytest.mark.parametrize("method,path", [("post", "/api/v1/signin"), ("get", "/api/v1/signin/calendar"),
                                         ("post", "/api/v1/signin/makeup"), ("get", "/api/v1/badges"),
                                         ("get", "/api/v1/admin/signin-rules")])
def test_signin_endpoints_need_their_role(client, login, method, path):
    assert_error(getattr(client, method)(path), 401)
    if "admin" in path:
        assert_error(getattr(client, method)(path, headers=login()["headers"]), 403)


def test_unknown_rule_is_404(client, admin):
    for method in ("get", "patch", "delete"):
        assert_error(send(client, method, "/api/v1/admin/signin-rules/999999999", {} if method == "patch" else None,
                          admin), 404)


def test_reminder_once_a_day_to_members_with_a_grant_who_have_not_signed(client, login, rules, clock, year, app):
    day = date(year, 11, 11)
    rules(day)
    _go(clock, day, "08:00")
    template = app.config["WECHAT_TEMPLATES"]["signin_reminder"]
    lazy, diligent = login(), login()
    for member in (lazy, diligent):
        for _ in range(2):
            assert client.post("/api/v1/me/subscriptions", headers=member["headers"],
                               json={"accepted": [template]}).status_code == 200
    _sign(client, diligent)
    _go(clock, day, "19:59")
    assert signin.remind_unsigned() == 0
    _go(clock, day, "20:30")
    keys = [f"msg:signin_reminder:{m['member']['id']}:{day}" for m in (lazy, diligent)]
    signin.remind_unsigned(batch=1)
    signin.remind_unsigned()
    sent = set(db.session.scalars(select(OutboxMessage.business_key).where(OutboxMessage.business_key.in_(keys))))
    assert sent == {keys[0]}
