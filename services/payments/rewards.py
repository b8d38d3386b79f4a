"""What a paid purchase earns — points, growth, a coupon pack, a task event, a message — and what a
refund takes back. Every write carries a business key derived from the order, so nothing counts twice.

Rewards are paid in their own transaction, after the one that marked the payment paid. When they
cannot be paid now the payment says so (reward_status): `withheld` while the member is frozen,
`retrying` after an error (with backoff); `pay_owed`, run by reconcile every minute, pays them once
the cause is gone. The payment row's lock makes sure they are paid once.
"""
import logging
from datetime import timedelta

from sqlalchemy import or_, select

from models import Member, Payment, Refund, db
from services.coupons import coupons
from services.ledger import earnings, growth, points
from services.levels import levels
from services.platform.lock_order import lock_member
from services.messages import messages
from services.payments import kinds, rules
from services.platform import clock
from services.platform.areas import wiring
from services.platform.db import lock_row, transaction
from services import events

log = logging.getLogger(__name__)

OWED = ("due", "retrying", "withheld")
RETRY_SECONDS, RETRY_MAX_SECONDS = 60, 3600


def pay_rewards(payment_id: int) -> str:
    """Pay a paid payment's rewards if it still owes them; the reward status it ends with. Never raises:
    what could not be paid is recorded on the payment for a later try."""
    try:
        with transaction():
            payment = _lock_owing(payment_id)
            if payment is None:
                return "rewarded"
            if lock_member(payment.member_id).status != "active":
                return _owe(payment, "withheld", "the member is frozen")
            reward(payment)
            payment.reward_status, payment.reward_error = "rewarded", None
            return "rewarded"
    except Exception as exc:  # the payment stays paid; its rewards are tried again later
        log.exception("rewards of payment %s failed; retried later", payment_id)
        status, error = "retrying", f"{type(exc).__name__}: {exc}"[:255]
    with transaction():
        payment = _lock_owing(payment_id)
        return _owe(payment, status, error) if payment is not None else "rewarded"


def _lock_owing(payment_id: int) -> Payment | None:
    payment = lock_row(Payment, payment_id)
    return payment if payment is not None and payment.reward_status in OWED else None


def _owe(payment: Payment, status: str, error: str) -> str:
    payment.reward_status, payment.reward_error = status, error
    if status == "retrying":
        payment.reward_attempts += 1
        payment.reward_retry_at = clock.now() + clock.backoff(payment.reward_attempts, first=RETRY_SECONDS,
                                                              most=RETRY_MAX_SECONDS)
    return status


def pay_owed(batch: int = 200) -> dict:
    """Pay the rewards still owed: due ones left by a crash, retries whose time has come, and withheld
    ones whose member is active again. Each payment on its own."""
    now = clock.now()
    owed = list(db.session.scalars(
        select(Payment.id).join(Member, Member.id == Payment.member_id).where(or_(
            (Payment.reward_status == "due") & (Payment.paid_at <= now - timedelta(minutes=1)),
            (Payment.reward_status == "retrying") & (Payment.reward_retry_at <= now),
            (Payment.reward_status == "withheld") & (Member.status == "active")))
        .order_by(Payment.reward_retry_at.is_not(None), Payment.reward_retry_at, Payment.id).limit(batch)))
    db.session.rollback()
    outcome = {"checked": len(owed), "rewarded": 0, "withheld": 0, "retrying": 0}
    for payment_id in owed:
        outcome[pay_rewards(payment_id)] += 1
    return outcome


def reward(payment: Payment) -> None:
    """Credit a paid purchase's rewards, or settle a payment of another kind (the caller holds the
    payment's and the member's locks)."""
    if payment.kind != kinds.PURCHASE:
        kinds.settler_of(payment).paid(payment)
        payment.coupon_codes, payment.rewarded_at = [], clock.now()
        return
    member = db.session.get(Member, payment.member_id)
    key = f"pay:{payment.out_trade_no}"
    ref = f"payment:{payment.id}"
    payment.points_awarded, payment.growth_awarded = levels.purchase_rewards(member.level_id, payment.amount_fen)
    earnings.earn(member.id, points_=payment.points_awarded, growth_=payment.growth_awarded, reason="purchase",
                  business_key=key, reference=ref)
    rule = rules.best_rule(payment)
    issued = []
    if rule is not None:
        payment.rule_id = rule.id
        issued = coupons.issue_pack(member.id, rule.coupon_pack_id, source="payment", business_key=f"{key}:pack",
                                    source_ref=ref)
    payment.coupon_codes = [coupon.code for coupon in issued]
    payment.rewarded_at = clock.now()
    events.emit(member.id, "payment_paid", business_key=key, reference=ref,
                payload={"amount_fen": payment.amount_fen, "store_id": payment.store_id})
    for follow in wiring().purchase_followers.values():
        follow(member.id, payment)
    messages.enqueue(member.id, "pay_success", _pay_success_message(payment), business_key=f"msg:{key}",
                     page=f"pages/payment/result?id={payment.id}")


def _pay_success_message(payment: Payment) -> dict:
    return {
        "thing1": messages.thing(payment.description),
        "amount2": messages.amount(payment.amount_fen),
        "number3": messages.number(payment.points_awarded),
        "time4": messages.time(payment.paid_at),
    }


def claw_back(payment: Payment, refund: Refund) -> None:
    """Take back the refunded share of a payment's points and growth; revoke its unused coupons once
    the payment no longer reaches its rule's threshold. A payment of another kind: its area's refund."""
    if payment.kind != kinds.PURCHASE:
        kinds.settler_of(payment).refunded(payment, refund)
        return
    key = f"pay:{payment.out_trade_no}"
    refunded_after = payment.refunded_fen + refund.amount_fen
    refund.points_reversed = _share(payment.points_awarded, payment, refunded_after) - _share(
        payment.points_awarded, payment, payment.refunded_fen)
    refund.growth_reversed = _share(payment.growth_awarded, payment, refunded_after) - _share(
        payment.growth_awarded, payment, payment.refunded_fen)
    refund_key = f"refund:{refund.out_refund_no}"
    if refund.points_reversed:
        entry = points.reverse(key, business_key=refund_key, amount=refund.points_reversed, reason="refund")
        refund.points_reversed = -entry.delta if entry else 0
    if refund.growth_reversed:
        entry = growth.reverse(key, business_key=refund_key, amount=refund.growth_reversed, reason="refund")
        refund.growth_reversed = -entry.delta if entry else 0
    rule = payment.rule_id and rules.get_rule(payment.rule_id)
    if rule and payment.amount_fen - refunded_after < rule.min_amount_fen:
        refund.coupons_revoked = coupons.revoke_unused(f"payment:{payment.id}", reason="payment refunded")
    for follow in wiring().refund_followers.values():
        follow(payment.member_id, payment, refund)


def _share(total: int, payment: Payment, refunded_fen: int) -> int:
    """How much of `total` belongs to `refunded_fen` of the payment (the last refund takes the rest)."""
    return total * refunded_fen // payment.amount_fen
