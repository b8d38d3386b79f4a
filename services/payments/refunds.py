"""Refunds: asked for by an operator (or by us, for a payment that came after its close), sent to
WeChat, and applied — points, growth and coupons taken back — once, when WeChat confirms them.

A refund converges: until WeChat has accepted it (submitted_at), it is sent again with the same
out_refund_no (WeChat refunds one out_refund_no once) after a network error, a 5xx or a retryable
refusal (SYSTEMERROR and the like), with backoff; once accepted, reconcile asks WeChat about it
until the outcome is final. A definite no (a refusal that retrying cannot change, CHANGE or
REFUNDCLOSE) marks it failed and reports it to operators; what it asked for becomes refundable again.
"""
import logging
from datetime import timedelta

from sqlalchemy import func, select

from models import Payment, Refund, db
from services.wechat import pay
from services.platform.lock_order import lock_member
from services.payments import rewards
from services.platform import audit_trail, clock
from services.platform.db import each_on_its_own, get_row, lock_one, lock_row, transaction
from services.platform.errors import Conflict, NotFound, WeChatError
from services.platform.pagination import page_where

log = logging.getLogger(__name__)


def refund_by_operator(operator, payment_id: int, *, amount_fen: int, reason: str, request_key: str) -> Refund:
    """Refund all or part of a paid payment (audited); the same request key refunds nothing more.
    The answer is the refund as it stands once sent: processing (WeChat accepted it, or it is sent
    again until WeChat answers) or failed (WeChat's definite no)."""
    with transaction():
        payment = lock_row(Payment, payment_id, missing="No such payment.")
        refund = open_refund(payment, amount_fen=amount_fen, reason=reason,
                             request_key=f"op:{operator.id}:{request_key}", operator_id=operator.id)
        audit_trail.record_once(operator.id, "payment.refund", target_type="refund", target_id=refund.id, reason=reason,
                              details={"payment_id": payment.id, "amount_fen": amount_fen,
                                       "out_refund_no": refund.out_refund_no})
    return send(refund.id)


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


# WeChat Pay v2 refund err_codes whose documented remedy is to call again with the same parameters
RETRYABLE = {"SYSTEMERROR", "BIZERR_NEED_RETRY", "FREQUENCY_LIMITED", "NOTENOUGH"}
RETRY_SECONDS, RETRY_MAX_SECONDS = 60, 3600
CHECK_AFTER_SECONDS = 300  # an accepted refund WeChat has not notified about: ask after this


def send(refund_id: int) -> Refund:
    """Send the refund to WeChat now; the refund as it stands then. Accepted: it waits for WeChat's
    outcome. A network error or a retryable refusal: still processing, sent again by reconcile. A
    definite refusal: failed, with WeChat's reason."""
    _send(refund_id)
    return get_refund(refund_id)


def _send(refund_id: int) -> Refund | WeChatError:
    refund = db.session.get(Refund, refund_id)
    payment = db.session.get(Payment, refund.payment_id)
    try:
        answer = pay.apply_refund(out_trade_no=payment.out_trade_no, out_refund_no=refund.out_refund_no,
                                  total_fen=payment.amount_fen, refund_fen=refund.amount_fen, reason=refund.reason)
    except WeChatError as exc:
        err_code = exc.details.get("err_code")
        with transaction():
            refund = _lock(refund_id)
            if refund.status == "processing":
                if exc.details.get("result_code") == "FAIL" and err_code not in RETRYABLE:
                    _fail(refund, err_code or "FAIL", exc.details.get("errmsg"))
                else:
                    _retry_later(refund, f"{err_code or 'unreachable'}: {exc.details.get('errmsg') or exc.message}")
        return exc
    with transaction():
        refund = _lock(refund_id)
        refund.refund_id = answer.get("refund_id") or refund.refund_id
        refund.submitted_at = refund.submitted_at or clock.now()
        refund.retry_at, refund.last_error = clock.now() + timedelta(seconds=CHECK_AFTER_SECONDS), None
    return refund


def _lock(refund_id: int) -> Refund:
    return lock_row(Refund, refund_id)


def _retry_later(refund: Refund, error: str) -> None:
    refund.attempts += 1
    refund.last_error = error[:255]
    refund.retry_at = clock.now() + clock.backoff(refund.attempts, first=RETRY_SECONDS, most=RETRY_MAX_SECONDS)


def _fail(refund: Refund, reason: str, message: str | None = None) -> None:
    """A final no from WeChat: the refund failed, an operator is told (the log and the failed list)."""
    refund.status, refund.failure_reason = "failed", reason[:64]
    refund.last_error = (message or reason)[:255]
    log.error("refund %s of payment %s failed at WeChat: %s %s", refund.out_refund_no, refund.payment_id,
              reason, message or "")


def retry_by_operator(operator, refund_id: int) -> Refund:
    """Send a refund still open again now (audited); a settled one is answered as it is."""
    with transaction():
        refund = _lock(refund_id)
        if refund is None:
            raise NotFound("No such refund.")
        if refund.status == "processing":
            refund.retry_at = clock.now()
            audit_trail.record(operator.id, "refund.retry", target_type="refund", target_id=refund.id,
                               reason=None, details={"out_refund_no": refund.out_refund_no})
    if refund.status != "processing":
        return refund
    _converge(refund.id)
    return db.session.get(Refund, refund_id)


def get_refund(refund_id: int) -> Refund:
    return get_row(Refund, refund_id, missing="No such refund.")


def find_refunds(*, status: str | None, limit: int, cursor: str | None) -> dict:
    """Refunds, newest first, optionally of one status (failed: the ones an operator must look at)."""
    return page_where(Refund, status=status, limit=limit, cursor=cursor)


