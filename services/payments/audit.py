"""audit-ledger's payment checks: every paid payment rewarded exactly as it says (points, growth,
coupon pack), refunds adding up to what the payment says was refunded, and reversals matching the
entries they wrote."""
from collections import Counter

from sqlalchemy import func, select

from models import GrowthEntry, Payment, PointsEntry, Refund, db
from models.coupon import Coupon
from services.payments.payments import PAID_STATES


def audit_problems() -> list[str]:
    """Every paid payment's rewards and refunds against the ledgers and coupons they wrote."""
    paid = db.session.execute(select(
        Payment.id, Payment.out_trade_no, Payment.reward_status, Payment.points_awarded, Payment.growth_awarded,
        Payment.coupon_codes, Payment.refunded_fen).where(Payment.status.in_(PAID_STATES))).all()
    keys = [f"pay:{row.out_trade_no}" for row in paid]
    earned = {"points": _deltas(PointsEntry, keys), "growth": _deltas(GrowthEntry, keys)}
    packs = Counter(dict(db.session.execute(select(Coupon.source_ref, func.count()).where(
        Coupon.source == "payment", Coupon.source_ref.in_([f"payment:{row.id}" for row in paid]))
        .group_by(Coupon.source_ref)).all()))
    refunded = dict(db.session.execute(select(Refund.payment_id, func.sum(Refund.amount_fen)).where(
        Refund.status == "succeeded").group_by(Refund.payment_id)).all())
    problems = []
    for row in paid:
        problems += _reward_problems(row, earned, packs[f"payment:{row.id}"])
        if refunded.get(row.id, 0) != row.refunded_fen:
            problems.append(f"payment {row.id}: refunded_fen {row.refunded_fen} but its succeeded refunds add up "
                            f"to {refunded.get(row.id, 0)}")
    return problems + _reversal_problems() + _closed_but_paid()


def _closed_but_paid() -> list[str]:
    """A payment WeChat took (it carries WeChat's transaction id) must never end closed with the money kept."""
    rows = db.session.execute(select(Payment.id, Payment.out_trade_no, Payment.transaction_id).where(
        Payment.status == "closed", Payment.transaction_id.is_not(None))).all()
    return [f"payment {row.id} ({row.out_trade_no}) is closed but WeChat took it ({row.transaction_id}): "
            "neither delivered nor refunded" for row in rows]


def _deltas(model, keys: list[str]) -> dict[str, int]:
    return dict(db.session.execute(select(model.business_key, model.delta).where(model.business_key.in_(keys))).all())


def _reward_problems(row, earned: dict, coupons: int) -> list[str]:
    if row.reward_status is None:
        return [f"payment {row.id} is paid but has no reward status"]
    rewarded = row.reward_status == "rewarded"
    expected = {"points": row.points_awarded if rewarded else 0, "growth": row.growth_awarded if rewarded else 0,
                "coupons": len(row.coupon_codes or []) if rewarded else 0}
    found = {"points": earned["points"].get(f"pay:{row.out_trade_no}", 0),
             "growth": earned["growth"].get(f"pay:{row.out_trade_no}", 0), "coupons": coupons}
    return [f"payment {row.id} ({row.reward_status}): {what} {found[what]} written, {expected[what]} expected"
            for what in expected if found[what] != expected[what]]


def _reversal_problems() -> list[str]:
    """Each succeeded refund's reversed points and growth against the reversing entries it wrote."""
    problems = []
    succeeded = db.session.execute(select(Refund.id, Refund.out_refund_no, Refund.points_reversed,
                                          Refund.growth_reversed).where(Refund.status == "succeeded")).all()
    keys = [f"refund:{row.out_refund_no}" for row in succeeded]
    written = {"points": _deltas(PointsEntry, keys), "growth": _deltas(GrowthEntry, keys)}
    for row in succeeded:
        for what, recorded in (("points", row.points_reversed), ("growth", row.growth_reversed)):
            entry = -written[what].get(f"refund:{row.out_refund_no}", 0)
            if entry != recorded:
                problems.append(f"refund {row.id}: {recorded} {what} reversed recorded, the entries took {entry}")
    return problems
