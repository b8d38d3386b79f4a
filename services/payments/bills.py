"""WeChat Pay's daily trade bill (对账单) matched line by line with our payments and refunds.

What WeChat charged is delivered or refunded in full: a payment WeChat took that is still pending here
is settled as its notify would have settled it; one we had closed is refunded in full (the late-payment
path). A refund WeChat made that we never asked for, amounts that differ, and a payment we think paid
that WeChat never took cannot be mended by a machine: they are findings for a person, set on the
payment (`attention`) and kept with the day's outcome. Every step is one the notify or reconcile would
take anyway, so a second run over the same day changes nothing.
"""
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from models import BillReconciliation, Payment, Refund, db
from services.payments import payments, refunds, wechat_bill
from services.platform import clock
from services.platform.db import insert_once, lock_one, lock_row, transaction
from services.platform.pagination import page_where
from services.platform.progress import with_progress_bar
from services.wechat import pay

log = logging.getLogger(__name__)

BEIJING = ZoneInfo("Asia/Shanghai")  # WeChat Pay's days, whatever the brand's TIMEZONE
BILL_READY = time(10)  # WeChat makes the bill of a day by 9:00 the next morning, Beijing time
CATCH_UP_DAYS = 7  # the periodic job reconciles every one of these last days not reconciled yet
MATCHED, MENDED, ATTENTION = "matched", "mended", "attention"


@dataclass
class _Tally:
    lines: int = 0
    counts: dict = field(default_factory=lambda: {MATCHED: 0, MENDED: 0, ATTENTION: 0})
    findings: list = field(default_factory=list)

    def add(self, outcome: str, finding: dict | None = None) -> None:
        self.counts[outcome] += 1
        if finding:
            self.findings.append({**finding, "needs_person": outcome == ATTENTION})


def bill_day(at: datetime | None = None) -> date:
    """The Beijing day of an instant (now by default)."""
    return (at or clock.now()).astimezone(BEIJING).date()


def reconcile_day(day: date, *, progress=None) -> BillReconciliation:
    """Download the bill of `day` and match it with our books; the day's stored outcome."""
    text = pay.download_bill(day)
    bill = wechat_bill.parse_bill(text) if text is not None else None
    tally = _Tally(lines=len(bill.lines) if bill else 0)
    lines = bill.lines if bill else []
    with with_progress_bar(progress, lines) as each:
        for line in each:
            tally.add(*(_payment_line(line) if line.kind == "payment" else _refund_line(line)))
    for finding in _paid_here_missing_from_bill(day, lines):
        tally.add(ATTENTION, finding)
    return _record(day, bill is not None, tally)


def _payment_line(line) -> tuple:
    payment = db.session.scalar(select(Payment).where(Payment.out_trade_no == line.out_trade_no))
    if payment is None:
        return ATTENTION, _finding("unknown_payment", line, f"WeChat took {_yuan(line.amount_fen)} for an order "
                                                            "we have no record of")
    if line.amount_fen != payment.amount_fen:
        return ATTENTION, _flag(payment, "amount_differs", line,
                                f"WeChat's bill says {_yuan(line.amount_fen)} was paid, {_yuan(payment.amount_fen)} "
                                "expected")
    if payment.transaction_id not in (None, line.transaction_id):
        return ATTENTION, _flag(payment, "transaction_differs", line,
                                f"WeChat's bill pays it by {line.transaction_id}, ours says {payment.transaction_id}")
    if payment.status in ("pending", "closed"):
        was = payment.status
        payments.settle_paid(line.out_trade_no, total_fen=line.amount_fen, transaction_id=line.transaction_id)
        what = "settled" if was == "pending" else "refunded_paid_after_close"
        log.warning("bill: payment %s paid at WeChat, %s here: %s", line.out_trade_no, was, what)
        return MENDED, _finding(what, line, f"paid at WeChat, {was} here: "
                                            f"{'settled' if was == 'pending' else 'refunded in full'}")
    return MATCHED, None


def _refund_line(line) -> tuple:
    refund = db.session.scalar(select(Refund).where(Refund.out_refund_no == line.out_refund_no))
    payment = db.session.scalar(select(Payment).where(Payment.out_trade_no == line.out_trade_no))
    if refund is None or refund.payment_id != getattr(payment, "id", None):
        return ATTENTION, _flag(payment, "unknown_refund", line, refunds.unasked_note(line.out_refund_no,
                                                                                     line.refund_fen))
    if line.refund_fen != refund.amount_fen:
        return ATTENTION, _flag(payment, "refund_amount_differs", line,
                                f"WeChat's bill refunds {_yuan(line.refund_fen)} under {line.out_refund_no}, "
                                f"{_yuan(refund.amount_fen)} asked")
    if line.refund_status == "SUCCESS" and refund.status == "failed":
        return ATTENTION, _flag(payment, "refund_failed_here", line,
                                f"WeChat's bill refunds {line.out_refund_no}, which we recorded as failed")
    if line.refund_status == "SUCCESS" and refund.status == "processing":
        refunds.settle_succeeded(line.out_refund_no, refund_fen=line.refund_fen)
        return MENDED, _finding("refund_settled", line, "refunded at WeChat, still processing here: settled")
    return MATCHED, None


