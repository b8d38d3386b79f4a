"""A friend qualifies (the step the active rules name: phone bound, first sign-in, a payment of at
least N fen) inside the transaction of that step: the friend's welcome gift, then the inviter's reward
under the caps, each once under its business key; a qualifying payment refunded in full within the
window takes the inviter's reward back through the ledger.

Locks, after what the step holds (its business row, the friend's member row and accounts): the friend's
invitation, then the inviter's member row and accounts. Invitations form a forest (a member has one
inviter, and cycles are refused), so two such units of work never wait for each other in a circle; the
caps are counted under the inviter's member lock, so parallel friends of one inviter take turns there.
"""
from datetime import timedelta

from sqlalchemy import func, select, update

from models import Member, Payment, Refund, db
from models.invite import Invitation, InviteRule
from services import events
from services.coupons import coupons
from services.invites import invitations, rules
from services.leaderboards import leaderboards
from services.ledger import earnings, growth, points
from services.platform import clock
from services.platform.db import lock_one, transaction
from services.platform.lock_order import lock_member

STEP_OF_EVENT = {"phone_bound": "phone", "signin": "signin", "payment_paid": "payment"}


def follow_event(member_id: int, type_: str, *, business_key: str, reference: str | None, payload: dict | None) -> None:
    """An `event_followers` entry: a recorded event that is the active rules' qualifying step qualifies the
    member's open invitation. Costs nothing for other events, and one indexed read for the step's."""
    step = STEP_OF_EVENT.get(type_)
    if step is None:
        return
    rule = rules.active_copy()
    if rule is None or not rule["enabled"] or rule["step"] != step:
        return
    if step == "payment" and (payload or {}).get("amount_fen", 0) < rule["min_payment_fen"]:
        return
    if db.session.scalar(select(Invitation.id).where(Invitation.invitee_id == member_id,
                                                      Invitation.status == "joined")) is None:
        return
    qualify(member_id, rules.get_rule(rule["id"]), ref=(reference or business_key)[:64])


def qualify(member_id: int, rule: InviteRule, *, ref: str) -> Invitation | None:
    """Inside the step's transaction: settle the member's open invitation under `rule`."""
    friend = lock_member(member_id)
    invitation = lock_one(select(Invitation).where(Invitation.invitee_id == member_id))
    if invitation is None or invitation.status != "joined" or friend.status != "active":
        return None
    now = clock.now()
    if now >= invitation.expires_at:
        invitation.status = "expired"
        return invitation
    if _phone_seen(member_id):
        invitation.status, invitation.refusal = "refused", "phone_seen"
        invitations.count_refusal("phone_seen")
        return invitation
    _pay(invitation, "friend", member_id, rule.friend_points, rule.friend_growth, rule.friend_pack_id)
    invitation.status, invitation.qualified_at, invitation.qualified_ref = "qualified", now, ref
    if ref.startswith("payment:"):
        invitation.reversible_until = now + timedelta(days=rule.window_days)
    leaderboards.note_invite_qualified(invitation.inviter_id, at=now)
    _reward_inviter(invitation, rule)
    return invitation


def _phone_seen(member_id: int) -> bool:
    """The newbie tasks' rule: the friend's phone number is already on another member."""
    phone = db.session.scalar(select(Member.phone).where(Member.id == member_id))
    return bool(phone) and db.session.scalar(
        select(Member.id).where(Member.phone == phone, Member.id != member_id).limit(1)) is not None


def _reward_inviter(invitation: Invitation, rule: InviteRule) -> None:
    """The inviter's reward unless frozen or past a cap (counted as refused; the friend keeps the gift)."""
    inviter = lock_member(invitation.inviter_id)
    day, month = clock.today(), clock.period_key("month")
    if inviter.status != "active":
        return invitations.count_refusal("inviter_frozen_at_reward")
    mine = Invitation.inviter_id == invitation.inviter_id
    if _count(mine & (Invitation.reward_day == day)) >= rule.daily_cap:
        return invitations.count_refusal("daily_cap")
    if _count(mine & (Invitation.reward_month == month)) >= rule.monthly_cap:
        return invitations.count_refusal("monthly_cap")
    _pay(invitation, "inviter", invitation.inviter_id, rule.inviter_points, rule.inviter_growth, rule.inviter_pack_id)
    invitation.status, invitation.rewarded_at = "rewarded", clock.now()
    invitation.reward_day, invitation.reward_month = day, month
    events.emit(invitation.inviter_id, "invite_qualified", business_key=f"invite_qualified:{invitation.id}",
                reference=f"invitation:{invitation.id}")


def _count(condition) -> int:
    return db.session.scalar(select(func.count()).select_from(Invitation).where(condition))


def _pay(invitation: Invitation, side: str, member_id: int, points_: int, growth_: int, pack_id: int | None) -> None:
    key, ref = reward_key(invitation.id, side), source_ref(invitation.id, side)
    earnings.earn(member_id, points_=points_, growth_=growth_, reason=f"invite_{side}", business_key=key,
                  reference=ref)
    issued = coupons.issue_pack(member_id, pack_id, source="invite", business_key=f"{key}:pack",
                                source_ref=ref) if pack_id else []
    setattr(invitation, f"{side}_points", points_)
    setattr(invitation, f"{side}_growth", growth_)
    setattr(invitation, f"{side}_coupons", len(issued))


def reward_key(invitation_id: int, side: str) -> str:
    """The business key of one side's reward (points and growth; its coupon pack adds `:pack`)."""
    return f"invite:{invitation_id}:{side}"


def source_ref(invitation_id: int, side: str) -> str:
    return f"invitation:{invitation_id}" if side == "inviter" else f"invitation:{invitation_id}:friend"


def follow_refund(member_id: int, payment: Payment, refund: Refund) -> None:
    """A `refund_followers` entry: the qualifying payment refunded in full within the window takes the
    inviter's reward back, once (the refund is not yet counted in payment.refunded_fen)."""
    if payment.refunded_fen + refund.amount_fen < payment.amount_fen:
        return
    invitation = lock_one(select(Invitation).where(Invitation.invitee_id == member_id))
    if (invitation is None or invitation.status != "rewarded" or invitation.qualified_ref != f"payment:{payment.id}"
            or invitation.reversible_until is None or clock.now() >= invitation.reversible_until):
        return
    key = reward_key(invitation.id, "inviter")
    if invitation.inviter_points:
        points.reverse(key, business_key=f"{key}:reversed", reason="invite_refund")
    if invitation.inviter_growth:
        growth.reverse(key, business_key=f"{key}:reversed", reason="invite_refund")
    if invitation.inviter_coupons:
        coupons.revoke_unused(source_ref(invitation.id, "inviter"), reason="friend's payment refunded")
    invitation.status, invitation.reversed_at = "reversed", clock.now()


def expire_due() -> int:
    """Mark the invitations whose window passed unqualified as expired (hourly; repeatable)."""
    with transaction():
        return db.session.execute(update(Invitation).where(
            Invitation.status == "joined", Invitation.expires_at <= clock.now()).values(status="expired")).rowcount
