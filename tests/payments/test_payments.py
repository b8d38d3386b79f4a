"""支付有礼 end to end: pay through the sandbox's signed notifications, rewards exactly once, refunds."""
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from models import MemberEvent, Payment, PointsEntry, db
from sandbox import SANDBOX_PAY_KEY
from sandbox.crypto import sign
from services.ledger import audit
from services.payments import payments
from tests.support.payments import SUCCESS, keyed, notify_xml, post_notify, start_payment


def _snapshot(member_id):
    db.session.rollback()
    return (db.session.query(PointsEntry).filter_by(member_id=member_id).count(),
            db.session.query(MemberEvent).filter_by(member_id=member_id).count(),
            [p.status for p in db.session.query(Payment).filter_by(member_id=member_id).order_by(Payment.id)])


def test_pay_then_notify_rewards_once(client, wx, buyer, shop):
    started = start_payment(client, buyer, 8800, store_id=shop["store_id"])
    assert started["pay"]["signType"] == "MD5" and started["pay"]["package"].startswith("prepay_id=")
    xml = notify_xml(wx, started["payment"]["out_trade_no"])
    assert post_notify(client, xml)
    result = client.get(f"/api/v1/payments/{started['payment']['id']}", headers=buyer["headers"]).get_json()
    assert result["payment"]["status"] == "paid"
    assert result["rewards"]["points"] == 88 and result["rewards"]["growth"] == 88
    assert len(result["rewards"]["coupons"]) == 1
    before = _snapshot(buyer["member"]["id"])
    for _ in range(3):
        assert post_notify(client, xml)
    assert _snapshot(buyer["member"]["id"]) == before
    me = client.get("/api/v1/me", headers=buyer["headers"]).get_json()
    assert me["points"]["balance"] == 88 and me["level"]["growth"] == 88
    coupons = client.get("/api/v1/coupons", headers=buyer["headers"], query_string={"status": "unused"}).get_json()
    assert [c["code"] for c in coupons["items"]] == result["rewards"]["coupons"]


def test_sandbox_posts_signed_notification_to_live_server(app, client, wx, live_server, buyer, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_NOTIFY_URL", f"{live_server}/api/v1/payments/wechat/notify")
    started = start_payment(client, buyer, 1234)
    answer = wx.post(f"pay/{started['payment']['out_trade_no']}/pay")
    assert answer["return_code"] == "SUCCESS"
    assert payments.get_payment(started["payment"]["id"]).points_awarded == 12


def test_parallel_copies_of_a_notification_reward_once(client, wx, live_server, buyer):
    started = start_payment(client, buyer, 5000)
    xml = notify_xml(wx, started["payment"]["out_trade_no"])

    def deliver(_):
        return requests.post(f"{live_server}/api/v1/payments/wechat/notify", data=xml, timeout=60)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(deliver, range(10)))
    assert all(res.status_code == 200 and SUCCESS in res.text for res in answers)
    entries = db.session.query(PointsEntry).filter_by(business_key=f"pay:{started['payment']['out_trade_no']}")
    assert [e.delta for e in entries] == [50]
    assert audit.check_books()["problems"] == []


def _resigned(xml, **changes):
    fields = {child.tag: child.text or "" for child in ET.fromstring(xml)}
    fields.update(changes)
    fields.pop("sign")
    fields["sign"] = sign(fields, SANDBOX_PAY_KEY)
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>"


@pytest.mark.parametrize("tamper", [
    lambda xml: xml.replace("<total_fee>", "<total_fee>1"),          # signature no longer matches
    lambda xml: _resigned(xml, mch_id="1900000999"),
    lambda xml: _resigned(xml, appid="wx0000000000other"),
    lambda xml: _resigned(xml, total_fee="1"),
    lambda xml: _resigned(xml, result_code="FAIL"),
    lambda xml: "",
    lambda xml: "this is not xml",
    lambda xml: "<xml></xml>",
    lambda xml: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><xml><a>&e;</a></xml>',
    lambda xml: _resigned(xml, out_trade_no="NO-SUCH-ORDER"),
], ids=["bad-sign", "other-mch", "other-appid", "wrong-fee", "result-fail", "empty", "not-xml", "empty-xml",
        "doctype", "unknown-order"])
