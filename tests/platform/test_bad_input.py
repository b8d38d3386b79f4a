"""Bad input on every endpoint: a 4xx with the error envelope, and nothing written."""
import pytest
from sqlalchemy import select

from models import AuditLog, GrowthEntry, IdempotencyRecord, Level, Member, PointsEntry, db
from tests.support.api import assert_error, send, unique
from tests.support.db import row_counts

TABLES = (Member, PointsEntry, GrowthEntry, AuditLog, Level, IdempotencyRecord)


def _counts():
    return row_counts(*TABLES)


MEMBER_CASES = [
    ("post", "/api/v1/auth/login", {}, 422),
    ("post", "/api/v1/auth/login", {"code": ""}, 422),
    ("post", "/api/v1/auth/login", {"code": 12345}, 422),
    ("post", "/api/v1/auth/login", {"code": "x" * 129}, 422),
    ("post", "/api/v1/auth/login", ["code"], 422),
    ("post", "/api/v1/auth/login", "not json{", 400),
    ("patch", "/api/v1/me", {}, 422),
    ("patch", "/api/v1/me", {"nickname": ""}, 422),
    ("patch", "/api/v1/me", {"nickname": "n" * 33}, 422),
    ("patch", "/api/v1/me", {"gender": 7}, 422),
    ("patch", "/api/v1/me", {"birthday": "2999-01-01"}, 422),
    ("patch", "/api/v1/me", {"birthday": "yesterday"}, 422),
    ("patch", "/api/v1/me", {"avatar_url": "javascript:alert(1)"}, 422),
    ("patch", "/api/v1/me", {"unknown_field": 1}, 422),
    ("post", "/api/v1/me/phone", {}, 422),
    ("post", "/api/v1/me/phone", {"code": None}, 422),
    ("get", "/api/v1/points/ledger?limit=0", None, 422),
    ("get", "/api/v1/points/ledger?limit=101", None, 422),
    ("get", "/api/v1/points/ledger?limit=abc", None, 422),
    ("get", "/api/v1/points/ledger?cursor=%%%%", None, 400),
    ("get", "/api/v1/points/ledger?cursor=aWQ6eA", None, 400),
]

OPERATOR_CASES = [
    ("post", "/api/v1/admin/auth/login", {"username": "x"}, 422),
    ("post", "/api/v1/admin/auth/login", {"username": "", "password": ""}, 422),
    ("post", "/api/v1/admin/members/{member}/points", {"delta": 10}, 422),
    ("post", "/api/v1/admin/members/{member}/points", {"delta": 0, "reason": "zero"}, 422),
    ("post", "/api/v1/admin/members/{member}/points", {"delta": "10", "reason": "string"}, 422),
    ("post", "/api/v1/admin/members/{member}/points", {"delta": 1.5, "reason": "float"}, 422),
    ("post", "/api/v1/admin/members/{member}/points", {"delta": 10**12, "reason": "huge"}, 422),
    ("post", "/api/v1/admin/members/{member}/points", {"delta": 10, "reason": ""}, 422),
    ("post", "/api/v1/admin/members/{member}/points", {"delta": -10, "reason": "more than they have"}, 409),
    ("post", "/api/v1/admin/members/99999999/points", {"delta": 10, "reason": "nobody"}, 404),
    ("post", "/api/v1/admin/members/abc/points", {"delta": 10, "reason": "not an id"}, 404),
    ("patch", "/api/v1/admin/members/{member}", {"status": "deleted", "reason": "nope"}, 422),
    ("patch", "/api/v1/admin/members/{member}", {"status": "frozen"}, 422),
    ("get", "/api/v1/admin/members?limit=-1", None, 422),
    ("get", "/api/v1/admin/members/99999999", None, 404),
    ("post", "/api/v1/admin/levels", {}, 422),
    ("post", "/api/v1/admin/levels", {"code": "Bad Code!", "name": "x", "threshold": 1}, 422),
    ("post", "/api/v1/admin/levels", {"code": "neg", "name": "x", "threshold": -1}, 422),
    ("post", "/api/v1/admin/levels", {"code": "pct", "name": "x", "threshold": 7, "mall_discount_pct": 0}, 422),
    ("post", "/api/v1/admin/levels", {"code": "normal", "name": "dup", "threshold": 123457}, 409),
    ("patch", "/api/v1/admin/levels/99999999", {"name": "x"}, 404),
    ("patch", "/api/v1/admin/levels/{level}", {"threshold": "high"}, 422),
    ("delete", "/api/v1/admin/levels/99999999", None, 404),
    ("post", "/api/v1/admin/members/{member}/points", {"delta": 5, "reason": "long key"}, 400),
]




@pytest.mark.parametrize("method,path,body,status", MEMBER_CASES)
def test_member_bad_input(client, login, method, path, body, status):
    headers = login()["headers"]
    before = _counts()
    assert_error(send(client, method, path, body, headers), status)
    assert _counts() == before


