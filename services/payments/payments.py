"""WeChat Pay purchases: create, the notify webhook, reconcile and close.

A notification is applied exactly once: the payment row is locked, a paid payment answers SUCCESS
and does nothing. Marking it paid commits on its own; its rewards follow in their own transaction
and, when they cannot be paid now, are withheld or retried until paid once. SUCCESS goes back to
WeChat only after the payment is marked paid.
"""
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from models import BillReconciliation, Payment, db
from services.coupons import coupons
from services.payments import kinds, rewards, rules, refunds, stores
from services.platform import business_keys, clock, ratelimit
from services.platform.db import each_on_its_own, get_row, lock_one, lock_row, transaction
from services.platform.errors import WeChatError
from services.platform.pagination import page
from services.wechat import pay

log = logging.getLogger(__name__)

PAID_STATES = ("paid", "partially_refunded", "refunded")
CREATES_PER_MEMBER, CREATE_WINDOW = 20, 60  # payments a member may open a minute


def create_payment(member, *, amount_fen: int, description: str, client_ip: str, store_id: int | None = None,
                   coupon_code: str | None = None) -> tuple[Payment, dict]:
    """Open a purchase (a coupon lowers the amount and is held) and a JSAPI order for wx.requestPayment."""
    ratelimit.check("payment-create", str(member.id), limit=CREATES_PER_MEMBER, window=CREATE_WINDOW)
    if store_id is not None:
        stores.get_store(store_id, active=True)
    with transaction():
        payment = open_payment(member.id, amount_fen=amount_fen, description=description, store_id=store_id)
        if coupon_code:
            payment.coupon_code = coupon_code
            payment.discount_fen = coupons.hold_for_payment(
                member.id, coupon_code, amount_fen=amount_fen, channel="store" if store_id else "online",
                holder=_holder(payment), permit=lambda coupon: rules.require_coupon_store(coupon, store_id))
            payment.amount_fen = amount_fen - payment.discount_fen
    return payment, request_order(payment, openid=member.openid, client_ip=client_ip)


def request_order(payment: Payment, *, openid: str, client_ip: str) -> dict:
    """Place the committed payment's JSAPI order at WeChat; the parameters for wx.requestPayment. If
    WeChat has no order, the payment is closed (and what it took given back) before the error goes on."""
    try:
        pay_params = pay.create_jsapi_order(out_trade_no=payment.out_trade_no, amount_fen=payment.amount_fen,
                                            description=payment.description, openid=openid, client_ip=client_ip)
    except Exception:
        _close(payment.id)  # no order at WeChat: nothing can be paid, give back what it took
        raise
    with transaction():
        payment.prepay_id = pay_params["package"].removeprefix("prepay_id=")
    return pay_params


def open_payment(member_id: int, *, amount_fen: int, description: str, store_id: int | None = None,
                 kind: str = kinds.PURCHASE) -> Payment:
    """A pending payment, expiring after PAYMENT_TIMEOUT_MINUTES (flushes; the caller commits, then
    calls request_order)."""
    now = clock.now()
    payment = Payment(out_trade_no=business_keys.serial_number(), member_id=member_id, kind=kind, store_id=store_id,
                      description=description, original_amount_fen=amount_fen, amount_fen=amount_fen,
                      discount_fen=0, status="pending", refunded_fen=0, paid_after_close=False,
                      points_awarded=0, growth_awarded=0, created_at=now,
                      expires_at=now + timedelta(minutes=current_app.config["PAYMENT_TIMEOUT_MINUTES"]))
    db.session.add(payment)
    db.session.flush()
    return payment


def _holder(payment: Payment) -> str:
    return f"payment:{payment.id}"


def get_member_payment(member_id: int, payment_id: int) -> Payment:
    """One of the member's own payments (anyone else's is not found)."""
    return get_row(Payment, payment_id, missing="No such payment.", owner=member_id)


def get_payment(payment_id: int) -> Payment:
    return get_row(Payment, payment_id, missing="No such payment.")


def lock_payment(payment_id: int) -> Payment:
    """The payment under its row lock, read afresh: first in the lock order of a unit of work on it."""
    return lock_row(Payment, payment_id)


def find_payments(*, status: str | None, member_id: int | None, limit: int, cursor: str | None,
                  reward_status: str | None = None, attention: bool | None = None) -> dict:
    """Payments, newest first, optionally of one status, member or reward status, or needing a person."""
    stmt = select(Payment)
    if status:
        stmt = stmt.where(Payment.status == status)
    if member_id:
        stmt = stmt.where(Payment.member_id == member_id)
    if reward_status:
        stmt = stmt.where(Payment.reward_status == reward_status)
    if attention is not None:
        stmt = stmt.where(Payment.attention.is_not(None) if attention else Payment.attention.is_(None))
    return page(db.session, stmt, id_column=Payment.id, limit=limit, cursor=cursor)


def handle_notification(body: bytes) -> tuple[bool, str]:
    """Apply a WeChat Pay notification once; (answer SUCCESS?, message); InvalidNotification if forged."""
    data = pay.parse_payment_notification(body)
    return settle_paid(data["out_trade_no"], total_fen=data["total_fee"], transaction_id=data.get("transaction_id"))


def settle_paid(out_trade_no: str, *, total_fen: int, transaction_id: str | None) -> tuple[bool, str]:
    """WeChat says the order is paid: mark it paid on its own terms, then pay its rewards.

    Marking it paid commits first: money that arrived always lands, whatever happens to the rewards.
    Rewards that cannot be paid now are withheld (a frozen member) or retried (an error) by
    reconcile, and paid once (rewards.pay_rewards). A payment that came after its close is
    refunded instead.
    """
    ok, message, payment_id, refund_id = _mark_paid(out_trade_no, total_fen=total_fen, transaction_id=transaction_id)
    if refund_id:
        refunds.send(refund_id)
    elif payment_id:
        rewards.pay_rewards(payment_id)
    return ok, message


