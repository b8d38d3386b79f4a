"""The task centre through its real paths: events from sign-in, payments through the sandbox, PATCH /me
and the phone binding; claims paid once per period and tier; client events deduplicated and capped."""
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import event, func, select

from blueprints.tasks import MemberTaskListSchema
from models import AuditLog, MemberEvent, PointsEntry, Task, db
from services.ledger import audit
from services.tasks import client_events
from tests.support.api import assert_error, send, unique
from tests.support.dates import at
from tests.support.db import row_counts
from tests.support.payments import notify_xml, post_notify, start_payment


@pytest.fixture
def tasks(client, operator, clock):
    """Make tasks through the operator API (unique codes); they are switched off after the test."""
    admin, made = operator(), []

    def make(kind, event_, target=1, **fields):
        code = unique(kind).replace("-", "_")[-32:]
        res = client.post("/api/v1/admin/tasks", headers=admin, json={
            "code": code, "title": f"{kind} {event_}", "kind": kind, "event": event_, "target": target,
            "reward_points": fields.pop("reward_points", 10), **fields})
        assert res.status_code == 201, res.get_json()
        made.append(res.get_json()["id"])
        return code

    make.admin = admin
    yield make
    clock.reset()  # the operator's token was issued at real time
    for task_id in made:
        assert client.delete(f"/api/v1/admin/tasks/{task_id}", headers=admin).status_code == 204


def _listed(client, member, code) -> dict:
    items = client.get("/api/v1/tasks", headers=member["headers"]).get_json()["items"]
    return next(item for item in items if item["code"] == code)


def _claim(client, member, code):
    return client.post(f"/api/v1/tasks/{code}/claim", headers=member["headers"])


def _sign(client, member):
    res = client.post("/api/v1/signin", headers=member["headers"])
    assert res.status_code == 200, res.get_json()


def _pay(client, wx, member, amount_fen):
    started = start_payment(client, member, amount_fen)
    assert post_notify(client, notify_xml(wx, started["payment"]["out_trade_no"]))


def _bind_phone(client, wx, member, phone):
    code = wx.post("phone-code", phone=phone)["code"]
    assert client.post("/api/v1/me/phone", headers=member["headers"], json={"code": code}).status_code == 200


def _phone() -> str:
    return "139" + str(random.randrange(10**8)).zfill(8)


def test_the_newbie_chain_through_its_real_paths_and_its_bonus(client, wx, login, tasks):
    member = login()
    profile, phone, first_signin, first_purchase = (
        tasks("newbie", "profile_completed"), tasks("newbie", "phone_bound"), tasks("newbie", "signin"),
        tasks("newbie", "payment_paid", reward_points=50))
    pack = client.post("/api/v1/admin/coupon-packs", headers=tasks.admin, json={"name": unique("bonus"), "items": [{
        "template_id": client.post("/api/v1/admin/coupon-templates", headers=tasks.admin, json={
            "name": "新人券", "kind": "cash_off", "amount_fen": 500, "min_spend_fen": 0, "valid_days": 7}
        ).get_json()["id"], "quantity": 1}]}).get_json()
    bonus = tasks("newbie", "newbie_step", target=4, reward_points=0, reward_pack_id=pack["id"])
    assert _listed(client, member, profile)["status"] == "todo"
    res = client.patch("/api/v1/me", headers=member["headers"], json={
        "nickname": "小王", "avatar_url": "https://example.com/a.png", "birthday": "1990-05-01"})
    assert res.status_code == 200, res.get_json()
    listed = _listed(client, member, profile)
    assert (listed["progress"], listed["status"], listed["needs_phone"]) == (1, "todo", True)
    assert assert_error(_claim(client, member, profile), 409)["details"]["reason"] == "phone_required"
    _bind_phone(client, wx, member, _phone())
    _sign(client, member)
    _pay(client, wx, member, 3000)
    for code in (profile, phone, first_signin, first_purchase):
        assert _listed(client, member, code)["status"] == "claimable", code
        assert _claim(client, member, code).status_code == 200
    assert _listed(client, member, bonus)["status"] == "claimable"
    claimed = _claim(client, member, bonus).get_json()
    assert len(claimed["coupons"]) == 1
    codes = {item["code"] for item in client.get("/api/v1/tasks", headers=member["headers"]).get_json()["items"]}
    assert not codes & {profile, phone, first_signin, first_purchase, bonus}  # the chain is done: hidden
    assert audit.check_books()["problems"] == []


