"""Bad input on every endpoint: a 4xx with the error envelope, and nothing written."""
import pytest
from sqlalchemy import select

from models import AuditLog, GrowthEntry, IdempotencyRecord, Level, Member, PointsEntry, db
from tests.conftest import assert_error, row_counts, send, unique

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
    from services import demo
    demo.seed_levels()
    headers, member = operator(), login()["member"]["id"]
    level = db.session.scalar(select(Level.id).where(Level.code == "silver"))
    headers["Idempotency-Key"] = "k" * 129 if body and body.get("reason") == "long key" else unique("key")
    before = _counts()
    assert_error(send(client, method, path.format(member=member, level=level), body, headers), status)
    after = _counts()  # nothing changed but, where the endpoint takes a key, its stored (error) answer
    assert after.pop("idempotency_record") - before.pop("idempotency_record") in (0, 1)
    assert after == before
