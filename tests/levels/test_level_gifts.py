"""Level gifts through every path a level is reached by, once per level ever; birthday gifts once a year;
expiry warnings once per member and date. Each test has a database of its own (conftest)."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from models import LevelGift, db
from models.coupon import CouponIssue
from services.ledger import growth, points
from services.messages import messages
from services.platform.db import transaction
from tests.support.api import unique
from tests.support.audit import assert_reported, corrupted
from tests.support.dates import at
from tests.support.levels import evaluate, level_of, set_policy
from tests.support.payments import notify_xml, post_notify, start_payment
from tests.support.races import race

pytestmark = pytest.mark.usefixtures("long_tokens")  # these tests travel years ahead


@pytest.fixture
def ladder(client, operator, clock):
    """normal 0, silver 100 (its pack and a birthday gift), gold 200 (its pack); the packs' ids by level."""
    clock.freeze(at("2030-03-01T10:00:00+08:00"))
    admin = operator()
    template = client.post("/api/v1/admin/coupon-templates", headers=admin, json={
        "name": "升级券", "kind": "cash_off", "amount_fen": 500, "min_spend_fen": 0, "valid_days": 30}).get_json()
    packs = {}
    for code in ("silver", "gold", "birthday"):
        packs[code] = client.post("/api/v1/admin/coupon-packs", headers=admin, json={
            "name": f"{code} pack", "items": [{"template_id": template["id"], "quantity": 1}]}).get_json()["id"]
    for code, threshold, extra in (("normal", 0, {}), ("silver", 100, {"levelup_pack_id": packs["silver"],
                                   "birthday_points": 50, "birthday_pack_id": packs["birthday"]}),
                                   ("gold", 200, {"levelup_pack_id": packs["gold"]})):
        res = client.post("/api/v1/admin/levels", headers=admin, json={"code": code, "name": code,
                                                                        "threshold": threshold, **extra})
        assert res.status_code == 201, res.get_json()
    return {"admin": admin, "packs": packs}


def gifts_of(member) -> list[tuple[str, int | None]]:
    db.session.rollback()
    return sorted(db.session.execute(select(LevelGift.business_key, LevelGift.coupon_pack_id).where(
        LevelGift.member_id == member["member"]["id"])).all())


def coupons_from(member, pack_id) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(CouponIssue).where(
        CouponIssue.member_id == member["member"]["id"], CouponIssue.pack_id == pack_id))


def test_the_level_up_gift_is_paid_once_whichever_path_reaches_the_level(app, client, wx, ladder, make_member, clock):
    admin, silver_pack = ladder["admin"], ladder["packs"]["silver"]
    reached = {}
    # an operator's grant
    member = make_member()
    res = client.post(f"/api/v1/admin/members/{member['member']['id']}/growth",
                      headers={**admin, "Idempotency-Key": unique("k")}, json={"amount": 100, "reason": "VIP 客户"})
    assert res.status_code == 200 and res.get_json() == {"growth": 100}, res.get_json()
    reached["operator"] = member
    # a payment: 100 元 is 100 growth
    member = make_member()
    payment = start_payment(client, member, 10000)
    assert post_notify(client, notify_xml(wx, payment["payment"]["out_trade_no"]))
    reached["payment"] = member
    # a task paying growth
    code = unique("share").replace("-", "_")[-32:]
    assert client.post("/api/v1/admin/tasks", headers=admin, json={
        "code": code, "title": "分享", "kind": "daily", "event": "share", "target": 1, "reward_points": 0,
        "reward_growth": 100, "client_reportable": True}).status_code == 201
    member = make_member()
    client.post("/api/v1/events", headers=member["headers"], json={"type": "share", "client_event_id": "s-1"})
    assert client.post(f"/api/v1/tasks/{code}/claim", headers=member["headers"]).status_code == 200
    reached["task"] = member
    # an in-store purchase recorded by the member's guide
    store = client.post("/api/v1/admin/stores", headers=admin, json={"name": unique("store")}).get_json()
    phone = "13900001111"
    assert client.post("/api/v1/admin/guides", headers=admin, json={
        "store_id": store["id"], "name": "小王", "phone": phone, "password": "guide-password"}).status_code == 201
    guide = client.post("/api/v1/guide/auth/login", json={"phone": phone, "password": "guide-password"}).get_json()
    member = make_member()
    guide_id = client.get("/api/v1/admin/guides", headers=admin).get_json()["items"][0]["id"]
    assert client.post(f"/api/v1/guides/{guide_id}/bind", headers=member["headers"]).status_code == 200
    res = client.post(f"/api/v1/guide/members/{member['member']['id']}/purchases",
                      headers={"Authorization": f"Bearer {guide['token']}"},
                      json={"amount_fen": 10000, "receipt_no": "R-1"})
    assert res.status_code in (200, 201), res.get_json()
    reached["store"] = member
    # a sign-in paying growth
    clock.freeze(at("2030-03-01T10:00:00+08:00"))
    assert client.post("/api/v1/admin/signin-rules", headers=admin, json={
        "name": "growth day", "cycle_days": 1, "rewards": [{"points": 1, "growth": 100}]}).status_code == 201
    clock.freeze(at("2030-03-02T10:00:00+08:00"))
    member = make_member()
    assert client.post("/api/v1/signin", headers=member["headers"]).status_code == 200
    reached["signin"] = member

    for path, member in reached.items():
        assert level_of(client, member)[0] == "silver", path
        assert gifts_of(member) == [(f"levelup:{member['member']['id']}:{_level_id('silver')}", silver_pack)], path
        assert coupons_from(member, silver_pack) == 1, path
        history = level_of(client, member)[1]["history"]
        assert len(history) == 1 and history[0]["to"] == "silver", path


