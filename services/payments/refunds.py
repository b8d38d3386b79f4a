"""Refunds: asked for by an operator (or by us, for a payment that came after its close), submitted
to WeChat, and applied — points, growth and coupons taken back — once, when WeChat confirms them."""
import logging

from sqlalchemy import func, select

from models import Payment, Refund, db
from services import wechat
from services.payments import payment_rewards
from services.platform import audit_trail, clock
from services.platform.db import transaction
from services.platform.errors import Conflict, NotFound, WeChatError

log = logging.getLogger(__name__)


def refund_by_operator(operator, payment_id: int, *, amount_fen: int, reason: str, request_key: str) -> Refund:
    """Refund all or part of a paid payment (audited); the same request key refunds nothing more."""
    with transaction():
        payment = db.session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
        if payment is None:
            raise NotFound("No such payment.")
        refund = open_refund(payment, amount_fen=amount_fen, reason=reason,
                             request_key=f"op:{operator.id}:{request_key}", operator_id=operator.id)
        audit_trail.record_once(operator.id, "payment.refund", target_type="refund", target_id=refund.id, reason=reason,
                              details={"payment_id": payment.id, "amount_fen": amount_fen,
                                       "out_refund_no": refund.out_refund_no})
    return submit(refund.id)


def open_refund(payment: Payment, *, amount_fen: int, reason: str, request_key: str,
                operator_id: int | None = None) -> Refund:
    """Record a refund of a locked, paid payment (flushes; the caller commits)."""
    existing = db.session.scalar(select(Refund).where(Refund.request_key == request_key))
    if existing is not None:
        if (existing.payment_id, existing.amount_fen) != (payment.id, amount_fen):
            raise Conflict("That request key was used for another refund.", code="idempotency_conflict")
        return existing
    if payment.status not in ("paid", "partially_refunded"):
        raise Conflict(f"A {payment.status} payment cannot be refunded.", code="not_refundable")
    if amount_fen > refundable_fen(payment):
        raise Conflict("That is more than is left to refund.", code="refund_too_large",
                       details={"refundable_fen": refundable_fen(payment)})
    count = db.session.scalar(select(func.count()).select_from(Refund).where(Refund.payment_id == payment.id))
    refund = Refund(payment_id=payment.id, out_refund_no=f"{payment.out_trade_no}R{count + 1}",
                    request_key=request_key, amount_fen=amount_fen, reason=reason, status="processing",
                    operator_id=operator_id, created_at=clock.now())
    db.session.add(refund)
    db.session.flush()
    return refund


def refundable_fen(payment: Payment) -> int:
    """What is left to refund once succeeded and in-flight refunds are counted."""
    asked = db.session.scalar(select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
        Refund.payment_id == payment.id, Refund.status != "failed"))
    return payment.amount_fen - asked


def submit(refund_id: int) -> Refund:
    """Ask WeChat to refund (idempotent at WeChat by out_refund_no); a refusal marks it failed."""
    refund = db.session.get(Refund, refund_id)
    payment = db.session.get(Payment, refund.payment_id)
    try:
        answer = wechat.apply_refund(out_trade_no=payment.out_trade_no, out_refund_no=refund.out_refund_no,
                                     total_fen=payment.amount_fen, refund_fen=refund.amount_fen, reason=refund.reason)
    except WeChatError as exc:
        if exc.details.get("result_code") == "FAIL":  # a definite no; network trouble is retried by reconcile
            with transaction():
                db.session.get(Refund, refund_id).status = "failed"
        raise
    with transaction():
        refund = db.session.get(Refund, refund_id)
        refund.refund_id = answer.get("refund_id")
    return refund


def handle_notification(body: bytes) -> tuple[bool, str]:
    """Apply a WeChat refund notification once; (answer SUCCESS?, message); InvalidNotification if forged."""
    data = wechat.parse_refund_notification(body)
    if data.get("refund_status") != "SUCCESS":
        return _mark_failed(data["out_refund_no"])
    return settle_succeeded(data["out_refund_no"], refund_fen=data["refund_fee"])


def settle_succeeded(out_refund_no: str, *, refund_fen: int) -> tuple[bool, str]:
    """WeChat says the refund went through: take back its share of the rewards, exactly once."""
    with transaction():
        refund = db.session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no))
        if refund is None or refund.amount_fen != refund_fen:
            log.warning("refund notification for unknown refund or amount: %s %s", out_refund_no, refund_fen)
            return False, "unknown refund"
        payment = db.session.scalar(select(Payment).where(Payment.id == refund.payment_id).with_for_update())
        db.session.refresh(refund)
        if refund.status == "succeeded":
            return True, "OK"
        if not payment.paid_after_close:
            payment_rewards.claw_back(payment, refund)
        refund.status, refund.succeeded_at = "succeeded", clock.now()
        payment.refunded_fen += refund.amount_fen
        payment.status = "refunded" if payment.refunded_fen == payment.amount_fen else "partially_refunded"
    return True, "OK"


def _mark_failed(out_refund_no: str) -> tuple[bool, str]:
    with transaction():
        refund = db.session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no).with_for_update())
        if refund is not None and refund.status == "processing":
            refund.status = "failed"
    return True, "OK"


def reconcile(*, batch: int = 200) -> dict:
    """Ask WeChat about refunds still processing (a lost notification) and settle what it confirms."""
    waiting = list(db.session.scalars(select(Refund.out_refund_no).where(Refund.status == "processing")
                                      .order_by(Refund.id).limit(batch)))
    db.session.rollback()
    outcome = {"checked": len(waiting), "succeeded": 0, "failed": 0, "errors": 0}
    for out_refund_no in waiting:
        try:
            status = wechat.refund_status(out_refund_no)
        except WeChatError:
            outcome["errors"] += 1
            continue
        if status and status[0] == "SUCCESS":
            settle_succeeded(out_refund_no, refund_fen=status[1])
            outcome["succeeded"] += 1
        elif status and status[0] in ("CHANGE", "REFUNDCLOSE"):
            _mark_failed(out_refund_no)
            outcome["failed"] += 1
    return outcome
