"""Operators' grants by hand: points credited or debited and growth credited, each audited and given
once per Idempotency-Key (the business key names the operator and the key)."""
from sqlalchemy import select

from models import GrowthAccount, Operator, db
from services.ledger import growth, points
from services.platform import audit_trail
from services.platform.db import transaction
from services.platform.errors import InvalidRequest
from services.platform.lock_order import lock_member

ADJUST_LIMIT = 1_000_000  # points in one manual adjustment


def adjust_points(operator: Operator, member_id: int, *, delta: int, reason: str, request_key: str) -> int:
    """Credit or debit a member's points by hand, audited; a debit never goes below zero. A frozen
    member earns nothing, but an operator may still debit them."""
    if delta == 0:
        raise InvalidRequest("delta must not be zero.", details={"delta": ["Must not be zero."]})
    business_key = f"admin:{operator.id}:{request_key}"
    with transaction():
        lock_member(member_id)
        movement = {"reason": "admin_adjust", "business_key": business_key, "reference": f"operator:{operator.id}"}
        entry_id = (points.earn(member_id, delta, **movement) if delta > 0
                    else points.spend(member_id, -delta, frozen_too=True, **movement).id)
        audit_trail.record_once(operator.id, "points.adjust", target_type="points_entry", target_id=entry_id,
                              reason=reason, details={"member_id": member_id, "delta": delta})
        balance = points.summary(member_id)["balance"]
    return balance


def grant_growth(operator: Operator, member_id: int, *, amount: int, reason: str, request_key: str) -> int:
    """Credit a member's growth value by hand (audited); the member moves up as any earning moves them,
    level-up gifts included. Growth is earn-only: an operator takes none back. The new lifetime total."""
    business_key = f"admin-growth:{operator.id}:{request_key}"
    with transaction():
        entry_id = growth.earn(member_id, amount, reason="admin_adjust", business_key=business_key,
                               reference=f"operator:{operator.id}")
        audit_trail.record_once(operator.id, "growth.grant", target_type="growth_entry", target_id=entry_id,
                                reason=reason, details={"member_id": member_id, "amount": amount})
        total = db.session.scalar(select(GrowthAccount.total).where(GrowthAccount.member_id == member_id))
    return total
