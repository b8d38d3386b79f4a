"""Claiming a task's reward: once per period and tier, guarded by the claim's unique business key (not a
read), and a newbie reward once per phone number, whichever member the phone is bound to."""
from sqlalchemy import select, update

from models import Member, TaskClaim, db
from services.coupons import coupons
from services.ledger import earnings
from services.platform.lock_order import lock_member
from services.platform import clock
from services.platform.db import insert_once, transaction
from services.platform.errors import Conflict
from services import events
from services.tasks.definitions import is_open, next_tier, period_key, task_by_code
from services.tasks.progress import counts, phone_key


class NotClaimable(Conflict):
    code = "not_claimable"

    def __init__(self, message: str, reason: str, **details):
        super().__init__(message, details={"reason": reason, **details})


def claim(member_id: int, code: str) -> dict:
    """Pay the member the reward of the task's next unclaimed tier in this period."""
    with transaction():
        lock_member(member_id).require_active()  # claims of one member wait for each other here
        task = task_by_code(code)
        if not is_open(task):
            raise NotClaimable("This task is not open.", "closed")
        period = period_key(task)
        taken = set(db.session.scalars(select(TaskClaim.tier).where(
            TaskClaim.member_id == member_id, TaskClaim.task_id == task.id, TaskClaim.period_key == period)))
        tier = next_tier(task, taken)
        if tier is None:
            raise NotClaimable("This task's reward is claimed for this period.", "claimed")
        progress = counts(member_id, [task])[task.id]
        if progress < tier.target:
            raise NotClaimable("This task is not done yet.", "not_done", progress=progress, target=tier.target)
        business_key = f"task:{task.code}:{member_id}:{period}" + (f":{tier.number}" if task.kind == "achievement" else "")
        claim_id = insert_once(TaskClaim.__table__, key=None, task_id=task.id, member_id=member_id, period_key=period,
                               tier=tier.number, business_key=business_key, phone_key=_phone_key(task, member_id),
                               points=0, growth=0, coupon_codes=[], created_at=clock.now())
        if claim_id is None:
            raise NotClaimable("This reward was claimed already.", "claimed")
        return _pay(task, tier, member_id, claim_id, business_key)


def _phone_key(task, member_id: int) -> str | None:
    """Newbie rewards go to a phone number once (against one person farming many accounts)."""
    if task.kind != "newbie":
        return None
    phone = db.session.scalar(select(Member.phone).where(Member.id == member_id))
    if not phone:
        raise NotClaimable("Bind a phone number first: newbie rewards are paid once per phone.", "phone_required")
    key = phone_key(task, phone)
    if db.session.scalar(select(TaskClaim.id).where(TaskClaim.phone_key == key)):
        raise NotClaimable("This phone number has had this newbie reward already.", "phone_used")
    return key


def _pay(task, tier, member_id: int, claim_id: int, business_key: str) -> dict:
    reference = f"task:{task.code}"
    earnings.earn(member_id, points_=tier.points, growth_=tier.growth, reason="task", business_key=business_key,
                  reference=reference)
    codes = [coupon.code for coupon in coupons.issue_pack(
        member_id, tier.coupon_pack_id, source="task", business_key=business_key, source_ref=reference)
    ] if tier.coupon_pack_id else []
    db.session.execute(update(TaskClaim).where(TaskClaim.id == claim_id).values(
        points=tier.points, growth=tier.growth, coupon_codes=codes))
    if task.kind == "newbie":
        events.emit(member_id, "newbie_step", business_key=f"newbie_step:{member_id}:{task.code}", reference=reference)
    return {"task": task.code, "tier": tier.number, "points": tier.points, "growth": tier.growth, "coupons": codes}