def test_newbie_rewards_go_to_a_phone_number_once(client, wx, login, tasks):
    code, phone = tasks("newbie", "signin"), _phone()
    first, second = login(), login()
    for member in (first, second):
        _bind_phone(client, wx, member, phone)
        _sign(client, member)
    assert _claim(client, first, code).status_code == 200
    offered = client.get("/api/v1/tasks", headers=second["headers"]).get_json()["items"]
    assert code not in [item["code"] for item in offered]  # the phone's newbie reward is paid: nothing to show
    assert assert_error(_claim(client, second, code), 409)["details"]["reason"] == "phone_used"


def test_a_daily_task_starts_again_at_shanghai_midnight_with_the_server_in_utc(client, login, tasks, clock):
    code = tasks("daily", "signin")
    clock.freeze(at("2026-12-01T23:50:00+08:00"))  # 15:50 UTC
    member = login()
    _sign(client, member)
    assert _claim(client, member, code).status_code == 200
    assert assert_error(_claim(client, member, code), 409)["details"]["reason"] == "claimed"
    clock.advance(timedelta(minutes=15))  # 00:05 in Shanghai, still 1 December in UTC
    listed = _listed(client, member, code)
    assert (listed["status"], listed["progress"], listed["period"]) == ("todo", 0, "2026-12-02")
    _sign(client, member)
    assert _claim(client, member, code).status_code == 200


def test_a_weekly_task_starts_again_on_monday(client, login, tasks, clock):
    code = tasks("weekly", "signin", target=2)
    clock.freeze(at("2026-12-05T10:00:00+08:00"))  # a Saturday
    member = login()
    _sign(client, member)
    clock.advance(timedelta(days=1))
    _sign(client, member)
    assert _listed(client, member, code)["status"] == "claimable"
    clock.freeze(at("2026-12-07T00:01:00+08:00"))  # Monday
    assert (_listed(client, member, code)["progress"], _listed(client, member, code)["period"]) == (0, "2026-W50")


def test_each_tier_of_an_achievement_pays_once(client, login, tasks, clock):
    code = tasks("achievement", "signin", tiers=[{"target": 1, "points": 3}, {"target": 2, "points": 7}])
    clock.freeze(at("2026-12-01T10:00:00+08:00"))
    member = login()
    _sign(client, member)
    assert _claim(client, member, code).get_json()["points"] == 3
    assert assert_error(_claim(client, member, code), 409)["details"]["reason"] == "not_done"
    clock.advance(timedelta(days=1))
    _sign(client, member)
    assert _claim(client, member, code).get_json()["points"] == 7
    assert assert_error(_claim(client, member, code), 409)["details"]["reason"] == "claimed"
    assert _listed(client, member, code)["status"] == "claimed"
    rewards = db.session.scalars(select(PointsEntry.delta).where(PointsEntry.business_key.like(f"task:{code}:%")))
    assert sorted(rewards) == [3, 7]


def _task_id(code):
    return db.session.scalar(select(Task.id).where(Task.code == code))


def test_a_claimed_achievement_keeps_its_code_and_tiers_and_may_grow_above(client, login, tasks, clock, operator):
    """Tiers are numbered in target order: a tier put below a claimed one would renumber it, and pay it twice."""
    code = tasks("achievement", "signin", tiers=[{"target": 2, "points": 3}])
    task_id = _task_id(code)
    clock.freeze(at("2026-12-05T10:00:00+08:00"))
    member = login()
    _sign(client, member)
    clock.advance(timedelta(days=1))
    _sign(client, member)
    assert _claim(client, member, code).get_json()["points"] == 3
    admin = operator()  # signed in now: the clock moved past the fixture's token
    for change in ({"tiers": [{"target": 1, "points": 1}, {"target": 2, "points": 3}]}, {"tiers": [{"target": 5}]},
                   {"code": unique("renamed").replace("-", "_")[-32:]}):
        res = client.patch(f"/api/v1/admin/tasks/{task_id}", headers=admin, json=change)
        assert assert_error(res, 409)["code"] == "task_claimed"
    res = client.patch(f"/api/v1/admin/tasks/{task_id}", headers=admin, json={
        "tiers": [{"target": 2, "points": 30}, {"target": 3, "points": 5}]})
    assert res.status_code == 200, res.get_json()
    assert assert_error(_claim(client, member, code), 409)["details"]["reason"] == "not_done"
    clock.advance(timedelta(days=1))
    _sign(client, member)
    assert _claim(client, member, code).get_json()["points"] == 5
    assert assert_error(_claim(client, member, code), 409)["details"]["reason"] == "claimed"
    rewards = db.session.scalars(select(PointsEntry.delta).where(PointsEntry.business_key.like(f"task:{code}:%")))
    assert sorted(rewards) == [3, 5]  # the first tier kept what it paid


