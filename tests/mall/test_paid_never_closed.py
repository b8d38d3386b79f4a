"""A payment WeChat took is never recorded closed with the money kept: a member's cancel (or the time-out)
meeting the signed notify ends delivered, or refunded in full once, whichever commits first.

WeChat refuses closeorder here (SYSTEMERROR, as it does in an order's first minutes), so the cancel
closes the payment on our side only and the pay sheet can still be paid."""
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from models import MallOrder, Payment, Refund, db
from services.ledger import audit
from services.payments import payments, refunds
from services.wechat import pay
from tests.support.mall import add_goods, member_points, order, placed
from tests.support.payments import SUCCESS, notify_xml
from tests.support.races import race

NOTIFY = "/api/v1/payments/wechat/notify"


@pytest.fixture
def closeorder_refused(wx):
    wx.post("faults", api="closeorder", errcode="SYSTEMERROR", times=-1)
    yield
    wx.delete("faults")


def _cash_order(client, admin, member):
    goods = add_goods(client, admin, price_points=100, price_fen=990, stock=5)
    placed_order = placed(order(client, member, goods["id"]))["order"]
    return placed_order, db.session.get(Payment, placed_order["payment_id"]).out_trade_no


def _settle_refunds(clock):
    """Let every open refund reach WeChat's final answer (its notify may never come)."""
    clock.advance(timedelta(seconds=refunds.CHECK_AFTER_SECONDS + 1))
    refunds.reconcile()


def _assert_delivered_or_refunded_in_full(wx, order_id: int) -> str:
    db.session.rollback()
    mall_order = db.session.get(MallOrder, order_id)
    payment = db.session.get(Payment, mall_order.payment_id)
    assert wx.get(f"orders/{payment.out_trade_no}")["state"] in ("SUCCESS", "REFUND")  # WeChat took the money
    assert payment.status != "closed", f"{payment.out_trade_no}: paid at WeChat, closed here"
    assert payment.transaction_id
    if payment.paid_after_close:
        refunded = db.session.scalars(select(Refund).where(Refund.payment_id == payment.id)).all()
        assert [(r.amount_fen, r.status) for r in refunded] == [(payment.amount_fen, "succeeded")]
        assert (payment.status, mall_order.status) == ("refunded", "cancelled")
        return "refunded"
    assert mall_order.status == "paid"
    return "delivered"


def test_a_payment_paid_while_the_cancel_closes_it_is_delivered_not_closed(
        client, operator, make_member, wx, clock, live_server, monkeypatch, closeorder_refused):
    """The notify commits between the cancel's first read of the payment and its close: the close must
    decide from the row as it is now (paid), not from the copy the request loaded before."""
    member = make_member(points_=500)
    placed_order, out_trade_no = _cash_order(client, operator(), member)
    close_at_wechat = pay.close_order

    def paid_meanwhile(number):  # the member pays in the pay sheet still open: WeChat notifies at once
        assert SUCCESS in requests.post(f"{live_server}{NOTIFY}", data=notify_xml(wx, number), timeout=30).text
        return close_at_wechat(number)  # WeChat refuses (SYSTEMERROR): closed here only, as before

    monkeypatch.setattr(pay, "close_order", paid_meanwhile)
    res = client.post(f"/api/v1/mall/orders/{placed_order['id']}/cancel", headers=member["headers"])
    assert res.status_code == 409 and res.get_json()["error"]["details"]["status"] == "paid", res.get_json()
    assert _assert_delivered_or_refunded_in_full(wx, placed_order["id"]) == "delivered"
    assert member_points(member)["balance"] == 400
    assert audit.check_books()["problems"] == []


def test_a_pending_payment_settled_by_reconcile_after_its_notify_is_settled_once(
        client, operator, make_member, wx, live_server, monkeypatch):
    """Reconcile asks WeChat (paid), and the notify commits before reconcile locks the row: the row read
    afresh says paid, so nothing is settled twice."""
    member = make_member(points_=500)
    placed_order, out_trade_no = _cash_order(client, operator(), member)
    xml = notify_xml(wx, out_trade_no)
    query = pay.query_order

    def notified_meanwhile(number):
        answer = query(number)
        assert SUCCESS in requests.post(f"{live_server}{NOTIFY}", data=xml, timeout=30).text
        return answer

    monkeypatch.setattr(pay, "query_order", notified_meanwhile)
    payment_id = db.session.get(Payment, placed_order["payment_id"]).id
    assert payments.close_unless_paid(payment_id) == "paid"
    assert _assert_delivered_or_refunded_in_full(wx, placed_order["id"]) == "delivered"
    assert member_points(member) | {"expiring": None} == {"balance": 400, "frozen": 0, "available": 400,
                                                            "expiring": None}
    assert audit.check_books()["problems"] == []


def test_a_dozen_cancels_racing_their_notifies_end_delivered_or_refunded_in_full(
        client, operator, make_member, wx, clock, live_server, closeorder_refused):
    admin = operator()
    cases = []
    for _ in range(12):
        member = make_member(points_=500)
        cases.append((member, *_cash_order(client, admin, member)))
    calls = []
    for member, placed_order, out_trade_no in cases:  # the member cancels and pays in the same instant
        calls.append(lambda m=member, o=placed_order: requests.post(
            f"{live_server}/api/v1/mall/orders/{o['id']}/cancel", headers=m["headers"], timeout=60))
        calls.append(lambda n=out_trade_no: requests.post(f"{live_server}{NOTIFY}", data=notify_xml(wx, n), timeout=60))
    answers = race(calls)
    assert all(SUCCESS in res.text for res in answers[1::2]), [res.text for res in answers[1::2]]
    assert all(res.status_code in (200, 409) for res in answers[0::2]), [res.text for res in answers[0::2]]
    _settle_refunds(clock)
    outcomes = [_assert_delivered_or_refunded_in_full(wx, placed_order["id"]) for _, placed_order, _ in cases]
    for (member, _, _), outcome in zip(cases, outcomes):
        assert member_points(member)["balance"] == (400 if outcome == "delivered" else 500)
    assert audit.check_books()["problems"] == []