@pytest.mark.parametrize("method,path,body,status", OPERATOR_CASES)
def test_operator_bad_input(client, login, operator, method, path, body, status):
    import demo
    demo.seed_levels()
    headers, member = operator(), login()["member"]["id"]
    level = db.session.scalar(select(Level.id).where(Level.code == "silver"))
    headers["Idempotency-Key"] = "k" * 129 if body and body.get("reason") == "long key" else unique("key")
    before = _counts()
    assert_error(send(client, method, path.format(member=member, level=level), body, headers), status)
    after = _counts()  # nothing changed but, where the endpoint takes a key, its stored (error) answer
    assert after.pop("idempotency_record") - before.pop("idempotency_record") in (0, 1)
    assert after == before



# -- what a hostile probe found: each of these once answered 500, or let bad text through ----------

def _serial() -> int:
    return int(unique("n").rsplit("-", 1)[1])


@pytest.fixture
def probe(client, login, store):
    """Headers for each side (an operator, a guide of a store, a member bound to that guide) and the ids
    of what the cases below refer to."""
    admin, guide, member = store["admin"], store["add_guide"](), login()
    assert client.post(f"/api/v1/guides/{guide['id']}/bind", headers=member["headers"]).status_code == 200
    template = client.post("/api/v1/admin/coupon-templates", headers=admin, json={
        "name": "probe", "kind": "cash_off", "amount_fen": 100, "min_spend_fen": 0, "valid_days": 7}).get_json()
    pack = client.post("/api/v1/admin/coupon-packs", headers=admin, json={
        "name": unique("pack"), "items": [{"template_id": template["id"], "quantity": 1}]}).get_json()
    goods = client.post("/api/v1/admin/goods", headers=admin, json={
        "name": "probe", "kind": "physical", "price_points": 10, "price_fen": 0, "stock": 1}).get_json()
    level = client.post("/api/v1/admin/levels", headers=admin, json={
        "code": f"probe_{_serial()}", "name": "probe", "threshold": 10**8 + _serial()}).get_json()
    return {"operator": admin, "guide": guide["headers"], "member": member["headers"],
            "ids": {"store": store["id"], "guide": guide["id"], "member": member["member"]["id"],
                    "pack": pack["id"], "goods": goods["id"], "level": level["id"]}}


