"""Recording an invitation at the friend's first login, or refusing it (counted per reason), and what
members and operators are shown of invitations."""
from datetime import date, timedelta

from sqlalchemy import func, select, update

from models import Member, db
from models.invite import Invitation, InviteRefusal
from services import events
from services.invites import codes, rules
from services.leaderboards import standings
from services.platform import clock, ratelimit
from services.platform.db import get_row, insert_once

CYCLE_DEPTH = 32  # how far up an inviter's own inviters a cycle is looked for
JOIN_WINDOW = 3600  # the per-address limit on invited logins counts this many seconds
FRIENDS_SHOWN = 200


def accept(member: Member, *, created: bool, code: str, client_address: str) -> Invitation | None:
    """Follow a login carrying an inviter's code (a `referral_followers` entry, in the login's transaction):
    record the invitation when this login created the member, else refuse it, counted, writing nothing else."""
    rule = rules.active_copy()
    if rule is None or not rule["enabled"]:
        return None
    inviter_id = codes.member_of(code)
    if reason := _refusal(member, created, inviter_id, client_address, rule):
        count_refusal(reason)
        return None
    now = clock.now()
    invitation = Invitation(inviter_id=inviter_id, invitee_id=member.id, rule_id=rule["id"], status="joined",
                            joined_at=now, expires_at=now + timedelta(days=rule["window_days"]))
    db.session.add(invitation)
    db.session.flush()
    events.emit(inviter_id, "invite_accepted", business_key=f"invite_accepted:{member.id}",
                reference=f"invitation:{invitation.id}")
    return invitation


def _refusal(member: Member, created: bool, inviter_id: int | None, client_address: str, rule: dict) -> str | None:
    if inviter_id is None:
        return "unknown_code"
    if inviter_id == member.id:
        return "self"
    if not created:  # a new member has invited nobody yet: only an existing one can close a circle
        return "cycle" if _invited_by(inviter_id, member.id) else "existing_member"
    status = db.session.scalar(select(Member.status).where(Member.id == inviter_id))
    if status is None:
        return "unknown_code"
    if status != "active":
        return "inviter_frozen"
    try:
        ratelimit.check("invite-join", client_address, limit=rule["joins_per_address"], window=JOIN_WINDOW)
    except ratelimit.RateLimited:
        return "rate_limited"
    return None


def _invited_by(member_id: int, ancestor_id: int) -> bool:
    """Whether `ancestor_id` is somewhere up `member_id`'s chain of inviters."""
    for _ in range(CYCLE_DEPTH):
        member_id = db.session.scalar(select(Invitation.inviter_id).where(Invitation.invitee_id == member_id))
        if member_id is None:
            return False
        if member_id == ancestor_id:
            return True
    return False


def count_refusal(reason: str) -> None:
    """One more refusal for `reason` today, in the caller's transaction (the operator reads the counts)."""
    day = clock.today()
    counted = update(InviteRefusal).where(InviteRefusal.day == day, InviteRefusal.reason == reason) \
        .values(count=InviteRefusal.count + 1)
    if db.session.execute(counted).rowcount:
        return
    if insert_once(InviteRefusal.__table__, key="slot", slot=f"{day}:{reason}", day=day, reason=reason,
                   count=1) is None:  # a parallel first refusal of the day inserted it
        db.session.execute(counted)


# -- what is shown --------------------------------------------------------------------------------

def shown_status(invitation: Invitation) -> str:
    """joined / qualified / rewarded / expired, as members see it: a refused invitation can never pay,
    like an expired one; one whose reward a refund took back is qualified."""
    if invitation.status == "joined" and clock.now() >= invitation.expires_at:
        return "expired"
    return {"refused": "expired", "reversed": "qualified"}.get(invitation.status, invitation.status)


def friends_of(member_id: int, *, masked: bool = True) -> dict:
    """The member's friends (latest first) and what their invitations earned the member."""
    rows = db.session.execute(
        select(Invitation, Member.nickname).join(Member, Member.id == Invitation.invitee_id)
        .where(Invitation.inviter_id == member_id).order_by(Invitation.id.desc()).limit(FRIENDS_SHOWN)).all()
    friends = [_friend(invitation, nickname, masked) for invitation, nickname in rows]
    kept = (Invitation.inviter_id == member_id) & (Invitation.status == "rewarded")
    points_, growth_, coupons_ = db.session.execute(select(
        func.coalesce(func.sum(Invitation.inviter_points), 0), func.coalesce(func.sum(Invitation.inviter_growth), 0),
        func.coalesce(func.sum(Invitation.inviter_coupons), 0)).where(kept)).one()
    return {"friends": friends, "rewards": {"points": points_, "growth": growth_, "coupons": coupons_}}


def _friend(invitation: Invitation, nickname: str, masked: bool) -> dict:
    return {"id": invitation.id, "member_id": invitation.invitee_id,
            "nickname": standings.mask(nickname) if masked else nickname, "status": shown_status(invitation),
            "state": invitation.status, "refusal": invitation.refusal, "joined_at": invitation.joined_at,
            "expires_at": invitation.expires_at, "qualified_at": invitation.qualified_at,
            "rewarded_at": invitation.rewarded_at, "reversed_at": invitation.reversed_at,
            "friend_rewards": {"points": invitation.friend_points, "growth": invitation.friend_growth,
                               "coupons": invitation.friend_coupons},
            "inviter_rewards": {"points": invitation.inviter_points, "growth": invitation.inviter_growth,
                                "coupons": invitation.inviter_coupons}}


def member_invitations(member_id: int) -> dict:
    """For operators: who invited the member, and the member's friends with their full names."""
    get_row(Member, member_id, missing="No such member.")
    invited_by = db.session.scalar(select(Invitation).where(Invitation.invitee_id == member_id))
    return {"invited_by": None if invited_by is None else {
                "member_id": invited_by.inviter_id, "invitation_id": invited_by.id,
                "status": shown_status(invited_by), "state": invited_by.status, "joined_at": invited_by.joined_at},
            **friends_of(member_id, masked=False)}


def figures(since: date | None, until: date | None) -> dict:
    """Refusals per reason and invitations per state, over business days `since`..`until` (inclusive)."""
    refusals = select(InviteRefusal.reason, func.sum(InviteRefusal.count)).group_by(InviteRefusal.reason)
    states = select(Invitation.status, func.count()).group_by(Invitation.status)
    if since is not None:
        refusals = refusals.where(InviteRefusal.day >= since)
        states = states.where(Invitation.joined_at >= clock.start_of_day(since))
    if until is not None:
        refusals = refusals.where(InviteRefusal.day <= until)
        states = states.where(Invitation.joined_at < clock.start_of_day(until + timedelta(days=1)))
    return {"refusals": {reason: int(count) for reason, count in db.session.execute(refusals)},
            "invitations": {status: count for status, count in db.session.execute(states)}}
