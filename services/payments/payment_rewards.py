"""What a paid purchase earns — points, growth, a coupon pack, a task event, a message — and what a
refund takes back. Every write carries a business key derived from the order, so nothing counts twice."""
from flask import current_app

from models import Level, Member, Payment, Refund, db
from services.coupons import coupons
from services.ledger import growth, points
from services.messages import messages
from services.payments import payment_rules
from services.platform import clock, events


def reward(payment: Payment) -> None:
    """Credit a paid purchase's rewards inside the transaction that marks it paid."""
    member = db.session.get(Member, payment.member_id)
    key = f"pay:{payment.out_trade_no}"
    ref = f"payment:{payment.id}"
    payment.points_awarded = purchase_points(member, payment.amount_fen)
    payment.growth_awarded = payment.amount_fen // 100 * current_app.config["GROWTH_PER_YUAN"]
    if payment.points_awarded:
        points.earn(member.id, payment.points_awarded, reason="purchase", business_key=key, reference=ref)
    if payment.growth_awarded:
        growth.earn(member.id, payment.growth_awarded, reason="purchase", business_key=key, reference=ref)
    rule = payment_rules.best_rule(payment)
    issued = []
    if rule is not None:
        payment.rule_id = rule.id
        issued = coupons.issue_pack(member.id, rule.coupon_pack_id, source="payment", business_key=f"{key}:pack",
                                    source_ref=ref)
    payment.coupon_codes = [coupon.code for coupon in issued]
    payment.rewarded_at = clock.now()
    events.emit(member.id, "payment", business_key=key, reference=ref,
                payload={"amount_fen": payment.amount_fen, "store_id": payment.store_id})
    messages.enqueue(member.id, "pay_success", _pay_success_message(payment), business_key=f"msg:{key}",
                     page=f"pages/payment/result?id={payment.id}")


def purchase_points(member: Member, amount_fen: int) -> int:
    """Points per whole yuan × the member's level multiplier."""
    level = db.session.get(Level, member.level_id) if member.level_id else None
    multiplier = level.points_multiplier_pct if level else 100
    return amount_fen // 100 * current_app.config["POINTS_PER_YUAN"] * multiplier // 100


def _pay_success_message(payment: Payment) -> dict:
    return {
        "thing1": messages.thing(payment.description),
        "amount2": messages.amount(payment.amount_fen),
        "number3": messages.number(payment.points_awarded),
        "time4": messages.time(payment.paid_at),
    }


def claw_back(payment: Payment, refund: Refund) -> None:
    """Take back the refunded share of a payment's points and growth; revoke its unused coupons once
    the payment no longer reaches its rule's threshold."""
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
        growth.reverse(key, business_key=refund_key, amount=refund.growth_reversed, reason="refund")
    rule = payment.rule_id and payment_rules.get_rule(payment.rule_id)
    if rule and payment.amount_fen - refunded_after < rule.min_amount_fen:
        refund.coupons_revoked = coupons.revoke_unused(f"payment:{payment.id}", reason="payment refunded")


def _share(total: int, payment: Payment, refunded_fen: int) -> int:
    """How much of `total` belongs to `refunded_fen` of the payment (the last refund takes the rest)."""
    return total * refunded_fen // payment.amount_fen
