"""audit-ledger's invitation check: every invitation reward matches one qualified invitation and none
is written twice; reversals match the invitations a refund took back."""
from sqlalchemy import func, select

from models import GrowthEntry, PointsEntry, db
from models.coupon import Coupon
from models.invite import Invitation

PAID_FRIEND = ("qualified", "rewarded", "reversed")
PAID_INVITER = ("rewarded", "reversed")
REASONS = {"invite_friend": "friend", "invite_inviter": "inviter"}


def audit_problems() -> list[str]:
    """Each invitation's rewards and reversals against the ledgers and coupons; rewards of no invitation."""
    found = {"points": _written(PointsEntry), "growth": _written(GrowthEntry), "coupons": _coupons()}
    problems = []
    for row in db.session.execute(select(Invitation)).scalars():
        for side, paid in (("friend", PAID_FRIEND), ("inviter", PAID_INVITER)):
            for what in ("points", "growth", "coupons"):
                amount = getattr(row, f"{side}_{what}") if row.status in paid else 0
                expected = (1 if amount else 0, amount) if what != "coupons" else (amount, amount)
                got = found[what].pop((row.id, side), (0, 0))
                if got != expected:
                    problems.append(f"invitation {row.id} ({row.status}): {side} {what} {got[0]} rewards of "
                                    f"{got[1]} written, {expected[0]} of {expected[1]} expected")
        for what in ("points", "growth"):
            reversed_ = found[what].pop((row.id, "reversal"), (0, 0))
            if (reversed_[0] > 0) != (row.status == "reversed" and getattr(row, f"inviter_{what}") > 0):
                problems.append(f"invitation {row.id} ({row.status}): {reversed_[0]} reversals of its inviter's "
                                f"{what} written")
    for what, left in found.items():
        problems += [f"{what} reward of no invitation: invitation {key[0]} ({key[1]}), {count} rows"
                     for key, (count, _) in left.items()]
    return problems


def _written(model) -> dict:
    """(invitation id, side or 'reversal') → (rows, their amount), from the ledger's invitation entries."""
    rows = db.session.execute(select(model.reference, model.reason, func.count(), func.sum(model.delta)).where(
        model.reference.like("invitation:%"), model.reason.in_([*REASONS, "invite_refund"]))
        .group_by(model.reference, model.reason)).all()
    return {(_invitation_id(reference), REASONS.get(reason, "reversal")): (count, total)
            for reference, reason, count, total in rows}


def _coupons() -> dict:
    rows = db.session.execute(select(Coupon.source_ref, func.count()).where(Coupon.source == "invite")
                              .group_by(Coupon.source_ref)).all()
    return {(_invitation_id(ref), "friend" if ref.endswith(":friend") else "inviter"): (count, count)
            for ref, count in rows}


def _invitation_id(reference: str) -> int:
    return int(reference.split(":")[1])
