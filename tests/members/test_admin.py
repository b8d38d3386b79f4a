"""Operators: member lookup, audited points adjustments, levels and level-ups."""
import pytest

from models import AuditLog, LevelChange, db
from services.ledger import growth
from services.platform.db import transaction
from tests.support.api import unique


def _adjust(client, headers, member_id, delta, reason="customer goodwill", key=None):
    headers = {**headers, "Idempotency-Key": key or unique("adjust")}
    return client.post(f"/api/v1/admin/members/{member_id}/points", headers=headers,
                       json={"delta": delta, "reason": reason})


def test_adjust_points_credits_debits_and_audits(client, operator, login):
    admin, me = operator(), login()
    member_id = me["member"]["id"]
    assert _adjust(client, admin, member_id, 300).get_json() == {"balance": 300}
    assert _adjust(client, admin, member_id, -120, reason="wrong credit").get_json() == {"balance": 180}
    logs = db.session.query(AuditLog).filter_by(action="points.adjust").filter(
        AuditLog.details["member_id"].as_integer() == member_id).all()
    assert sorted(log.details["delta"] for log in logs) == [-120, 300]
    assert {log.reason for log in logs} == {"customer goodwill", "wrong credit"}
    ledger = client.get("/api/v1/points/ledger", headers=me["headers"]).get_json()
    assert [(e["delta"], e["balance_after"], e["reason"]) for e in ledger["items"]] == [
        (-120, 180, "admin_adjust"), (300, 300, "admin_adjust")]
    assert ledger["items"][1]["expires_at"] is not None


def test_debit_below_zero_is_409_and_changes_nothing(client, operator, make_member):
    admin, member = operator(), make_member(points_=50)
    res = _adjust(client, admin, member["member"]["id"], -51)
    assert res.status_code == 409
    assert res.get_json()["error"]["code"] == "insufficient_points"
    me = client.get("/api/v1/me", headers=member["headers"]).get_json()
    assert me["points"]["balance"] == 50


def test_idempotency_key_replays_first_answer(client, operator, login):
    admin, me = operator(), login()
    key = unique("retry")
    first = _adjust(client, admin, me["member"]["id"], 40, key=key)
    again = _adjust(client, admin, me["member"]["id"], 40, key=key)
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json() == {"balance": 40}
    other = _adjust(client, admin, me["member"]["id"], 41, key=key)
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_conflict"
    assert client.get("/api/v1/me", headers=me["headers"]).get_json()["points"]["balance"] == 40


def test_failed_request_does_not_burn_its_idempotency_key(client, operator, make_member):
    admin, member = operator(), make_member(points_=10)
    key = unique("retry")
    assert _adjust(client, admin, member["member"]["id"], -20, key=key).status_code == 409
    assert _adjust(client, admin, member["member"]["id"], -20, key=key).status_code == 409


def test_member_lookup_by_phone_nickname_and_id(client, operator, login, wx):
    admin, me = operator(), login()
    nickname = unique("Nick")
    client.patch("/api/v1/me", headers=me["headers"], json={"nickname": nickname})
    for q in (nickname, nickname[2:8], str(me["member"]["id"])):
        items = client.get("/api/v1/admin/members", headers=admin, query_string={"q": q}).get_json()["items"]
        assert me["member"]["id"] in [m["id"] for m in items], q
    detail = client.get(f"/api/v1/admin/members/{me['member']['id']}", headers=admin).get_json()
    assert detail["nickname"] == nickname


@pytest.mark.parametrize("q", ["13976930134", str(2**31), "9" * 64])
def test_member_lookup_by_a_number_no_id_can_be_is_answered(client, operator, q):
    """A phone number is digits too: on PostgreSQL, comparing it with an id was an integer out of range."""
    answer = client.get("/api/v1/admin/members", headers=operator(), query_string={"q": q})
    assert answer.status_code == 200, answer.get_json()


def test_member_lookup_pages_with_cursor(client, operator, login):
    admin = operator()
    for _ in range(3):
        login()
    first = client.get("/api/v1/admin/members", headers=admin, query_string={"limit": 2}).get_json()
    second = client.get("/api/v1/admin/members", headers=admin,
                        query_string={"limit": 2, "cursor": first["next_cursor"]}).get_json()
    ids = [m["id"] for m in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 4 and ids == sorted(ids, reverse=True)


def test_unknown_member_is_404(client, operator):
    res = _adjust(client, operator(), 987654321, 10)
    assert res.status_code == 404 and res.get_json()["error"]["code"] == "not_found"


def test_growth_levels_member_up_in_the_same_transaction(client, login):
    me = login()
    member_id = me["member"]["id"]
    with transaction():
        growth.earn(member_id, 600, reason="purchase", business_key=unique("growth"))
    level = client.get("/api/v1/me", headers=me["headers"]).get_json()["level"]
    assert (level["code"], level["growth"], level["next_level"], level["next_threshold"]) == (
        "silver", 600, "黄金会员", 2000)
    assert level["growth_to_next"] == 1400
    changes = db.session.query(LevelChange).filter_by(member_id=member_id).all()
    assert len(changes) == 1 and changes[0].growth_entry_id is not None


def test_a_growth_reversal_keeps_the_level_under_the_default_policy(client, login):
    """Lifetime growth, no downgrade: a refund takes growth back, never the level (tests/levels for the others)."""
    me = login()
    key = unique("growth")
    with transaction():
        growth.earn(me["member"]["id"], 2100, reason="purchase", business_key=key)
    with transaction():
        growth.reverse(key, business_key=unique("refund"), amount=1700)
    level = client.get("/api/v1/me", headers=me["headers"]).get_json()["level"]
    assert (level["code"], level["growth"]) == ("gold", 400)


def test_levels_crud(client, operator, login):
    admin = operator()
    code = unique("vip").replace("-", "_")[:32]
    threshold = 10**8 + int(code.rsplit("_", 1)[1])
    res = client.post("/api/v1/admin/levels", headers=admin, json={
        "code": code, "name": "至尊", "threshold": threshold, "points_multiplier_pct": 300})
    assert res.status_code == 201, res.get_json()
    level = res.get_json()
    assert level["id"] and level["makeup_cards_per_month"] == 0
    dup = client.post("/api/v1/admin/levels", headers=admin, json={"code": code, "name": "x", "threshold": 1})
    assert dup.status_code == 409
    res = client.patch(f"/api/v1/admin/levels/{level['id']}", headers=admin, json={"name": "至尊会员"})
    assert res.get_json()["name"] == "至尊会员"
    assert code in [lv["code"] for lv in client.get("/api/v1/admin/levels", headers=admin).get_json()["items"]]
    assert client.delete(f"/api/v1/admin/levels/{level['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/admin/levels/{level['id']}", headers=admin).status_code == 404


@pytest.fixture(autouse=True)
def _default_levels(app):
    import demo
    demo.seed_levels()