def failed_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Refund).where(Refund.status == "failed"))


def handle_notification(body: bytes) -> tuple[bool, str]:
    """Apply a WeChat refund notification once; (answer SUCCESS?, message); InvalidNotification if forged."""
    data = pay.parse_refund_notification(body)
    if not db.session.scalar(select(Refund.id).where(Refund.out_refund_no == data["out_refund_no"])):
        return _set_aside_unasked(data.get("out_trade_no"), data["out_refund_no"], data["refund_fee"])
    if data.get("refund_status") != "SUCCESS":  # CHANGE (the money could not go back) or REFUNDCLOSE
        return _mark_failed(data["out_refund_no"], data.get("refund_status") or "FAIL")
    return settle_succeeded(data["out_refund_no"], refund_fen=data["refund_fee"])


def unasked_note(out_refund_no: str, refund_fen: int) -> str:
    """What a person is told of a refund WeChat made that we never asked for (in the merchant platform)."""
    return f"WeChat refunded {refund_fen / 100:.2f} 元 under {out_refund_no}, a refund we never asked for"


def _set_aside_unasked(out_trade_no: str | None, out_refund_no: str, refund_fen: int) -> tuple[bool, str]:
    """A refund of one of our payments made outside this service: nothing is taken back by itself, the
    payment waits for a person (its attention); a refund of no payment of ours is refused."""
    with transaction():
        payment = lock_one(select(Payment).where(Payment.out_trade_no == (out_trade_no or "")))
        if payment is None:
            log.warning("refund notification %s for an unknown payment %s", out_refund_no, out_trade_no)
            return False, "unknown refund"
        log.error("payment %s: %s", payment.out_trade_no, unasked_note(out_refund_no, refund_fen))
        payment.attention = unasked_note(out_refund_no, refund_fen)
    return True, "OK"


def settle_succeeded(out_refund_no: str, *, refund_fen: int) -> tuple[bool, str]:
    """WeChat says the refund went through: take back its share of the rewards, exactly once."""
    with transaction():
        refund = db.session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no))
        if refund is None or refund.amount_fen != refund_fen:
            log.warning("refund notification for unknown refund or amount: %s %s", out_refund_no, refund_fen)
            return False, "unknown refund"
        payment = lock_row(Payment, refund.payment_id)
        lock_member(payment.member_id)  # the lock order: the payment, then its member, then the ledgers
        db.session.refresh(refund)
        if refund.status == "succeeded":
            return True, "OK"
        if not payment.paid_after_close:
            rewards.claw_back(payment, refund)
        refund.status, refund.succeeded_at = "succeeded", clock.now()
        payment.refunded_fen += refund.amount_fen
        payment.status = "refunded" if payment.refunded_fen == payment.amount_fen else "partially_refunded"
    return True, "OK"


def _mark_failed(out_refund_no: str, reason: str) -> tuple[bool, str]:
    with transaction():
        refund = lock_one(select(Refund).where(Refund.out_refund_no == out_refund_no))
        if refund is not None and refund.status == "processing":
            _fail(refund, reason)
    return True, "OK"


def reconcile(*, batch: int = 200) -> dict:
    """Bring every open refund whose time has come closer to WeChat's final answer, each on its own:
    send the ones WeChat has not accepted, ask about the accepted ones."""
    waiting = list(db.session.scalars(select(Refund.id).where(
        Refund.status == "processing", (Refund.retry_at.is_(None)) | (Refund.retry_at <= clock.now()))
        .order_by(Refund.retry_at.is_not(None), Refund.retry_at, Refund.id).limit(batch)))
    db.session.rollback()
    outcome = {"checked": len(waiting), "sent": 0, "succeeded": 0, "failed": 0, "processing": 0, "errors": 0}
    return each_on_its_own(waiting, _converge, outcome, what="reconcile: refund")


def _converge(refund_id: int) -> str:
    """One step for an open refund; what it came to."""
    refund = db.session.get(Refund, refund_id)
    if refund.submitted_at is None:
        return _sent_outcome(refund_id, _send(refund_id))
    try:
        status = pay.refund_status(refund.out_refund_no)
    except WeChatError as exc:
        with transaction():
            _retry_later(_lock(refund_id), f"query: {exc.details.get('err_code') or exc.message}")
        return "errors"
    if status is None:  # WeChat never got it (or forgot it): send it again, same out_refund_no
        return _sent_outcome(refund_id, _send(refund_id))
    if status[0] == "SUCCESS":
        if settle_succeeded(refund.out_refund_no, refund_fen=status[1])[0]:
            return "succeeded"
        with transaction():  # WeChat refunded another amount: a person must look; asked again with backoff
            held = _lock(refund_id)
            log.error("refund %s: WeChat refunded %s fen, we asked %s", held.out_refund_no, status[1], held.amount_fen)
            _retry_later(held, f"amount_mismatch: WeChat refunded {status[1]} fen, not {held.amount_fen}")
        return "errors"
    if status[0] in ("CHANGE", "REFUNDCLOSE"):
        _mark_failed(refund.out_refund_no, status[0])
        return "failed"
    with transaction():  # PROCESSING: ask again later
        _lock(refund_id).retry_at = clock.now() + timedelta(seconds=CHECK_AFTER_SECONDS)
    return "processing"


def _sent_outcome(refund_id: int, outcome) -> str:
    if isinstance(outcome, WeChatError):
        return "failed" if db.session.get(Refund, refund_id).status == "failed" else "errors"
    return "sent"
