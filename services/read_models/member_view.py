"""The member as the mini-program shows them: their profile with level, points and guide (GET /me),
and the short card returned at login."""
from models import Member
from services.guides import guides
from services.ledger import points
from services.levels import levels


def profile(member: Member) -> dict:
    """The member as GET /me shows it: profile, level, points and their exclusive guide."""
    return {"member": member, "level": levels.summary(member), "points": points.summary(member.id),
            "guide": guides.guide_card(member.id)}


def brief(member: Member) -> dict:
    """The short member card: id, nickname, level, available points."""
    card = points.summary(member.id, expiring_limit=0)
    return {"member": member, "level": levels.summary(member), "points": card["available"]}