def test_bad_notifications_fail_and_change_nothing(client, wx, buyer, tamper):
    started = start_payment(client, buyer, 6000)
    xml = notify_xml(wx, started["payment"]["out_trade_no"])
    before = _snapshot(buyer["member"]["id"])
    assert not post_notify(client, tamper(xml))
    assert _snapshot(buyer["member"]["id"]) == before == (before[0], before[1], ["pending"])


def test_notification_after_close_is_refunded_and_credits_nothing(client, wx, buyer, clock):
    started = start_payment(client, buyer, 7000)
    otn = started["payment"]["out_trade_no"]
    clock.advance(timedelta(minutes=16))
    wx.post("faults", api="closeorder", errcode="SYSTEMERROR", times=-1)  # WeChat cannot close it…
    try:
        payments.reconcile()  # …so the time-out closes it here only, and the payer still can pay
    finally:
        wx.delete("faults")
    assert client.get(f"/api/v1/payments/{started['payment']['id']}",
                      headers=buyer["headers"]).get_json()["payment"]["status"] == "closed"
    assert post_notify(client, notify_xml(wx, otn))
    payment = payments.get_payment(started["payment"]["id"])
    assert payment.paid_after_close and payment.points_awarded == 0
    refund_no = f"{otn}R1"
    assert wx.get(f"refunds/{refund_no}")["refund_fee"] == 7000
    xml = wx.post(f"refunds/{refund_no}/notify", send=False)["xml"]
    res = client.post("/api/v1/payments/wechat/refund-notify", data=xml, content_type="text/xml")
    assert SUCCESS in res.get_data(as_text=True)
    assert payments.get_payment(started["payment"]["id"]).status == "refunded"
    assert _snapshot(buyer["member"]["id"])[0] == 0
    assert audit.check_books()["problems"] == []