def test_a_switched_off_task_is_not_claimable_and_a_monthly_task_starts_again_each_month(client, login, tasks, clock,
                                                                                           operator):
    monthly, off = tasks("monthly", "share", client_reportable=True), tasks("daily", "share", client_reportable=True)
    clock.freeze(at("2026-12-31T23:00:00+08:00"))
    member = login()
    client.post("/api/v1/events", headers=member["headers"], json={"type": "share", "client_event_id": "m-1"})
    assert client.delete(f"/api/v1/admin/tasks/{_task_id(off)}", headers=operator()).status_code == 204
    assert assert_error(_claim(client, member, off), 409)["details"]["reason"] == "closed"
    assert _claim(client, member, monthly).status_code == 200
    assert assert_error(_claim(client, member, monthly), 409)["details"]["reason"] == "claimed"
    clock.freeze(at("2027-01-01T00:30:00+08:00"))  # a new month in Shanghai
    assert _listed(client, member, monthly)["status"] == "todo"
    client.post("/api/v1/events", headers=member["headers"], json={"type": "share", "client_event_id": "m-2"})
    assert _claim(client, member, monthly).status_code == 200


def test_a_payment_counts_only_when_it_meets_the_condition(client, wx, login, tasks):
    code = tasks("weekly", "payment_paid", condition={"min_amount_fen": 5000})
    member = login()
    _pay(client, wx, member, 3000)
    assert _listed(client, member, code)["progress"] == 0
    _pay(client, wx, member, 6000)
    assert _listed(client, member, code)["status"] == "claimable"


def test_ten_parallel_claims_pay_once(client, live_server, login, tasks):
    code, member = tasks("daily", "signin"), login()
    _sign(client, member)

    def claim():
        return requests.post(f"{live_server}/api/v1/tasks/{code}/claim", headers=member["headers"], timeout=60)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: claim(), range(10)))
    assert sorted(res.status_code for res in answers) == [200] + [409] * 9
    assert all(res.json()["error"]["code"] == "not_claimable" for res in answers if res.status_code == 409)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(PointsEntry).where(
        PointsEntry.business_key.like(f"task:{code}:%"))) == 1


def test_changing_a_reward_after_a_claim_leaves_the_claim_as_it_was(client, login, tasks):
    code, member = tasks("daily", "signin", reward_points=8), login()
    _sign(client, member)
    assert _claim(client, member, code).get_json()["points"] == 8
    task_id = next(task["id"] for task in client.get("/api/v1/admin/tasks", headers=tasks.admin).get_json()["items"]
                   if task["code"] == code)
    res = client.patch(f"/api/v1/admin/tasks/{task_id}", headers=tasks.admin, json={"reward_points": 80})
    assert res.status_code == 200 and res.get_json()["reward_points"] == 80
    entry = db.session.scalar(select(PointsEntry).where(PointsEntry.business_key.like(f"task:{code}:%")))
    assert entry.delta == 8 and _listed(client, member, code)["status"] == "claimed"
    logged = db.session.scalars(select(AuditLog.action).where(AuditLog.target_type == "task",
                                                              AuditLog.target_id == str(task_id)))
    assert sorted(logged) == ["task.create", "task.update"]


