"""The money core converges: a genuine payment always settles, its rewards are paid once (withheld or
retried until they can be), refunds reach WeChat with one out_refund_no, and a failed one reaches an
operator."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import Payment, Refund, db
from services.ledger import audit, points
from services.payments import payments, rewards
from services.platform.db import transaction
from tests.support.api import unique
from tests.support.audit import assert_reported, corrupted
from tests.support.payments import keyed, notify_xml, post_notify, start_payment


@pytest.fixture(autouse=True)
def _no_faults_left(wx):
    yield
    wx.delete("faults")


def _payment(payment_id: int) -> Payment:
    db.session.rollback()
    return db.session.get(Payment, payment_id)


def _refund(out_refund_no: str) -> Refund:
    db.session.rollback()
    return db.session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no))


def _set_status(client, admin, member_id, status):
    res = client.patch(f"/api/v1/admin/members/{member_id}", headers=admin, json={"status": status, "reason": "check"})
    assert res.status_code == 200, res.get_json()


def _paid(client, wx, member, amount_fen, **extra):
    """A payment made and notified; its id."""
    started = start_payment(client, member, amount_fen, **extra)
    assert post_notify(client, notify_xml(wx, started["payment"]["out_trade_no"]))
    return started["payment"]["id"]


def _refund_request(client, admin, payment_id, amount_fen, key=None):
    return client.post(f"/api/v1/admin/payments/{payment_id}/refund",
                       headers={**admin, "Idempotency-Key": key or unique("refund")},
                       json={"amount_fen": amount_fen, "reason": "退货"})


# -- a genuine payment always settles ------------------------------------------------------------

def test_a_paid_notify_for_a_frozen_member_settles_and_its_rewards_wait_until_unfrozen(client, wx, buyer, shop):
    member_id, admin = buyer["member"]["id"], shop["admin"]
    started = start_payment(client, buyer, 8800, store_id=shop["store_id"])
    _set_status(client, admin, member_id, "frozen")
    assert post_notify(client, notify_xml(wx, started["payment"]["out_trade_no"]))  # was FAIL, left pending
    payment_id = started["payment"]["id"]
    assert (_payment(payment_id).status, _payment(payment_id).reward_status) == ("paid", "withheld")
    assert points.summary(member_id)["balance"] == 0
    withheld = client.get("/api/v1/admin/payments", headers=admin, query_string={"reward_status": "withheld"})
    assert payment_id in [row["id"] for row in withheld.get_json()["items"]]
    payments.reconcile_all()
    assert _payment(payment_id).reward_status == "withheld"  # still frozen: still waiting
    _set_status(client, admin, member_id, "active")
    payments.reconcile_all()
    payment = _payment(payment_id)
    assert payment.reward_status == "rewarded" and len(payment.coupon_codes) == 1
    assert points.summary(member_id)["balance"] == 88
    payments.reconcile_all()
    assert post_notify(client, notify_xml(wx, started["payment"]["out_trade_no"]))
    assert points.summary(member_id)["balance"] == 88
    assert audit.check_books()["problems"] == []


def test_an_error_while_rewarding_leaves_the_payment_paid_and_is_retried_until_paid_once(
        app, client, wx, buyer, clock, monkeypatch):
    member_id = buyer["member"]["id"]
    monkeypatch.setitem(app.config, "GROWTH_PER_YUAN", "1")  # a broken setting: rewarding raises
    payment_id = _paid(client, wx, buyer, 5000)
    payment = _payment(payment_id)
    assert (payment.status, payment.reward_status, payment.reward_attempts) == ("paid", "retrying", 1)
    assert payment.reward_error and points.summary(member_id)["balance"] == 0
    monkeypatch.setitem(app.config, "GROWTH_PER_YUAN", 1)
    rewards.pay_owed()
    assert _payment(payment_id).reward_status == "retrying"  # its retry is not due yet
    clock.advance(timedelta(minutes=2))
    assert payments.reconcile_all()["rewards"]["rewarded"] >= 1
    assert _payment(payment_id).reward_status == "rewarded"
    assert points.summary(member_id)["balance"] == 50
    clock.advance(timedelta(minutes=10))
    payments.reconcile_all()
    assert points.summary(member_id)["balance"] == 50
    assert audit.check_books()["problems"] == []


def test_reconcile_settles_each_row_on_its_own_and_sets_aside_an_amount_that_will_not_match(
        client, wx, buyer, shop, clock):
    admin, member_id = shop["admin"], buyer["member"]["id"]
    mismatched = start_payment(client, buyer, 3000)
    frozen_member = start_payment(client, buyer, 4000)
    fine = start_payment(client, buyer, 5000)
    for started in (mismatched, frozen_member, fine):  # paid at WeChat, notifications lost
        wx.post(f"pay/{started['payment']['out_trade_no']}/pay", send=False)
    with db.session.begin():  # our record disagrees with what WeChat took
        db.session.get(Payment, mismatched["payment"]["id"]).amount_fen = 2999
    db.session.rollback()
    clock.advance(timedelta(minutes=6))
    _set_status(client, admin, member_id, "frozen")
    outcome = payments.reconcile_all()
    assert outcome["payments"]["errors"] >= 1 and "refunds" in outcome  # the batch went on
    assert _payment(mismatched["payment"]["id"]).status == "pending"
    assert "3000 fen" in _payment(mismatched["payment"]["id"]).attention
    assert (_payment(frozen_member["payment"]["id"]).status,
            _payment(frozen_member["payment"]["id"]).reward_status) == ("paid", "withheld")
    assert _payment(fine["payment"]["id"]).status == "paid"
    assert mismatched["payment"]["id"] not in [p.id for p in db.session.scalars(select(Payment).where(
        Payment.status == "pending", Payment.attention.is_(None)))]  # reconcile leaves it to a person
    listed = client.get("/api/v1/admin/payments", headers=admin, query_string={"attention": "true"}).get_json()
    assert mismatched["payment"]["id"] in [row["id"] for row in listed["items"]]
    assert payments.needing_attention()["payments"] >= 1
    _set_status(client, admin, member_id, "active")
    payments.reconcile_all()
    with db.session.begin():
        db.session.get(Payment, mismatched["payment"]["id"]).amount_fen = 3000  # a person settles it
    db.session.rollback()
    assert audit.check_books()["problems"] == []


# -- refunds converge ----------------------------------------------------------------------------

def test_a_refund_that_never_reached_wechat_is_sent_again_with_the_same_out_refund_no(client, wx, buyer, shop, clock):
    payment_id = _paid(client, wx, buyer, 6000)
    wx.post("faults", api="refund", http_status=503)
    res = _refund_request(client, shop["admin"], payment_id, 6000)
    assert res.status_code == 200, res.get_json()
    answer = res.get_json()
    assert answer["status"] == "processing" and answer["submitted_at"] is None and answer["last_error"]
    out_refund_no = answer["out_refund_no"]
    assert wx.get("orders/" + _payment(payment_id).out_trade_no)["refunds"] == []
    payments.reconcile_all()
    assert _refund(out_refund_no).submitted_at is None  # its retry is not due yet
    clock.advance(timedelta(minutes=2))
    assert payments.reconcile_all()["refunds"]["sent"] >= 1
    assert _refund(out_refund_no).submitted_at is not None
    assert [r["out_refund_no"] for r in wx.get("orders/" + _payment(payment_id).out_trade_no)["refunds"]] == [
        out_refund_no]
    clock.advance(timedelta(minutes=6))  # the notification is lost too: reconcile asks
    assert payments.reconcile_all()["refunds"]["succeeded"] >= 1
    assert (_refund(out_refund_no).status, _payment(payment_id).status) == ("succeeded", "refunded")
    assert points.summary(buyer["member"]["id"])["balance"] == 0
    assert audit.check_books()["problems"] == []


def test_systemerror_is_retried_with_the_same_parameters_not_recorded_as_final(client, wx, buyer, shop, clock):
    payment_id = _paid(client, wx, buyer, 2000)
    wx.post("faults", api="refund", errcode="SYSTEMERROR")
    answer = _refund_request(client, shop["admin"], payment_id, 500).get_json()
    assert answer["status"] == "processing" and "SYSTEMERROR" in answer["last_error"]
    clock.advance(timedelta(minutes=2))
    payments.reconcile_all()
    refund = _refund(answer["out_refund_no"])
    assert refund.status == "processing" and refund.submitted_at is not None and refund.attempts == 1


def test_a_refund_wechat_settled_for_another_amount_waits_for_a_person_with_backoff(client, wx, buyer, shop, clock):
    payment_id = _paid(client, wx, buyer, 3000)
    answer = _refund_request(client, shop["admin"], payment_id, 1000).get_json()
    no = answer["out_refund_no"]
    amount = lambda fen: db.session.execute(update(Refund).where(Refund.out_refund_no == no)  # noqa: E731
                                            .values(amount_fen=fen))
    with transaction():
        amount(900)  # our record and WeChat's disagree
    clock.advance(timedelta(minutes=6))  # past the first check of an accepted refund
    payments.reconcile_all()
    refund = _refund(no)
    assert refund.status == "processing" and refund.last_error.startswith("amount_mismatch")
    assert refund.retry_at > clock.now() + timedelta(seconds=20)  # not every minute for ever
    with transaction():
        amount(1000)
    clock.advance(timedelta(hours=2))
    payments.reconcile_all()
    assert _refund(no).status == "succeeded"


def test_a_definite_no_fails_the_refund_reports_it_and_frees_the_amount(app, client, wx, buyer, shop):
    admin = shop["admin"]
    payment_id = _paid(client, wx, buyer, 2000)
    wx.post("faults", api="refund", errcode="USER_ACCOUNT_ABNORMAL")
    answer = _refund_request(client, admin, payment_id, 2000).get_json()
    assert (answer["status"], answer["failure_reason"]) == ("failed", "USER_ACCOUNT_ABNORMAL")
    failed = client.get("/api/v1/admin/refunds", headers=admin, query_string={"status": "failed"}).get_json()
    assert answer["id"] in [row["id"] for row in failed["items"]]
    output = app.test_cli_runner().invoke(args=["reconcile-payments"]).output
    assert "failed refunds" in output
    again = _refund_request(client, admin, payment_id, 2000).get_json()  # a new request, another out_refund_no
    assert again["status"] == "processing" and again["out_refund_no"] != answer["out_refund_no"]


@pytest.mark.parametrize("outcome", ["CHANGE", "REFUNDCLOSE"])
def test_a_refund_notify_of_change_or_refundclose_fails_it_for_an_operator(client, wx, buyer, shop, outcome):
    payment_id = _paid(client, wx, buyer, 3000)
    answer = _refund_request(client, shop["admin"], payment_id, 1000).get_json()
    xml = wx.post(f"refunds/{answer['out_refund_no']}/notify", send=False, refund_status=outcome)["xml"]
    res = client.post("/api/v1/payments/wechat/refund-notify", data=xml, content_type="text/xml")
    assert res.status_code == 200 and "SUCCESS" in res.get_data(as_text=True)
    refund = _refund(answer["out_refund_no"])
    assert (refund.status, refund.failure_reason) == ("failed", outcome)
    assert points.summary(buyer["member"]["id"])["balance"] == 30  # nothing was taken back


def test_the_refund_of_a_late_payment_is_sent_again_when_wechat_was_away(client, wx, buyer, clock):
    started = start_payment(client, buyer, 7000)
    clock.advance(timedelta(minutes=16))
    wx.post("faults", api="closeorder", errcode="SYSTEMERROR")  # WeChat cannot close it: we close it here
    payments.reconcile()
    assert _payment(started["payment"]["id"]).status == "closed"
    wx.post("faults", api="refund", http_status=500)
    assert post_notify(client, notify_xml(wx, started["payment"]["out_trade_no"]))  # paid after all
    refund = db.session.scalar(select(Refund).where(Refund.payment_id == started["payment"]["id"]))
    assert refund.status == "processing" and refund.submitted_at is None
    clock.advance(timedelta(minutes=2))
    payments.reconcile_all()
    assert _refund(refund.out_refund_no).submitted_at is not None
    assert wx.get(f"refunds/{refund.out_refund_no}")["refund_fee"] == 7000


def test_an_operator_resends_an_open_refund_with_the_same_out_refund_no(client, wx, buyer, shop):
    payment_id = _paid(client, wx, buyer, 1500)
    wx.post("faults", api="refund", http_status=502)
    answer = _refund_request(client, shop["admin"], payment_id, 1500).get_json()
    res = client.post(f"/api/v1/admin/refunds/{answer['id']}/retry", headers=keyed(shop["admin"]))
    assert res.status_code == 200, res.get_json()
    assert res.get_json()["submitted_at"] is not None and res.get_json()["out_refund_no"] == answer["out_refund_no"]
    assert client.post(f"/api/v1/admin/refunds/{answer['id']}/retry", headers=shop["admin"]).status_code == 400


# -- audit-ledger fails when a payment's books are broken -----------------------------------------

@pytest.fixture
def refunded_payment(client, wx, buyer, shop):
    """A payment rewarded with points, growth and a coupon pack, then refunded in part."""
    payment_id = _paid(client, wx, buyer, 10000, store_id=shop["store_id"])
    refund = _refund_request(client, shop["admin"], payment_id, 2000).get_json()
    xml = wx.post(f"refunds/{refund['out_refund_no']}/notify", send=False)["xml"]
    assert client.post("/api/v1/payments/wechat/refund-notify", data=xml, content_type="text/xml").status_code == 200
    assert _refund(refund["out_refund_no"]).status == "succeeded"
    return {"payment": payment_id, "refund": refund["id"], "template": shop["template_id"]}


@pytest.mark.parametrize("breaking,mending,name", [
    ("UPDATE payment SET points_awarded = points_awarded + 1 WHERE id = :payment",
     "UPDATE payment SET points_awarded = points_awarded - 1 WHERE id = :payment",
     "payment {payment} (rewarded): points"),
    ("UPDATE payment SET growth_awarded = growth_awarded + 1 WHERE id = :payment",
     "UPDATE payment SET growth_awarded = growth_awarded - 1 WHERE id = :payment",
     "payment {payment} (rewarded): growth"),
    ("UPDATE coupon SET source_ref = 'elsewhere' WHERE source_ref = 'payment:' || :payment",
     "UPDATE coupon SET source_ref = 'payment:' || :payment WHERE source_ref = 'elsewhere'",
     "payment {payment} (rewarded): coupons 0 written, 1 expected"),
    ("UPDATE payment SET refunded_fen = refunded_fen + 1 WHERE id = :payment",
     "UPDATE payment SET refunded_fen = refunded_fen - 1 WHERE id = :payment",
     "payment {payment}: refunded_fen 2001"),
    ("UPDATE refund SET points_reversed = points_reversed + 1 WHERE id = :refund",
     "UPDATE refund SET points_reversed = points_reversed - 1 WHERE id = :refund",
     "refund {refund}: 21 points reversed recorded"),
    ("UPDATE coupon_template SET issued = issued + 1 WHERE id = :template",
     "UPDATE coupon_template SET issued = issued - 1 WHERE id = :template",
     "coupon template {template}: issued"),
], ids=["points", "growth", "coupon-pack", "refund-total", "reversal", "template-issued"])
def test_a_broken_payment_invariant_is_reported_and_exits_1(app, refunded_payment, breaking, mending, name):
    with corrupted(breaking, mending, **refunded_payment):
        assert_reported(app, name.format(**refunded_payment))
    assert audit.check_books()["problems"] == []