def _level_id(code):
    return db.session.execute(text("SELECT id FROM level WHERE code = :c"), {"c": code}).scalar()


def test_a_jump_pays_each_level_passed_and_a_level_reached_again_pays_nothing(app, client, ladder, make_member,
                                                                              clock):
    set_policy(client, ladder["admin"], "calendar_year", "one_level")
    member = make_member(growth_=250)  # normal → gold in one earning: silver's and gold's gifts
    packs = ladder["packs"]
    assert [pack for _, pack in gifts_of(member)] == [packs["silver"], packs["gold"]]
    evaluate(app, clock, "2032-01-01T00:30:00+08:00")  # 2031 earned nothing: gold → silver
    assert level_of(client, member)[0] == "silver"
    with transaction():
        growth.earn(member["member"]["id"], 200, reason="purchase", business_key=unique("again"))
    assert level_of(client, member)[0] == "gold"
    assert coupons_from(member, packs["gold"]) == 1 and coupons_from(member, packs["silver"]) == 1
    assert len(gifts_of(member)) == 2


def test_parallel_growth_earnings_crossing_a_threshold_issue_one_pack(app, ladder, make_member):
    member = make_member(growth_=95)
    member_id = member["member"]["id"]

    def earn(n):
        with app.app_context(), transaction():
            growth.earn(member_id, 10, reason="race", business_key=f"race:{member_id}:{n}")

    race([lambda n=n: earn(n) for n in range(8)])
    assert coupons_from(member, ladder["packs"]["silver"]) == 1
    assert len(gifts_of(member)) == 1


def test_the_birthday_gift_is_paid_once_a_year_in_the_birthday_month(app, client, ladder, make_member, clock):
    member = make_member(growth_=120)  # silver: 50 points and the birthday pack
    other = make_member(growth_=120)
    client.patch("/api/v1/me", headers=member["headers"], json={"birthday": "1990-04-18"})
    client.patch("/api/v1/me", headers=other["headers"], json={"birthday": "1990-07-01"})
    runner = app.test_cli_runner()
    clock.freeze(at("2030-03-31T23:00:00+08:00"))
    assert "birthday gifts paid: 0" in runner.invoke(args=["birthday-gifts"]).output
    clock.freeze(at("2030-04-01T00:10:00+08:00"))
    assert "birthday gifts paid: 1" in runner.invoke(args=["birthday-gifts"]).output
    assert "birthday gifts paid: 0" in runner.invoke(args=["birthday-gifts"]).output
    clock.freeze(at("2030-04-28T10:00:00+08:00"))
    assert "birthday gifts paid: 0" in runner.invoke(args=["birthday-gifts"]).output
    me = client.get("/api/v1/me", headers=member["headers"]).get_json()
    assert me["points"]["balance"] == 50 and coupons_from(member, ladder["packs"]["birthday"]) == 1
    clock.freeze(at("2031-04-02T10:00:00+08:00"))
    assert "birthday gifts paid: 1" in runner.invoke(args=["birthday-gifts"]).output  # next year's
    assert coupons_from(member, ladder["packs"]["birthday"]) == 2 and coupons_from(other, ladder["packs"]["birthday"]) == 0
    key = f"birthday:{member['member']['id']}:2031"
    with corrupted("DELETE FROM level_gift WHERE business_key = :k",
                   "INSERT INTO level_gift (member_id, kind, level_id, business_key, points, coupon_pack_id, created_at)"
                   " VALUES (:m, 'birthday', :l, :k, 50, :p, :at)", k=key, m=member["member"]["id"],
                   l=_level_id("silver"), p=ladder["packs"]["birthday"], at="2031-04-02 02:00:00.000000"):
        assert_reported(app, f"level gift {key}: paid without a level gift row")


def test_an_expiry_warning_once_per_member_and_date_only_with_a_grant(app, client, ladder, make_member, clock, wx,
                                                                    monkeypatch):
    monkeypatch.setitem(app.config, "POINTS_EXPIRY", "days:40")
    template_id = app.config["WECHAT_TEMPLATES"]["points_expiring"]
    granted, spent, silent = make_member(points_=300), make_member(points_=80), make_member(points_=70)
    for member in (granted, spent):
        client.post("/api/v1/me/subscriptions", headers=member["headers"], json={"accepted": [template_id] * 2})
    with transaction():
        points.spend(spent["member"]["id"], 80, reason="test", business_key=unique("spend"))
    runner = app.test_cli_runner()
    clock.advance(timedelta(days=5))  # 35 days left: not yet
    assert "0 messages written" in runner.invoke(args=["warn-expiring"]).output
    clock.advance(timedelta(days=6))  # 29 days left
    out = runner.invoke(args=["warn-expiring"]).output
    assert "warned 1 members" in out and "1 messages written" in out, out
    assert "0 messages written" in runner.invoke(args=["warn-expiring"]).output  # safe to run twice
    rows = db.session.execute(text("SELECT member_id, data FROM outbox_message WHERE template_key = 'points_expiring'"
                                   )).all()
    assert [row[0] for row in rows] == [granted["member"]["id"]] and "300" in str(rows[0][1])
    me = client.get("/api/v1/me", headers=granted["headers"]).get_json()
    assert [item["points"] for item in me["points"]["expiring"]] == [300]
    assert messages.deliver_due() >= 1  # the worker's send, through wechatpy, reaches the sandbox
    sent = [item for item in wx.get("sent", kind="subscribe")["items"] if item["template_id"] == template_id]
    assert any(item["data"]["number1"]["value"] == "300" for item in sent), sent
    clock.advance(timedelta(days=30))  # expired: never warned of again
    assert "0 messages written" in runner.invoke(args=["warn-expiring"]).output
    assert silent  # no grant: never written
