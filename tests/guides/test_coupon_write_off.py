"""Writing a coupon off at the counter (POST /guide/coupons/{code}/redeem): only for a member the guide
scanned in the last 30 minutes (403 `member_not_present` otherwise: the coupon's own code, which never
changes, proves nothing), a coupon of a store's own 支付有礼 rule only in that store (403 `other_store`),
and only a coupon usable in store now (409)."""
from datetime import timedelta

import pytest

from tests.support.api import assert_error, bearer, unique
from tests.support.guides import code_of, scan
from tests.support.payments import notify_xml, post_notify, start_payment

STORE_RULE_FEN = 8_888_800  # above every other test's rule: the store's own rule is the best match


def _guide_at(client, admin, store_id):
    phone = f"135{int(unique('p').rsplit('-', 1)[1]):08d}"[-11:]
    res = client.post("/api/v1/admin/guides", headers=admin, json={
        "store_id": store_id, "name": "小张", "phone": phone, "password": "guide-password"})
    assert res.status_code == 201, res.get_json()
    login = client.post("/api/v1/guide/auth/login", json={"phone": phone, "password": "guide-password"})
    return {**res.get_json(), "headers": bearer(login.get_json()["token"])}


def _pack(client, admin, channel):
    template = client.post("/api/v1/admin/coupon-templates", headers=admin, json={
        "name": f"{channel}券", "kind": "cash_off", "amount_fen": 500, "min_spend_fen": 0, "valid_days": 7,
        "channel": channel})
    assert template.status_code == 201, template.get_json()
    pack = client.post("/api/v1/admin/coupon-packs", headers=admin, json={
        "name": unique("pack"), "items": [{"template_id": template.get_json()["id"], "quantity": 1}]})
    return pack.get_json()["id"]


def _from_operator(client, admin, member, channel):
    res = client.post(f"/api/v1/admin/members/{member['member']['id']}/coupon-packs",
                      headers={**admin, "Idempotency-Key": unique("k")},
                      json={"pack_id": _pack(client, admin, channel), "reason": "test"})
    assert res.status_code == 201, res.get_json()
    return res.get_json()["coupons"][0]["code"]


def _from_store_rule(client, wx, admin, member, store_id):
    """A coupon of the store's own 支付有礼 rule, earned by paying there."""
    rule = client.post("/api/v1/admin/payment-rules", headers=admin, json={
        "name": "本店满额送券", "min_amount_fen": STORE_RULE_FEN, "store_id": store_id,
        "coupon_pack_id": _pack(client, admin, "store")})
    assert rule.status_code == 201, rule.get_json()
    started = start_payment(client, member, STORE_RULE_FEN, store_id=store_id)
    assert post_notify(client, notify_xml(wx, started["payment"]["out_trade_no"]))
    paid = client.get(f"/api/v1/payments/{started['payment']['id']}", headers=member["headers"]).get_json()
    (code,) = paid["rewards"]["coupons"]
    return code


@pytest.fixture
def counter(client, wx, store, make_member):
    """Store X with two guides, store Y with one, a member, and ways to give the member coupons."""
    admin = store["admin"]
    other = client.post("/api/v1/admin/stores", headers=admin, json={"name": unique("store")}).get_json()
    member = make_member()
    coupon = {"brand": lambda: _from_operator(client, admin, member, "store"),
              "online": lambda: _from_operator(client, admin, member, "online"),
              "store_x": lambda: _from_store_rule(client, wx, admin, member, store["id"])}
    return {"x": _guide_at(client, admin, store["id"]), "x2": _guide_at(client, admin, store["id"]),
            "y": _guide_at(client, admin, other["id"]), "member": member, "coupon": coupon, "store_x": store["id"]}


def _make_present(client, clock, counter, writer, presence):
    member = counter["member"]
    if presence in ("scanned", "stale"):
        assert scan(client, counter[writer], code_of(client, member)["code"]).status_code == 200
    if presence == "stale":
        clock.advance(timedelta(minutes=31))
    if presence == "other_guide_scanned":
        assert scan(client, counter["x2"], code_of(client, member)["code"]).status_code == 200
    if presence == "own_member_not_scanned":
        res = client.post(f"/api/v1/guides/{counter[writer]['id']}/bind", headers=member["headers"])
        assert res.get_json()["guide"]["id"] == counter[writer]["id"]


def _unused_codes(client, member):
    return {c["code"] for c in client.get("/api/v1/coupons?status=unused", headers=member["headers"]).get_json()["items"]}


@pytest.mark.parametrize("coupon, writer, presence, status, reason", [
    ("brand", "x", "scanned", 200, None),
    ("brand", "y", "scanned", 200, None),  # a brand coupon is written off in every store
    ("brand", "x", "stale", 403, "member_not_present"),
    ("brand", "x", "own_member_not_scanned", 403, "member_not_present"),
    ("brand", "x", "other_guide_scanned", 403, "member_not_present"),
    ("brand", "y", "nobody_scanned", 403, "member_not_present"),
    ("store_x", "x", "scanned", 200, None),
    ("store_x", "y", "scanned", 403, "other_store"),
    ("store_x", "y", "nobody_scanned", 403, "member_not_present"),
    ("online", "x", "scanned", 409, "wrong_channel"),
    ("online", "y", "nobody_scanned", 403, "member_not_present"),  # nothing told before presence
])
def test_who_may_write_a_coupon_off(client, clock, counter, coupon, writer, presence, status, reason):
    code = counter["coupon"][coupon]()
    _make_present(client, clock, counter, writer, presence)
    res = client.post(f"/api/v1/guide/coupons/{code}/redeem", headers=counter[writer]["headers"])
    if status == 200:
        assert res.status_code == 200 and res.get_json()["status"] == "used", res.get_json()
        assert code not in _unused_codes(client, counter["member"])
        return
    error = assert_error(res, status)
    assert error["code"] == {403: "forbidden", 409: "coupon_not_usable"}[status]
    assert error["details"]["reason"] == reason
    assert code in _unused_codes(client, counter["member"])  # nothing changed


def test_an_unknown_code_is_404(client, counter):
    assert_error(client.post("/api/v1/guide/coupons/ABCDEFGHJKLMNPQR/redeem", headers=counter["x"]["headers"]), 404)


def test_the_member_card_lists_a_stores_own_coupons_only_in_that_store(client, clock, counter):
    brand, own = counter["coupon"]["brand"](), counter["coupon"]["store_x"]()
    listed = {}
    for writer in ("x", "y"):
        card = scan(client, counter[writer], code_of(client, counter["member"])["code"]).get_json()
        listed[writer] = {coupon["code"] for coupon in card["coupons"]}
        clock.advance(timedelta(minutes=1))  # a member code scans once
    assert {brand, own} <= listed["x"]
    assert brand in listed["y"] and own not in listed["y"]
