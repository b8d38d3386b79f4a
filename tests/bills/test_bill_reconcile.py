"""reconcile-bill: WeChat Pay's bill of a day against our payments and refunds. What WeChat took is
delivered, or refunded in full when we had closed it; what a machine cannot mend waits for a person
(exit 1); a second run changes nothing; the worker reconciles each day once, after 10:00 Beijing time."""
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from models import BillReconciliation, Payment, Refund, db
from services.ledger import audit
from services.payments import bills, payments, refunds
from services.platform.db import transaction
from tests.support.audit import assert_reported
from tests.support.payments import notify_xml, post_notify, start_payment

BEIJING = ZoneInfo("Asia/Shanghai")


def _paid_at_wechat_only(wx, out_trade_no):
    """The member paid; WeChat's notify never reached us."""
    wx.post(f"pay/{out_trade_no}/pay", send=False)


def _bill_ready(wx) -> str:
    """Move WeChat (the sandbox) to 10:01 tomorrow, Beijing time: today's bill is made. Today's date."""
    now = datetime.now(BEIJING)
    wx.post("clock", advance=(datetime.combine(now.date() + timedelta(days=1), time(10, 1), BEIJING)
                              - now).total_seconds())
    return now.date().isoformat()


@contextmanager
def changed(payment_id: int, **fields):
    """Our books say otherwise about one payment while the block runs; as they were after it."""
    payment = _payment(payment_id)
    before = {name: getattr(payment, name) for name in fields}
    with transaction():
        db.session.execute(update(Payment).where(Payment.id == payment_id).values(**fields))
    try:
        yield
    finally:
        with transaction():
            db.session.execute(update(Payment).where(Payment.id == payment_id).values(**before))


def _reconcile(app, day: str):
    result = app.test_cli_runner().invoke(args=["reconcile-bill", "--date", day])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _payment(payment_id: int) -> Payment:
    db.session.rollback()
    return db.session.get(Payment, payment_id)


def _day(day: str) -> BillReconciliation:
    db.session.rollback()
    return db.session.scalar(select(BillReconciliation).where(BillReconciliation.bill_date == date.fromisoformat(day)))


def test_a_payment_whose_notify_never_came_is_settled_and_a_second_run_changes_nothing(
        app, client, wx, make_member, operator):
    member = make_member()
    lost = start_payment(client, member, 10000)["payment"]
    _paid_at_wechat_only(wx, lost["out_trade_no"])
    notified = start_payment(client, member, 2000)["payment"]
    assert post_notify(client, notify_xml(wx, notified["out_trade_no"]))
    day = _bill_ready(wx)

    code, output = _reconcile(app, day)
    assert code == 0, output
    assert "lines: 2; matched: 1; mended: 1" in output and "mended settled" in output
    paid = client.get(f"/api/v1/payments/{lost['id']}", headers=member["headers"]).get_json()
    assert paid["payment"]["status"] == "paid" and paid["rewards"]["points"] == 100
    balance = client.get("/api/v1/me", headers=member["headers"]).get_json()["points"]["balance"]

    code, output = _reconcile(app, day)
    assert code == 0, output
    assert "lines: 2; matched: 2; mended: 1 (all runs); for a person: 0 (run 2)" in output
    assert client.get("/api/v1/me", headers=member["headers"]).get_json()["points"]["balance"] == balance == 120
    shown = client.get("/api/v1/admin/bills", headers=operator()).get_json()["items"]
    assert [(d["bill_date"], d["outcome"], d["lines"], d["matched"], d["mended"], d["runs"]) for d in shown] == [
        (day, "reconciled", 2, 2, 1, 2)]
    assert [f["what"] for f in shown[0]["findings"]] == ["settled"]
    assert audit.check_books()["problems"] == []


def test_a_payment_taken_after_we_closed_it_is_refunded_in_full(app, client, wx, make_member, clock):
    member = make_member()
    started = start_payment(client, member, 5000)["payment"]
    wx.post("faults", api="closeorder", errcode="SYSTEMERROR", times=-1)  # WeChat cannot close it…
    assert payments.close_unless_paid(started["id"]) == "closed"  # …so it is closed here only
    wx.delete("faults")
    _paid_at_wechat_only(wx, started["out_trade_no"])  # the pay sheet was still open
    day = _bill_ready(wx)

    code, output = _reconcile(app, day)
    assert code == 0 and "mended refunded_paid_after_close" in output, output
    payment = _payment(started["id"])
    assert (payment.status, payment.paid_after_close, payment.reward_status) == ("paid", True, "none")
    refund = db.session.scalar(select(Refund).where(Refund.payment_id == payment.id))
    assert refund.amount_fen == 5000
    clock.advance(timedelta(seconds=refunds.CHECK_AFTER_SECONDS + 1))
    refunds.reconcile()  # WeChat's refund notify may never come either: asked until final
    assert (_payment(started["id"]).status, _payment(started["id"]).refunded_fen) == ("refunded", 5000)
    assert client.get("/api/v1/me", headers=member["headers"]).get_json()["points"]["balance"] == 0

    code, output = _reconcile(app, day)  # the refund is on tomorrow's bill; today's is matched now
    assert code == 0 and "matched: 1; mended: 1 (all runs)" in output, output
    assert db.session.scalar(select(Refund.id).where(Refund.payment_id == payment.id).offset(1)) is None
    assert audit.check_books()["problems"] == []


