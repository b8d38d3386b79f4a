"""Bad input on the payment endpoints: a 4xx with the envelope, and nothing written."""
import pytest

from models import AuditLog, Payment, PaymentRule, Refund, Store
from tests.support.api import assert_error, send, unique
from tests.support.db import row_counts

TABLES = (Payment, PaymentRule, Refund, Store, AuditLog)

MEMBER_CASES = [
    ({}, 422),
    ({"amount_fen": 0, "description": "x"}, 422),
    ({"amount_fen": -5, "description": "x"}, 422),
    ({"amount_fen": "100", "description": "x"}, 422),
    ({"amount_fen": 1.5, "description": "x"}, 422),
    ({"amount_fen": 10**12, "description": "x"}, 422),
    ({"amount_fen": 100}, 422),
    ({"amount_fen": 100, "description": ""}, 422),
    ({"amount_fen": 100, "description": "x" * 128}, 422),
    ({"amount_fen": 100, "description": "x", "store_id": 99999999}, 404),
    ({"amount_fen": 100, "description": "x", "coupon_code": "NOSUCHCODE"}, 404),
    ("not json{", 400),
]

OPERATOR_CASES = [
    ("post", "/api/v1/admin/stores", {}, 422),
    ("post", "/api/v1/admin/stores", {"name": ""}, 422),
    ("post", "/api/v1/admin/payment-rules", {"name": "r", "min_amount_fen": 100}, 422),
    ("post", "/api/v1/admin/payment-rules", {"name": "r", "min_amount_fen": -1, "coupon_pack_id": 1}, 422),
    ("post", "/api/v1/admin/payment-rules", {"name": "r", "min_amount_fen": 1, "coupon_pack_id": 99999999}, 404),
    ("post", "/api/v1/admin/payment-rules", {"name": "r", "min_amount_fen": 1, "coupon_pack_id": 1,
                                             "starts_at": "2026-01-01T00:00:00"}, 422),
    ("patch", "/api/v1/admin/payment-rules/99999999", {"name": "x"}, 404),
    ("delete", "/api/v1/admin/payment-rules/99999999", None, 404),
    ("get", "/api/v1/admin/payments/99999999", None, 404),
    ("get", "/api/v1/admin/payments?status=lost", None, 422),
    ("get", "/api/v1/admin/payments?member_id=x", None, 422),
    ("post", "/api/v1/admin/payments/99999999/refund", {"amount_fen": 1, "reason": "why"}, 404),
    ("post", "/api/v1/admin/payments/{pending}/refund", {"amount_fen": 1, "reason": "not paid"}, 409),
    ("post", "/api/v1/admin/payments/{pending}/refund", {"amount_fen": 0, "reason": "zero"}, 422),
    ("post", "/api/v1/admin/payments/{pending}/refund", {"amount_fen": 1}, 422),
]


@pytest.mark.parametrize("body,status", MEMBER_CASES)
def test_payment_bad_input(client, login, body, status):
    headers = login()["headers"]
    before = row_counts(*TABLES)
    assert_error(send(client, "post", "/api/v1/payments", body, headers), status)
    assert row_counts(*TABLES) == before


@pytest.mark.parametrize("method,path,body,status", OPERATOR_CASES)
def test_payment_operator_bad_input(client, login, operator, method, path, body, status):
    member, admin = login(), operator()
    pending = client.post("/api/v1/payments", headers=member["headers"],
                          json={"amount_fen": 100, "description": "x"}).get_json()["payment"]["id"]
    before = row_counts(*TABLES)
    assert_error(send(client, method, path.format(pending=pending), body, {**admin, "Idempotency-Key": unique("k")}),
                 status)
    assert row_counts(*TABLES) == before


def test_notify_endpoints_answer_xml_fail_to_garbage(client):
    for path in ("/api/v1/payments/wechat/notify", "/api/v1/payments/wechat/refund-notify"):
        res = client.post(path, data=b"\x00\xff garbage", content_type="text/xml")
        assert res.status_code == 200 and b"FAIL" in res.data


def test_operator_lists_payments_by_member_and_status(client, login, operator):
    member, admin = login(), operator()
    for amount in (100, 200):
        client.post("/api/v1/payments", headers=member["headers"], json={"amount_fen": amount, "description": "x"})
    res = client.get("/api/v1/admin/payments", headers=admin,
                     query_string={"member_id": member["member"]["id"], "status": "pending", "limit": 1})
    body = res.get_json()
    assert [p["amount_fen"] for p in body["items"]] == [200] and body["next_cursor"]