def _filled(value, ids: dict):
    """A case's path or body with its "{name}" placeholders filled: a whole "{name}" is that id (an
    integer); "{serial}" and "{threshold}" are fresh numbers (for codes and thresholds that must be unique)."""
    if isinstance(value, dict):
        return {key: _filled(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, ids) for item in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    return value.format(**ids) if isinstance(value, str) else value


def _probe(client, probe, side, method, path, body):
    serial = _serial()
    ids = {**probe["ids"], "serial": serial, "threshold": 10**8 + serial}
    return send(client, method, _filled(path, ids), _filled(body, ids), {**probe[side], "Idempotency-Key": unique("k")})


GUIDE = {"store_id": "{store}", "name": "n", "password": "guide-password"}
NEWLINE_CASES = [  # `$` matches before a final newline: "R1\n" passed ^…$ and was stored as a second receipt
    ("operator", "post", "/api/v1/admin/levels", {"code": "nl_{serial}\n", "name": "x",
                                                  "threshold": "{threshold}"}, 422),
    ("operator", "post", "/api/v1/admin/tasks", {"code": "nl_{serial}\n", "title": "t", "kind": "daily",
                                                 "event": "share", "target": 1}, 422),
    ("operator", "post", "/api/v1/admin/signin-rules", {"name": "nl", "cycle_days": 1, "rewards": [{"points": 1}],
                                                        "milestones": [{"kind": "streak", "days": 3, "badge_name": "nl",
                                                                        "badge_code": "nl\n"}]}, 422),
    ("operator", "post", "/api/v1/admin/guides", {**GUIDE, "phone": "139{serial:08d}\n"}, 422),
    ("operator", "post", "/api/v1/admin/guides", {**GUIDE, "phone": "138{serial:08d}", "wecom_userid": "nl\n"}, 422),
    ("operator", "patch", "/api/v1/admin/guides/{guide}", {"phone": "137{serial:08d}\n"}, 422),
    ("operator", "patch", "/api/v1/admin/guides/{guide}", {"wecom_userid": "nl\n"}, 422),
    ("guide", "post", "/api/v1/guide/members/{member}/purchases", {"amount_fen": 1, "receipt_no": "R{serial}\n"}, 422),
    ("guide", "get", "/api/v1/guide/members?q=1234%0A", None, 422),
    ("member", "get", "/api/v1/signin/calendar?month=2026-01%0A", None, 400),
    ("member", "post", "/api/v1/events", {"type": "share", "client_event_id": "e{serial}\n"}, 422),
]


@pytest.mark.parametrize("side,method,path,body,status", NEWLINE_CASES)
def test_send_text_with_a_trailing_newline_is_refused(client, probe, side, method, path, body, status):
    assert_error(_probe(client, probe, side, method, path, body), status)


def test_record_purchase_with_a_trailing_newline_is_not_a_second_receipt(client, probe):
    path, receipt = f"/api/v1/guide/members/{probe['ids']['member']}/purchases", unique("R")
    assert client.post(path, headers=probe["guide"], json={"amount_fen": 100, "receipt_no": receipt}).status_code == 200
    assert_error(client.post(path, headers=probe["guide"], json={"amount_fen": 100, "receipt_no": receipt + "\n"}), 422)


FIRST, LAST = "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00"  # UTC is before year 1 / after 9999
LOTTERY = {"name": "l", "cost_points": 1, "daily_limit": 1, "prizes": [{"name": "none", "kind": "none", "weight": 1}]}
RULE = {"name": "r", "min_amount_fen": 1, "coupon_pack_id": "{pack}"}
TASK = {"code": "t_{serial}", "title": "t", "kind": "daily", "event": "share", "target": 1}
GOODS = {"name": "g", "kind": "physical", "price_points": 1, "price_fen": 0}
TEMPLATE = {"name": "c", "kind": "cash_off", "amount_fen": 100, "min_spend_fen": 0}
DATED = [  # (method, path, a body valid but for its dates, the date fields)
    ("post", "/api/v1/admin/goods", GOODS, ("starts_at", "ends_at")),
    ("patch", "/api/v1/admin/goods/{goods}", {}, ("starts_at", "ends_at")),
    ("post", "/api/v1/admin/lotteries", LOTTERY, ("starts_at", "ends_at")),
    ("post", "/api/v1/admin/payment-rules", RULE, ("starts_at", "ends_at")),
    ("post", "/api/v1/admin/tasks", TASK, ("starts_at", "ends_at")),
    ("post", "/api/v1/admin/coupon-templates", {**TEMPLATE, "valid_from": "2026-01-01T00:00:00Z"}, ("valid_until",)),
]
CALENDAR_ENDS_CASES = [
    *[("operator", method, path, {**body, field: instant})
      for method, path, body, fields in DATED for field in fields for instant in (FIRST, LAST)],
    ("guide", "get", "/api/v1/guide/stats?from=0001-01-01&to=9999-12-31", None),
    ("guide", "get", "/api/v1/guide/stats?from=9999-12-31&to=9999-12-31", None),
    ("guide", "get", "/api/v1/guide/stats?from=0001-01-01&to=0001-01-01", None),
    ("guide", "get", "/api/v1/guide/stats?to=0001-01-03", None),
    ("member", "post", "/api/v1/signin/makeup", {"day": "0001-01-01"}),
    ("member", "post", "/api/v1/signin/makeup", {"day": "9999-12-31"}),
]


@pytest.mark.parametrize("side,method,path,body", CALENDAR_ENDS_CASES)
def test_send_a_date_at_the_ends_of_the_calendar_is_422(client, probe, side, method, path, body):
    assert_error(_probe(client, probe, side, method, path, body), 422)


@pytest.mark.parametrize("method,path", [("post", "/api/v1/admin/goods"), ("patch", "/api/v1/admin/goods/{goods}")])
def test_save_goods_with_an_unknown_level_is_422(client, probe, method, path):
    body = {**(GOODS if method == "post" else {}), "min_level_id": 2**31 - 1}
    res = _probe(client, probe, "operator", method, path, body)
    assert assert_error(res, 422)["details"] == {"min_level_id": ["No such level."]}


@pytest.mark.parametrize("field", ["levelup_pack_id", "birthday_pack_id"])
@pytest.mark.parametrize("method,path", [("post", "/api/v1/admin/levels"), ("patch", "/api/v1/admin/levels/{level}")])
def test_save_a_level_with_an_unknown_coupon_pack_is_422(client, probe, method, path, field):
    body = {"code": "pack_{serial}", "name": "x", "threshold": "{threshold}", field: 2**31 - 1}
    assert set(assert_error(_probe(client, probe, "operator", method, path, body), 422)["details"]) == {field}


@pytest.mark.parametrize("side,path,status", [  # str.isdigit() takes "²" and "١", which int() refuses or reads
    ("member", "/api/v1/leaderboards/points_week?limit=%C2%B2", 422),
    ("member", "/api/v1/leaderboards/points_week?limit=%D9%A1", 200),  # read as 1, as marshmallow reads it
    ("operator", "/api/v1/admin/members?q=%C2%B2", 200),
])
def test_send_digits_of_other_scripts_where_a_number_is_read(client, probe, side, path, status):
    res = client.get(path, headers=probe[side])
    assert res.status_code == status, res.get_data(as_text=True)