def test_what_a_machine_cannot_mend_waits_for_a_person_and_stays_so(app, client, wx, make_member, operator):
    member, admin = make_member(), operator()
    refunded_unasked, billed_otherwise, never_taken = (start_payment(client, member, fen)["payment"]
                                                       for fen in (3000, 4000, 6000))
    for paid in (refunded_unasked, billed_otherwise):
        assert post_notify(client, notify_xml(wx, paid["out_trade_no"]))
    wx.post(f"pay/{refunded_unasked['out_trade_no']}/refund", refund_fee=1000)  # in WeChat's merchant platform
    with changed(billed_otherwise["id"], amount_fen=3999), changed(  # our books say another amount…
            never_taken["id"], status="paid", transaction_id="4200000000fake", paid_at=datetime.now(BEIJING),
            reward_status="none"):  # …and that WeChat took a payment it never took
        day = _bill_ready(wx)
        for run in (1, 2):
            code, output = _reconcile(app, day)
            assert code == 1, output
            for what in ("unknown_refund", "amount_differs", "missing_from_bill"):
                assert f"FOR A PERSON {what}" in output, (what, output)
            assert f"for a person: 3 (run {run})" in output and "mended: 0" in output
            assert "3 payments set aside" in output and "1 bill days with findings" in output
        flagged = client.get("/api/v1/admin/payments?attention=true", headers=admin).get_json()["items"]
        assert {p["id"] for p in flagged} == {refunded_unasked["id"], billed_otherwise["id"], never_taken["id"]}
        assert client.get("/api/v1/admin/bills?outcome=attention", headers=admin).get_json()["items"][0]["attention"] == 3
        assert _payment(refunded_unasked["id"]).refunded_fen == 0  # nothing taken back on a refund we never asked
    with transaction():  # a person looked: the flags go
        db.session.execute(update(Payment).where(Payment.id.in_([p["id"] for p in (
            refunded_unasked, billed_otherwise, never_taken)])).values(attention=None))


def test_a_day_without_trades_has_no_bill_and_a_day_not_over_is_not_ready(app, wx):
    today = datetime.now(BEIJING).date()
    code, output = _reconcile(app, today.isoformat())
    assert code == 2 and "Bill Creating" in output, output  # WeChat makes a day's bill the next morning
    _bill_ready(wx)
    code, output = _reconcile(app, (today - timedelta(days=1)).isoformat())
    assert code == 0 and "no bill" in output, output
    assert _day((today - timedelta(days=1)).isoformat()).outcome == "no_bill"


def test_the_worker_reconciles_each_day_once_after_ten_beijing_time(app, client, wx, make_member, clock):
    member = make_member()
    lost = start_payment(client, member, 1000)["payment"]
    _paid_at_wechat_only(wx, lost["out_trade_no"])
    day = _bill_ready(wx)
    tomorrow = date.fromisoformat(day) + timedelta(days=1)
    clock.freeze(datetime.combine(tomorrow, time(9, 59), BEIJING))
    assert day not in [d for d, _ in bills.reconcile_due()["reconciled"]]  # the bill is not ready before 10:00
    clock.freeze(datetime.combine(tomorrow, time(10, 1), BEIJING))
    assert bills.reconcile_due() == {"reconciled": [(day, "reconciled")], "errors": 0}
    assert _payment(lost["id"]).status == "paid"
    assert bills.reconcile_due()["reconciled"] == []  # every day done: nothing runs twice


def test_audit_ledger_reports_a_closed_payment_that_wechat_took(app, client, wx, make_member):
    started = start_payment(client, make_member(), 1000)["payment"]
    assert payments.close_unless_paid(started["id"]) == "closed"
    with changed(started["id"], transaction_id="4200000000taken"):
        assert_reported(app, f"payment {started['id']} ({started['out_trade_no']}) is closed but WeChat took it")
    assert audit.check_books()["problems"] == []


def test_a_refund_made_in_the_merchant_platform_is_set_aside_at_its_notify(client, wx, make_member, operator):
    member = make_member()
    paid = start_payment(client, member, 3000)["payment"]
    assert post_notify(client, notify_xml(wx, paid["out_trade_no"]))
    made = wx.post(f"pay/{paid['out_trade_no']}/refund", refund_fee=1000)
    xml = wx.post(f"refunds/{made['out_refund_no']}/notify", send=False)["xml"]
    for _ in range(2):  # answered SUCCESS (recorded), so WeChat stops sending it
        res = client.post("/api/v1/payments/wechat/refund-notify", data=xml, content_type="text/xml")
        assert "SUCCESS" in res.get_data(as_text=True)
    payment = _payment(paid["id"])
    assert payment.attention == f"WeChat refunded 10.00 元 under {made['out_refund_no']}, a refund we never asked for"
    assert (payment.status, payment.refunded_fen) == ("paid", 0)  # nothing taken back by itself
    assert client.get("/api/v1/me", headers=member["headers"]).get_json()["points"]["balance"] == 30
    assert db.session.scalar(select(Refund.id).where(Refund.payment_id == paid["id"])) is None
    with transaction():  # a person looked
        db.session.execute(update(Payment).where(Payment.id == paid["id"]).values(attention=None))
