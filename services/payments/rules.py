"""支付有礼 rules: which coupon pack a paid purchase earns."""
import re

from sqlalchemy import func, or_, select

from models import Payment, PaymentRule, db
from models.coupon import Coupon
from services.coupons import catalog, coupons
from services.payments import stores
from services.platform import clock
from services.platform.db import get_row, transaction
from services.platform.errors import InvalidRequest

RULE_FIELDS = ("name", "min_amount_fen", "coupon_pack_id", "store_id", "starts_at", "ends_at", "per_member_limit",
               "active")


def best_rule(payment: Payment) -> PaymentRule | None:
    """The active rule with the highest threshold the payment reaches, in its store and window,
    that the member has not yet used up."""
    now = clock.now()
    candidates = db.session.scalars(
        select(PaymentRule).where(
            PaymentRule.active.is_(True),
            PaymentRule.min_amount_fen <= payment.amount_fen,
            or_(PaymentRule.store_id.is_(None), PaymentRule.store_id == payment.store_id),
            or_(PaymentRule.starts_at.is_(None), PaymentRule.starts_at <= now),
            or_(PaymentRule.ends_at.is_(None), PaymentRule.ends_at > now),
        ).order_by(PaymentRule.min_amount_fen.desc(), PaymentRule.id))
    for rule in candidates:
        if rule.per_member_limit is None or _times_used(rule, payment.member_id) < rule.per_member_limit:
            return rule
    return None


def _times_used(rule: PaymentRule, member_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Payment).where(
        Payment.rule_id == rule.id, Payment.member_id == member_id))


PAYMENT_REF = re.compile(r"payment:([0-9]{1,10})")  # the source_ref of a coupon a payment earned


def coupon_stores(found: list[Coupon]) -> dict[int, int]:
    """The one store each coupon may be used in (coupon id → store id): a coupon of a store's own
    支付有礼 rule (a rule with a store) belongs to that store; the others, absent here, to every store."""
    payment_of = {coupon.id: int(match[1]) for coupon in found if coupon.source == "payment"
                  and (match := PAYMENT_REF.fullmatch(coupon.source_ref or ""))}
    if not payment_of:
        return {}
    rule_store = dict(db.session.execute(select(Payment.id, PaymentRule.store_id).join(
        PaymentRule, PaymentRule.id == Payment.rule_id).where(Payment.id.in_(set(payment_of.values())),
                                                              PaymentRule.store_id.is_not(None))).all())
    return {coupon_id: rule_store[payment_id] for coupon_id, payment_id in payment_of.items()
            if payment_id in rule_store}


def require_coupon_store(coupon: Coupon, store_id: int | None) -> None:
    """CouponNotUsable (other_store) when the coupon belongs to another store than the one paid in."""
    only_at = coupon_stores([coupon]).get(coupon.id)
    if only_at is not None and only_at != store_id:
        raise coupons.CouponNotUsable("other_store")


def all_rules() -> list[PaymentRule]:
    return list(db.session.scalars(select(PaymentRule).order_by(PaymentRule.id)))


def get_rule(rule_id: int) -> PaymentRule:
    return get_row(PaymentRule, rule_id, missing="No such payment rule.")


def create_rule(fields: dict) -> PaymentRule:
    """Add an after-payment rule."""
    with transaction():
        rule = PaymentRule(**_checked(fields), created_at=clock.now())
        db.session.add(rule)
    return rule


def update_rule(rule_id: int, fields: dict) -> PaymentRule:
    with transaction():
        rule = get_rule(rule_id)
        merged = {key: fields.get(key, getattr(rule, key)) for key in RULE_FIELDS}
        for key, value in _checked(merged).items():
            setattr(rule, key, value)
    return rule


def deactivate_rule(rule_id: int) -> None:
    with transaction():
        get_rule(rule_id).active = False


def _checked(fields: dict) -> dict:
    catalog.get_pack(fields["coupon_pack_id"])
    if fields.get("store_id") is not None:
        stores.get_store(fields["store_id"])
    if fields.get("starts_at") and fields.get("ends_at") and fields["ends_at"] <= fields["starts_at"]:
        raise InvalidRequest("ends_at must be after starts_at.", details={"ends_at": ["Must be after starts_at."]})
    return {key: value for key, value in fields.items() if key in RULE_FIELDS}
