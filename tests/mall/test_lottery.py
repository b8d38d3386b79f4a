"""The points lottery: draws follow the weights, never exceed a prize's stock, keep the daily limit
under parallel draws, and pay what they draw once."""
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from models import LotteryDraw, PointsEntry, db
from services.ledger import audit, points
from tests.support.api import assert_error
from tests.support.db import row_counts


def _lottery(client, admin, *, cost=1, daily_limit=5, prizes=None):
    template = client.post("/api/v1/admin/coupon-templates", headers=admin, json={
        "name": "抽奖券", "kind": "cash_off", "amount_fen": 300, "min_spend_fen": 0, "valid_days": 7}).get_json()
    res = client.post("/api/v1/admin/lotteries", headers=admin, json={
        "name": "幸运抽奖", "cost_points": cost, "daily_limit": daily_limit, "prizes": prizes or [
            {"name": "谢谢参与", "kind": "none", "weight": 1},
            {"name": "1 积分", "kind": "points", "points": 1, "weight": 3},
            {"name": "3 元券", "kind": "coupon", "coupon_template_id": template["id"], "weight": 1, "stock": 20}]})
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def _draw(client, member, lottery_id):
    return client.post(f"/api/v1/lottery/{lottery_id}/draw", headers=member["headers"])


def test_a_thousand_draws_follow_the_weights_and_never_exceed_a_prizes_stock(client, operator, make_member):
    lottery = _lottery(client, operator(), daily_limit=1000)
    member = make_member(points_=1000)
    view = client.get(f"/api/v1/lottery/{lottery['id']}", headers=member["headers"]).get_json()
    assert [prize["odds"] for prize in view["prizes"]] == [0.2, 0.6, 0.2] and view["draws_left_today"] == 1000
    drawn = {"none": 0, "points": 0, "coupon": 0}
    for _ in range(1000):
        res = _draw(client, member, lottery["id"])
        assert res.status_code == 200, res.get_json()
        prize = res.get_json()["prize"]
        drawn[prize["kind"] if prize else "none"] += 1
    assert drawn["coupon"] == 20  # its whole stock, and not one more
    # once the coupons are gone the rest is nothing : a point, 1 : 3; ~980 draws, five standard deviations
    assert 0.68 <= drawn["points"] / (drawn["points"] + drawn["none"]) <= 0.82, drawn
    coupons = client.get("/api/v1/coupons", headers=member["headers"], query_string={"limit": 100}).get_json()
    assert len(coupons["items"]) == 20
    assert points.summary(member["member"]["id"])["balance"] == drawn["points"]  # 1000 spent, one back per prize
    assert _draw(client, member, lottery["id"]).status_code == 409
    assert audit.check_books()["problems"] == []


def test_parallel_draws_at_a_daily_limit_of_five_draw_five(client, live_server, operator, make_member):
    lottery, member = _lottery(client, operator(), daily_limit=5), make_member(points_=100)

    def draw():
        return requests.post(f"{live_server}/api/v1/lottery/{lottery['id']}/draw", headers=member["headers"],
                             timeout=60)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: draw(), range(20)))
    assert sorted(res.status_code for res in answers) == [200] * 5 + [409] * 15
    assert all(res.json()["error"]["code"] == "limit_reached" for res in answers if res.status_code == 409)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(LotteryDraw).where(
        LotteryDraw.member_id == member["member"]["id"])) == 5
    assert points.summary(member["member"]["id"])["balance"] == 95 + sum(
        1 for res in answers if res.status_code == 200 and (res.json()["prize"] or {}).get("kind") == "points")
    assert audit.check_books()["problems"] == []


def test_a_draw_without_the_points_changes_nothing(client, operator, make_member):
    lottery, member = _lottery(client, operator(), cost=50), make_member(points_=10)
    before = row_counts(LotteryDraw, PointsEntry)
    assert assert_error(_draw(client, member, lottery["id"]), 409)["code"] == "insufficient_points"
    assert row_counts(LotteryDraw, PointsEntry) == before


def test_a_closed_or_unknown_lottery_is_not_found(client, operator, make_member):
    admin = operator()
    lottery, member = _lottery(client, admin), make_member(points_=10)
    assert client.delete(f"/api/v1/admin/lotteries/{lottery['id']}", headers=admin).status_code == 204
    for lottery_id in (lottery["id"], 2147483647, 2147483648):
        assert_error(_draw(client, member, lottery_id), 404)
        assert_error(client.get(f"/api/v1/lottery/{lottery_id}", headers=member["headers"]), 404)


def test_bad_lotteries_are_refused(client, operator):
    admin = operator()
    for body in ({"name": "x", "cost_points": 0, "daily_limit": 1, "prizes": [{"name": "n", "kind": "none", "weight": 1}]},
                 {"name": "x", "cost_points": 1, "daily_limit": 1, "prizes": []},
                 {"name": "x", "cost_points": 1, "daily_limit": 1, "prizes": [{"name": "p", "kind": "points", "weight": 1}]},
                 {"name": "x", "cost_points": 1, "daily_limit": 1,
                  "prizes": [{"name": "c", "kind": "coupon", "coupon_template_id": 2147483647, "weight": 1}]},
                 {"name": "x", "cost_points": "1", "daily_limit": 1, "prizes": [{"name": "n", "kind": "none", "weight": 1}]}):
        assert_error(client.post("/api/v1/admin/lotteries", headers=admin, json=body), 422)


def test_members_find_the_lotteries_open_now(client, operator, make_member):
    admin = operator()
    lottery = _lottery(client, admin)
    member = make_member()
    assert lottery["id"] in {item["id"] for item in client.get("/api/v1/lottery", headers=member["headers"]).get_json()["items"]}
    client.delete(f"/api/v1/admin/lotteries/{lottery['id']}", headers=admin)
    assert lottery["id"] not in {item["id"] for item in client.get("/api/v1/lottery", headers=member["headers"]).get_json()["items"]}