def _paid_here_missing_from_bill(day: date, lines) -> list[dict]:
    """Payments we recorded paid on `day` that are not on its bill and that WeChat does not say it took
    on another day (the notify of a payment at 23:59:59 may arrive the next day)."""
    on_bill = {line.out_trade_no for line in lines if line.kind == "payment"}
    start = datetime.combine(day, time(), BEIJING)
    paid_here = db.session.scalars(select(Payment).where(
        Payment.paid_at >= start, Payment.paid_at < start + timedelta(days=1),
        Payment.status.in_(payments.PAID_STATES)).order_by(Payment.id)).all()
    findings = []
    for payment in (payment for payment in paid_here if payment.out_trade_no not in on_bill):
        order = pay.query_order(payment.out_trade_no)
        if order and order.get("trade_state") in ("SUCCESS", "REFUND") and not _paid_on(order, day):
            continue
        findings.append(_flag(payment, "missing_from_bill", None,
                              f"paid here, but WeChat's bill of {day} does not have it and WeChat says "
                              f"{(order or {}).get('trade_state', 'it has no such order')}",
                              out_trade_no=payment.out_trade_no))
    return findings


def _paid_on(order: dict, day: date) -> bool:
    return (order.get("time_end") or "")[:8] == day.strftime("%Y%m%d")


def _finding(what: str, line, message: str, **known) -> dict:
    finding = {"what": what, "message": message, **known}
    if line is not None:
        finding.update(out_trade_no=line.out_trade_no, transaction_id=line.transaction_id)
        if line.kind == "refund":
            finding.update(out_refund_no=line.out_refund_no, refund_fen=line.refund_fen)
        else:
            finding["amount_fen"] = line.amount_fen
    return finding


def _flag(payment: Payment | None, what: str, line, message: str, **known) -> dict:
    """A finding for a person, also set on the payment it concerns (shown with ?attention=true)."""
    if payment is not None:
        with transaction():
            locked = lock_row(Payment, payment.id)
            if locked.attention != message[:255]:
                log.error("bill: payment %s: %s", payment.out_trade_no, message)
                locked.attention = message[:255]
    return _finding(what, line, message, **known)


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f} 元"


def _record(day: date, had_bill: bool, tally: _Tally) -> BillReconciliation:
    """Store the day's outcome: the last run's counts and findings, what every run mended in all."""
    now = clock.now()
    with transaction():
        insert_once(BillReconciliation.__table__, key="bill_date", bill_date=day, outcome="no_bill", lines=0,
                    matched=0, mended=0, attention=0, findings=[], runs=0, first_run_at=now, last_run_at=now)
        row = lock_one(select(BillReconciliation).where(BillReconciliation.bill_date == day))
        row.lines, row.matched, row.attention = tally.lines, tally.counts[MATCHED], tally.counts[ATTENTION]
        row.mended += tally.counts[MENDED]
        # what earlier runs mended stays on record; what needs a person is as this run found it
        row.findings = [finding for finding in row.findings if not finding["needs_person"]] + tally.findings
        row.outcome = ATTENTION if tally.counts[ATTENTION] else ("reconciled" if had_bill else "no_bill")
        row.runs += 1
        row.last_run_at = now
    return row


def reconcile_due(*, today: date | None = None) -> dict:
    """The periodic job: after 10:00 Beijing time, each of the last CATCH_UP_DAYS days not reconciled yet
    (yesterday first), each on its own: a day WeChat cannot give now is tried again next time."""
    now = clock.now().astimezone(BEIJING)
    today = today or now.date()
    if now.time() < BILL_READY:
        today -= timedelta(days=1)  # yesterday's bill is not ready: the day before is the newest
    days = [today - timedelta(days=n) for n in range(1, CATCH_UP_DAYS + 1)]
    done = set(db.session.scalars(select(BillReconciliation.bill_date).where(BillReconciliation.bill_date.in_(days))))
    db.session.rollback()
    outcome = {"reconciled": [], "errors": 0}
    for day in (day for day in days if day not in done):
        try:
            outcome["reconciled"].append((day.isoformat(), reconcile_day(day).outcome))
        except Exception:  # WeChat away, or a bill we cannot read: the next run tries again
            db.session.rollback()
            log.warning("bill of %s not reconciled this time", day, exc_info=True)
            outcome["errors"] += 1
    return outcome


def find_reconciliations(*, outcome: str | None, limit: int, cursor: str | None) -> dict:
    """The reconciled days, newest first, optionally of one outcome."""
    return page_where(BillReconciliation, outcome=outcome, limit=limit, cursor=cursor)

