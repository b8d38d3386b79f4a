"""What /metrics reads of payments at each scrape: what reconciliation has yet to settle, refunds WeChat has
yet to answer, what waits for a person, and the last match with WeChat Pay's bill."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from models import BillReconciliation, Payment, Refund, db
from services.payments.payments import needing_attention
from services.platform import clock
from services.platform.metrics import Gauge, age_seconds


def gauges() -> list[Gauge]:
    return _reconcile_backlog() + _refund_backlog() + _waiting_for_a_person() + _last_bill()


def _reconcile_backlog() -> list[Gauge]:
    cutoff = clock.now() - timedelta(minutes=current_app.config["RECONCILE_AFTER_MINUTES"])
    count, oldest = db.session.execute(select(func.count(), func.min(Payment.created_at)).where(
        Payment.status == "pending", Payment.created_at <= cutoff, Payment.attention.is_(None))).one()
    owed = db.session.scalar(select(func.count()).select_from(Payment).where(
        Payment.reward_status.in_(("due", "retrying"))))
    return [Gauge("loyalty_reconcile_backlog_payments", "Payments pending past RECONCILE_AFTER_MINUTES: "
                  "reconciliation asks WeChat about them", count),
            Gauge("loyalty_reconcile_backlog_oldest_age_seconds", "Age of the oldest of them", age_seconds(oldest)),
            Gauge("loyalty_rewards_owed_payments", "Paid payments whose 支付有礼 rewards are not paid yet", owed)]


def _refund_backlog() -> list[Gauge]:
    count, oldest = db.session.execute(select(func.count(), func.min(Refund.created_at)).where(
        Refund.status == "processing")).one()
    return [Gauge("loyalty_refund_backlog", "Refunds WeChat has not answered finally (sent or to be sent again)",
                  count),
            Gauge("loyalty_refund_backlog_oldest_age_seconds", "Age of the oldest of them", age_seconds(oldest))]


def _waiting_for_a_person() -> list[Gauge]:
    return [Gauge("loyalty_waiting_for_a_person", "Payments set aside, failed refunds and bill days with findings",
                  count, {"what": what}) for what, count in needing_attention().items()]


def _last_bill() -> list[Gauge]:
    last = db.session.scalars(select(BillReconciliation).order_by(BillReconciliation.last_run_at.desc())
                              .limit(1)).first()
    if last is None:
        return []
    return [Gauge("loyalty_bill_reconcile_last_run_timestamp_seconds", "When the bill was last matched",
                  last.last_run_at.timestamp()),
            Gauge("loyalty_bill_reconcile_last_findings", "Findings for a person in that run (0: the bill agreed)",
                  last.attention, {"bill_date": last.bill_date.isoformat(), "outcome": last.outcome})]