def test_client_events_are_deduplicated_and_capped(client, login, tasks):
    code, member = tasks("daily", "share", client_reportable=True), login()
    post = lambda body: client.post("/api/v1/events", headers=member["headers"], json=body)  # noqa: E731
    assert post({"type": "share", "client_event_id": "s-1"}).get_json() == {"accepted": True}
    assert post({"type": "share", "client_event_id": "s-1"}).get_json() == {"accepted": False}
    assert _listed(client, member, code)["status"] == "claimable"
    for n in range(2, 6):
        assert post({"type": "share", "client_event_id": f"s-{n}"}).get_json() == {"accepted": True}
    assert assert_error(post({"type": "share", "client_event_id": "s-6"}), 409)["code"] == "limit_reached"
    written = db.session.scalar(select(func.count()).select_from(MemberEvent).where(
        MemberEvent.member_id == member["member"]["id"], MemberEvent.type == "share"))
    assert written == 5  # the repeat and the one over the cap wrote nothing


def test_client_events_are_rate_limited(client, login, monkeypatch, rate_limits):
    member = login()
    monkeypatch.setattr(client_events, "REPORTS_PER_MINUTE", 2)
    post = lambda n: client.post("/api/v1/events", headers=member["headers"], json={  # noqa: E731
        "type": "view_article", "client_event_id": f"r-{n}"})
    assert [post(n).status_code for n in range(2)] == [200, 200]
    res = post(3)
    assert assert_error(res, 429)["code"] == "rate_limited" and int(res.headers["Retry-After"]) > 0


@pytest.mark.parametrize("body,status", [
    ({"type": "signin", "client_event_id": "x-1"}, 400),  # the server's own event
    ({"type": "teleport", "client_event_id": "x-2"}, 400),
    ({"type": "browse_goods", "client_event_id": "x-3", "duration_s": 5}, 400),
    ({"type": "share"}, 422),
    ({"type": "share", "client_event_id": "with spaces"}, 422),
    ({"type": "share", "client_event_id": "x-4", "duration_s": "long"}, 422),
    ('{"type": "share", "client_event_id": "x\\u0000"}', 400),
    ("[1, 2", 400),
])
def test_bad_client_events_write_nothing(client, login, body, status):
    member = login()
    before = row_counts(MemberEvent)
    assert_error(send(client, "post", "/api/v1/events", body, member["headers"]), status)
    assert row_counts(MemberEvent) == before


@pytest.mark.parametrize("body,status", [
    ({"code": "x", "title": "x", "kind": "daily", "event": "teleport"}, 422),
    ({"code": "Bad Code", "title": "x", "kind": "daily", "event": "signin"}, 422),
    ({"code": "x", "title": "x", "kind": "yearly", "event": "signin"}, 422),
    ({"code": "x", "title": "x", "kind": "daily", "event": "signin", "client_reportable": True}, 422),
    ({"code": "x", "title": "x", "kind": "daily", "event": "signin", "reward_pack_id": 2147483647}, 422),
])
def test_bad_task_definitions_are_refused(client, operator, body, status):
    assert_error(client.post("/api/v1/admin/tasks", headers=operator(), json=body), status)


def test_a_second_task_with_a_code_is_409(client, tasks):
    code = tasks("daily", "signin")
    res = client.post("/api/v1/admin/tasks", headers=tasks.admin, json={
        "code": code, "title": "again", "kind": "daily", "event": "signin"})
    assert assert_error(res, 409)["code"] == "task_exists"


def test_the_task_list_takes_the_same_statements_however_many_events(app, client, login, tasks):
    member, statements = login(), []
    for kind in ("daily", "weekly", "monthly", "achievement"):
        tasks(kind, "share")

    def count(_conn, _cursor, statement, *_args):
        # the list's own statements: not BEGIN, not the Redis repair poll or a member card rebuilt from SQL
        if not statement.startswith("BEGIN") and "redis_repair" not in statement and "token_version" not in statement:
            statements.append(statement)

    def listed():
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/api/v1/tasks", headers=member["headers"]).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    listed()  # the process's copy of the tasks, loaded
    few = listed()
    for n in range(60):
        assert client.post("/api/v1/events", headers=member["headers"], json={
            "type": "view_article" if n % 2 else "share", "client_event_id": f"e-{n}"}).status_code in (200, 409)
    assert listed() == few == 3  # the phone, one count of every task's events, the claims (tasks: the copy)
    answer = client.get("/api/v1/tasks", headers=member["headers"]).get_json()
    assert MemberTaskListSchema().dump(MemberTaskListSchema().load(answer)) == answer  # the documented shape
