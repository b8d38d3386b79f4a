"""Stores and guides: member codes, the exclusive guide bound three ways (first wins), transfers,
in-store receipts and coupon write-offs once under parallel posts, and who may call what."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from models import GuideBinding, MemberEvent, PointsEntry, StorePurchase, db
from services.guides import member_codes
from services.platform.redis_client import get_redis
from tests.support.api import assert_error, unique
from tests.support.guides import code_of, guide_of, scan
from tests.support.payments import notify_xml, post_notify


def test_a_fresh_code_scans_once_and_shows_the_member_card(client, store, make_member):
    guide, member = store["add_guide"](), make_member(points_=120)
    shown = code_of(client, member)
    assert len(shown["code"]) == 18 and shown["code"].isdigit() and 0 < shown["expires_in"] <= 60
    assert shown["qr_svg"].startswith("<svg")
    res = scan(client, guide, shown["code"])
    assert res.status_code == 200, res.get_json()
    card = res.get_json()
    assert card["member"]["id"] == member["member"]["id"] and card["member"]["points"] == 120
    assert card["guide_id"] == guide["id"]  # unbound: the scanning guide becomes theirs
    assert assert_error(scan(client, guide, shown["code"]), 409)["code"] == "code_expired"


def test_stale_codes_wrong_codes_and_codes_after_a_redis_flush_find_nobody(client, store, make_member, clock):
    guide, member, other = store["add_guide"](), make_member(), make_member()
    old = code_of(client, member)["code"]
    clock.advance(timedelta(minutes=3))
    assert assert_error(scan(client, guide, old), 409)["code"] == "code_expired"
    mine, theirs = code_of(client, member)["code"], code_of(client, other)["code"]
    assert mine != theirs
    assert scan(client, guide, theirs).get_json()["member"]["id"] == other["member"]["id"]
    assert scan(client, guide, mine).get_json()["member"]["id"] == member["member"]["id"]
    # Redis loses the used mark: the step kept in SQL still refuses the code
    step = int(clock.now().timestamp()) // member_codes.STEP_SECONDS
    get_redis().delete(f"member-code:{{m:{member['member']['id']}}}:{step}")
    assert assert_error(scan(client, guide, mine), 409)["code"] == "code_expired"
    for bad in ("1" * 18, mine[:-1] + str((int(mine[-1]) + 1) % 10), "12ab", "0" * 17):
        assert scan(client, guide, bad).status_code in (409, 422)


def test_a_thousand_guessed_codes_find_nobody_and_hit_the_rate_limit(client, store, rate_limits):
    guide = store["add_guide"]()
    statuses = []
    for n in range(1000):
        res = scan(client, guide, f"{(n * 7919 + 12345) % 10**18:018d}")
        statuses.append(res.status_code)
        if res.status_code == 429:
            assert int(res.headers["Retry-After"]) > 0
    assert set(statuses) == {409, 429}
    assert statuses.count(409) == 30


def test_the_first_binding_wins_and_an_operator_transfers_a_leaving_guides_members(client, store, make_member):
    first, second = store["add_guide"](), store["add_guide"]()
    member = make_member()
    res = client.post(f"/api/v1/guides/{first['id']}/bind", headers=member["headers"])
    assert res.status_code == 200 and res.get_json()["guide"]["id"] == first["id"], res.get_json()
    assert client.post(f"/api/v1/guides/{second['id']}/bind", headers=member["headers"]).get_json()["guide"]["id"] == \
        first["id"]
    scan(client, second, code_of(client, member)["code"])
    assert guide_of(client, member)["id"] == first["id"]
    assert db.session.scalar(select(func.count()).select_from(MemberEvent).where(
        MemberEvent.member_id == member["member"]["id"], MemberEvent.type == "guide_bound")) == 1
    res = client.post(f"/api/v1/admin/guides/{first['id']}/transfer", headers=store["admin"],
                      json={"to_guide_id": second["id"], "reason": "离职"})
    assert res.status_code == 200 and res.get_json() == {"moved": 1}
    assert guide_of(client, member)["id"] == second["id"]
    mine = client.get("/api/v1/guide/members", headers=second["headers"]).get_json()["items"]
    assert [row["id"] for row in mine] == [member["member"]["id"]] and mine[0]["how"] == "transfer"


def test_a_paid_purchase_at_a_store_assigns_its_guides_in_turn(client, store, make_member, wx):
    guides = [store["add_guide"](), store["add_guide"]()]
    assigned = []
    for _ in range(3):
        member = make_member()
        started = client.post("/api/v1/payments", headers=member["headers"], json={
            "amount_fen": 1000, "description": "门店消费", "store_id": store["id"]}).get_json()
        assert post_notify(client, notify_xml(wx, started["payment"]["out_trade_no"]))
        result = client.get(f"/api/v1/payments/{started['payment']['id']}", headers=member["headers"]).get_json()
        assigned.append(result["rewards"]["guide"]["id"])
        assert result["rewards"]["guide"]["name"] == "小王" and result["rewards"]["guide"]["store"] == store["name"]
    assert assigned[0] != assigned[1] and assigned[0] == assigned[2] and set(assigned) == {g["id"] for g in guides}


def test_a_receipt_posted_ten_times_in_parallel_pays_once(client, store, make_member, live_server):
    guide, member = store["add_guide"](), make_member()
    scan(client, guide, code_of(client, member)["code"])
    receipt = unique("R").replace("-", "")

    def post(_):
        return requests.post(f"{live_server}/api/v1/guide/members/{member['member']['id']}/purchases",
                             headers=guide["headers"], json={"amount_fen": 12345, "receipt_no": receipt}, timeout=60)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(post, range(10)))
    assert [res.status_code for res in answers] == [200] * 10, [res.text for res in answers]
    assert {(res.json()["points"], res.json()["growth"]) for res in answers} == {(123, 123)}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(StorePurchase).where(
        StorePurchase.receipt_no == receipt)) == 1
    assert db.session.scalar(select(func.count()).select_from(PointsEntry).where(
        PointsEntry.business_key == f"receipt:{store['id']}:{receipt}")) == 1
    other = make_member()
    scan(client, guide, code_of(client, other)["code"])
    res = client.post(f"/api/v1/guide/members/{other['member']['id']}/purchases", headers=guide["headers"],
                      json={"amount_fen": 12345, "receipt_no": receipt})
    assert assert_error(res, 409)["code"] == "receipt_used"
    stats = client.get("/api/v1/guide/stats", headers=guide["headers"]).get_json()
    assert stats["totals"]["purchases"] == 1 and stats["totals"]["amount_fen"] == 12345
    assert stats["totals"]["members_bound"] == 2 and len(stats["days"]) == 7


def test_a_store_coupon_is_written_off_once_in_parallel(client, store, make_member, live_server):
    guide, member = store["add_guide"](), make_member()
    admin = store["admin"]
    template = client.post("/api/v1/admin/coupon-templates", headers=admin, json={
        "name": "到店券", "kind": "cash_off", "amount_fen": 500, "min_spend_fen": 0, "valid_days": 7,
        "channel": "store"}).get_json()
    pack = client.post("/api/v1/admin/coupon-packs", headers=admin, json={
        "name": unique("pack"), "items": [{"template_id": template["id"], "quantity": 1}]}).get_json()
    res = client.post(f"/api/v1/admin/members/{member['member']['id']}/coupon-packs", headers={
        **admin, "Idempotency-Key": unique("k")}, json={"pack_id": pack["id"], "reason": "test"})
    assert res.status_code in (200, 201), res.get_json()
    card = scan(client, guide, code_of(client, member)["code"]).get_json()
    code = card["coupons"][0]["code"]

    def redeem(_):
        return requests.post(f"{live_server}/api/v1/guide/coupons/{code}/redeem", headers=guide["headers"], timeout=60)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(redeem, range(10)))
    assert sorted(res.status_code for res in answers) == [200] + [409] * 9
    assert client.get("/api/v1/guide/stats", headers=guide["headers"]).get_json()["totals"]["coupons_redeemed"] == 1


GUIDE_CALLS = [("POST", "/api/v1/guide/scan", {"member_code": "1" * 18}), ("GET", "/api/v1/guide/members", None),
               ("GET", "/api/v1/guide/stats", None), ("GET", "/api/v1/guide/me", None),
               ("POST", "/api/v1/guide/coupons/NOSUCHCODE/redeem", None), ("GET", "/api/v1/guide/tasks", None),
               ("GET", "/api/v1/guide/qrcode", None), ("POST", "/api/v1/guide/auth/logout", None)]


@pytest.mark.parametrize("who", ["nobody", "member", "operator", "disabled_guide", "other_store_guide"])
def test_who_may_call_the_guide_endpoints(client, store, make_member, operator, who):
    member = make_member()
    mine = store["add_guide"]()
    scan(client, mine, code_of(client, member)["code"])
    other_store = client.post("/api/v1/admin/stores", headers=store["admin"], json={"name": unique("s")}).get_json()
    headers = {"nobody": {}, "member": member["headers"], "operator": operator()}.get(who)
    if who == "disabled_guide":
        disabled = store["add_guide"]()
        client.patch(f"/api/v1/admin/guides/{disabled['id']}", headers=store["admin"], json={"status": "disabled"})
        headers = disabled["headers"]
    if who == "other_store_guide":
        res = client.post("/api/v1/admin/guides", headers=store["admin"], json={
            "store_id": other_store["id"], "name": "小李", "phone": f"137{mine['id']:08d}", "password": "guide-password"})
        headers = client.post("/api/v1/guide/auth/login", json={
            "phone": res.get_json()["phone"], "password": "guide-password"}).get_json()
        headers = {"Authorization": f"Bearer {headers['token']}"}
        res = client.post(f"/api/v1/guide/members/{member['member']['id']}/purchases", headers=headers,
                          json={"amount_fen": 100, "receipt_no": "X1"})
        assert assert_error(res, 404)["code"] == "not_found"  # not their member
        return
    expected = {"nobody": 401, "member": 403, "operator": 403, "disabled_guide": 401}[who]
    for method, path, body in GUIDE_CALLS + [
            ("POST", f"/api/v1/guide/members/{member['member']['id']}/purchases", {"amount_fen": 1, "receipt_no": "A"})]:
        res = client.open(path, method=method, headers=headers, json=body)
        assert_error(res, expected)
    assert db.session.scalar(select(func.count()).select_from(GuideBinding).where(
        GuideBinding.member_id == member["member"]["id"])) == 1


def test_a_guides_targets_count_their_week(client, store, make_member):
    guide, other = store["add_guide"](), store["add_guide"]()
    for title, metric, target, scope in (("本周拉新", "members_bound", 2, {"store_id": store["id"]}),
                                         ("本周核销", "coupons_redeemed", 1, {"guide_id": guide["id"]}),
                                         ("他人任务", "purchases", 1, {"guide_id": other["id"]})):
        res = client.post("/api/v1/admin/guide-targets", headers=store["admin"], json={
            "title": title, "metric": metric, "period": "week", "target": target, **scope})
        assert res.status_code == 201, res.get_json()
    for _ in range(2):
        scan(client, guide, code_of(client, make_member())["code"])
    tasks = {task["title"]: task for task in client.get("/api/v1/guide/tasks", headers=guide["headers"]).get_json()["items"]}
    assert set(tasks) >= {"本周拉新", "本周核销"} and "他人任务" not in tasks
    assert (tasks["本周拉新"]["progress"], tasks["本周拉新"]["done"]) == (2, True)
    assert (tasks["本周核销"]["progress"], tasks["本周核销"]["done"]) == (0, False)


def test_the_guides_mini_program_code_is_made_once_and_logout_or_disabling_ends_tokens(client, store, wx):
    guide = store["add_guide"]()
    first = client.get("/api/v1/guide/qrcode", headers=guide["headers"])
    assert first.status_code == 200 and first.mimetype == "image/png" and first.data[:8] == b"\x89PNG\r\n\x1a\n"
    wx.post("faults", api="getwxacodeunlimit", errcode=45009, times=-1)
    try:
        assert client.get("/api/v1/guide/qrcode", headers=guide["headers"]).data == first.data  # kept, not made again
    finally:
        wx.delete("faults")
    assert client.post("/api/v1/guide/auth/logout", headers=guide["headers"]).status_code == 204
    assert_error(client.get("/api/v1/guide/me", headers=guide["headers"]), 401)
    other = store["add_guide"]()
    client.patch(f"/api/v1/admin/guides/{other['id']}", headers=store["admin"], json={"status": "disabled"})
    assert_error(client.get("/api/v1/guide/me", headers=other["headers"]), 401)
    assert_error(client.post("/api/v1/guide/auth/login", json={"phone": other["phone"], "password": "guide-password"}), 401)


def test_me_shows_the_exclusive_guide_once_one_is_bound(client, store, make_member):
    guide, member = store["add_guide"](), make_member()
    assert client.get("/api/v1/me", headers=member["headers"]).get_json()["guide"] is None
    assert client.post(f"/api/v1/guides/{guide['id']}/bind", headers=member["headers"]).status_code == 200
    shown = client.get("/api/v1/me", headers=member["headers"]).get_json()["guide"]
    assert shown == guide_of(client, member) and shown["id"] == guide["id"] and shown["store"]