def _mark_paid(out_trade_no: str, *, total_fen: int, transaction_id: str | None):
    """(answer SUCCESS?, message, id of a payment whose rewards are due, id of a refund to send)."""
    with transaction():
        payment = lock_one(select(Payment).where(Payment.out_trade_no == out_trade_no))
        if payment is None:
            log.warning("payment notification for unknown order %s", out_trade_no)
            return False, "unknown order", None, None
        if total_fen != payment.amount_fen:
            # it will not change by retrying: a person must look (reported, and reconcile leaves it)
            log.error("payment %s notified %s fen, expected %s", out_trade_no, total_fen, payment.amount_fen)
            payment.attention = f"WeChat says {total_fen} fen were paid, {payment.amount_fen} expected"
            return False, "amount mismatch", None, None
        if payment.status in PAID_STATES:
            return True, "OK", None, None
        payment.transaction_id, payment.paid_at = transaction_id, clock.now()
        if payment.status == "closed":
            # Paid after we closed it (time-out): credit nothing, give the money back.
            payment.status, payment.paid_after_close, payment.reward_status = "paid", True, "none"
            refund = refunds.open_refund(payment, amount_fen=payment.amount_fen, reason="paid after close",
                                         request_key=f"late:{out_trade_no}")
            return True, "OK", None, refund.id
        payment.status, payment.reward_status = "paid", "due"
        coupons.use_held(_holder(payment), used_ref=_holder(payment))
        return True, "OK", payment.id, None


def reconcile(*, batch: int = 200) -> dict:
    """Ask WeChat about payments still pending after RECONCILE_AFTER_MINUTES; close expired ones.

    Each payment on its own: one that fails is counted and logged, and the batch goes on. A payment
    waiting for a person (attention) is left alone.
    """
    cutoff = clock.now() - timedelta(minutes=current_app.config["RECONCILE_AFTER_MINUTES"])
    pending = list(db.session.scalars(select(Payment).where(
        Payment.status == "pending", Payment.created_at <= cutoff, Payment.attention.is_(None))
        .order_by(Payment.id).limit(batch)))
    db.session.rollback()
    outcome = {"checked": len(pending), "paid": 0, "closed": 0, "pending": 0, "errors": 0}
    return each_on_its_own(pending, _reconcile_one, outcome, what="reconcile: payment",
                           label=lambda payment: payment.out_trade_no)


def settle_or_expire(payment_id: int) -> str:
    """A pending payment past its expiry, brought to its outcome now (as reconcile would): settled if
    WeChat says it was paid, else closed. What it came to; WeChatError while WeChat cannot be asked."""
    payment = get_payment(payment_id)
    if payment.status != "pending" or payment.attention or payment.expires_at > clock.now():
        return payment.status
    return _reconcile_one(payment)


def close_unless_paid(payment_id: int) -> str:
    """Close a pending payment now, at WeChat and here, unless WeChat says it was paid (then it is
    settled). What it came to."""
    payment = get_payment(payment_id)
    return _reconcile_one(payment, closing=True) if payment.status == "pending" else payment.status


def _reconcile_one(payment: Payment, *, closing: bool = False) -> str:
    order = pay.query_order(payment.out_trade_no)
    if order and order.get("trade_state") == "SUCCESS":
        ok, _ = settle_paid(payment.out_trade_no, total_fen=int(order["total_fee"]),
                            transaction_id=order.get("transaction_id"))
        return "paid" if ok else "errors"
    if order is not None and order.get("trade_state") not in ("CLOSED", "REVOKED", "PAYERROR"):
        if payment.expires_at > clock.now() and not closing:
            return "pending"
        if not _close_at_wechat(payment):
            return _reconcile_one(payment)  # paid in the meantime
    _close(payment.id)
    return "closed"


def _close_at_wechat(payment: Payment) -> bool:
    """Best effort: if WeChat cannot close it now, we close it anyway and refund a late payment."""
    try:
        return pay.close_order(payment.out_trade_no)
    except WeChatError:
        log.warning("closing %s at WeChat failed; closing it here", payment.out_trade_no, exc_info=True)
        return True


def _close(payment_id: int) -> None:
    """Close a pending payment and give back what it took: its coupon, or what its kind reserved."""
    with transaction():
        payment = lock_row(Payment, payment_id)
        if payment.status != "pending":
            return
        payment.status, payment.closed_at = "closed", clock.now()
        coupons.release_held(_holder(payment))
        if payment.kind != kinds.PURCHASE:
            kinds.settler_of(payment).closed(payment)


def reconcile_all() -> dict:
    """The periodic job: pending payments, rewards still owed, refunds still open; each part on its own."""
    outcome = {}
    for part, run in (("payments", reconcile), ("rewards", rewards.pay_owed), ("refunds", refunds.reconcile)):
        try:
            outcome[part] = run()
        except Exception:  # e.g. the database away for a moment: the other parts still run
            db.session.rollback()
            log.exception("reconcile: %s failed", part)
            outcome[part] = {"failed": 1}
    return outcome


def needing_attention() -> dict:
    """What a person must look at: payments set aside (WeChat notified or billed another amount, refunded
    unasked, or never took a payment we think paid), refunds that failed, days whose bill had findings."""
    return {"payments": db.session.scalar(select(func.count()).select_from(Payment).where(
                Payment.attention.is_not(None))),
            "refunds": refunds.failed_count(),
            "bill_days": db.session.scalar(select(func.count()).select_from(BillReconciliation).where(
                BillReconciliation.outcome == "attention"))}