def test_refunds_claw_back_exactly_once(app, client, wx, live_server, buyer, shop, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_REFUND_NOTIFY_URL", f"{live_server}/api/v1/payments/wechat/refund-notify")
    started = start_payment(client, buyer, 10000, store_id=shop["store_id"])
    assert post_notify(client, notify_xml(wx, started["payment"]["out_trade_no"]))
    url = f"/api/v1/admin/payments/{started['payment']['id']}/refund"
    first = client.post(url, headers=keyed(shop["admin"]), json={"amount_fen": 4000, "reason": "退一件"})
    assert first.status_code == 200, first.get_json()
    for _ in range(2):
        wx.post(f"refunds/{first.get_json()['out_refund_no']}/notify")
    me = client.get("/api/v1/me", headers=buyer["headers"]).get_json()
    assert me["points"]["balance"] == 60 and me["level"]["growth"] == 60
    unused = client.get("/api/v1/coupons", headers=buyer["headers"], query_string={"status": "unused"}).get_json()
    assert len(unused["items"]) == 1  # 60 元 still reaches the 50 元 threshold
    rest = client.post(url, headers=keyed(shop["admin"]), json={"amount_fen": 6000, "reason": "全退"}).get_json()
    wx.post(f"refunds/{rest['out_refund_no']}/notify")
    me = client.get("/api/v1/me", headers=buyer["headers"]).get_json()
    assert me["points"]["balance"] == 0 and me["level"]["growth"] == 0
    revoked = client.get("/api/v1/coupons", headers=buyer["headers"], query_string={"status": "revoked"}).get_json()
    assert len(revoked["items"]) == 1
    too_much = client.post(url, headers=keyed(shop["admin"]), json={"amount_fen": 1, "reason": "again"})
    assert too_much.status_code == 409
    assert payments.get_payment(started["payment"]["id"]).status == "refunded"
    assert audit.check_books()["problems"] == []


def test_coupon_lowers_amount_and_comes_back_when_unpaid_payment_closes(client, wx, buyer, shop, clock):
    res = client.post(f"/api/v1/admin/members/{buyer['member']['id']}/coupon-packs", headers=shop["admin"],
                      json={"pack_id": shop["pack_id"], "reason": "welcome"})
    assert res.status_code == 201, res.get_json()
    code = res.get_json()["coupons"][0]["code"]
    started = start_payment(client, buyer, 6000, coupon_code=code)
    assert (started["payment"]["amount_fen"], started["payment"]["discount_fen"]) == (5000, 1000)
    again = client.post("/api/v1/payments", headers=buyer["headers"],
                        json={"amount_fen": 6000, "description": "x", "coupon_code": code})
    assert again.status_code == 409  # held by the unpaid payment
    clock.advance(timedelta(minutes=20))
    assert payments.reconcile()["closed"] >= 1
    assert client.get(f"/api/v1/payments/{started['payment']['id']}",
                      headers=buyer["headers"]).get_json()["payment"]["status"] == "closed"
    unused = client.get("/api/v1/coupons", headers=buyer["headers"], query_string={"status": "unused"}).get_json()
    assert code in [c["code"] for c in unused["items"]] and not [c for c in unused["items"] if c["held"]]


def test_coupon_is_used_when_payment_is_paid(client, wx, buyer, shop):
    code = client.post(f"/api/v1/admin/members/{buyer['member']['id']}/coupon-packs", headers=shop["admin"],
                       json={"pack_id": shop["pack_id"], "reason": "welcome"}).get_json()["coupons"][0]["code"]
    started = start_payment(client, buyer, 5500, coupon_code=code)
    assert post_notify(client, notify_xml(wx, started["payment"]["out_trade_no"]))
    used = client.get("/api/v1/coupons", headers=buyer["headers"], query_string={"status": "used"}).get_json()
    assert code in [c["code"] for c in used["items"]]


def test_reconcile_finds_a_payment_whose_notification_was_lost(client, wx, buyer, clock):
    started = start_payment(client, buyer, 3300)
    wx.post(f"pay/{started['payment']['out_trade_no']}/pay", send=False)  # paid at WeChat, notify lost
    clock.advance(timedelta(minutes=6))
    assert payments.reconcile()["paid"] >= 1
    assert payments.get_payment(started["payment"]["id"]).points_awarded == 33


def test_other_members_payment_is_404(client, buyer, login):
    started = start_payment(client, buyer, 100)
    stranger = login()
    res = client.get(f"/api/v1/payments/{started['payment']['id']}", headers=stranger["headers"])
    assert res.status_code == 404


def test_wechat_refusing_the_order_is_502_and_closes_the_payment(client, wx, buyer):
    wx.post("faults", api="unifiedorder", errcode="SYSTEMERROR")
    res = client.post("/api/v1/payments", headers=buyer["headers"], json={"amount_fen": 100, "description": "x"})
    assert res.status_code == 502 and res.get_json()["error"]["code"] == "wechat_error"
    assert _snapshot(buyer["member"]["id"])[2] == ["closed"]


def test_pay_success_message_is_queued_in_the_outbox(client, wx, buyer):
    from models.message import OutboxMessage
    started = start_payment(client, buyer, 2000)
    assert post_notify(client, notify_xml(wx, started["payment"]["out_trade_no"]))
    rows = db.session.query(OutboxMessage).filter_by(business_key=f"msg:pay:{started['payment']['out_trade_no']}")
    assert [row.template_key for row in rows] == ["pay_success"]


def test_a_retried_refund_request_is_one_refund_and_one_audit_row(client, wx, buyer, shop):
    from models import AuditLog, Operator
    from services.payments import refunds
    started = start_payment(client, buyer, 3000)
    assert post_notify(client, notify_xml(wx, started["payment"]["out_trade_no"]))
    operator_ = db.session.query(Operator).order_by(Operator.id.desc()).first()
    first, again = (refunds.refund_by_operator(operator_, started["payment"]["id"], amount_fen=1000, reason="retry",
                                               request_key="r1") for _ in range(2))
    assert first.id == again.id
    logs = db.session.query(AuditLog).filter_by(action="payment.refund", target_type="refund", target_id=str(first.id))
    assert logs.count() == 1
