"""The member as the mini-program shows them: their profile with level, points and guide (GET /me),
and the short card returned at login."""
from models import Member
from services.guides import guides
from services.ledger import points
from services.levels import levels
from services.members import cards, members
from services.platform import round_trips


def profile(member_id: int, *, token_version: int | None = None) -> dict:
    """The member as GET /me shows it: profile, level, points and their exclusive guide, read in one
    round trip (with the card, when `token_version` is the caller's token's to check)."""
    checked = [cards.checked_read(member_id, token_version)] if token_version is not None else []
    *_, member, level, points_, guide = round_trips.read(
        *checked, members.profile_read(member_id), levels.summary_read(member_id), points.summary_read(member_id),
        guides.guide_card_read(member_id))
    return {"member": member, "level": level, "points": points_, "guide": guide}


def brief(member: Member) -> dict:
    """The short member card: id, nickname, level, available points."""
    level, card = round_trips.read(levels.summary_read(member.id), points.summary_read(member.id, expiring_limit=0))
    return {"member": member, "level": level, "points": card["available"]}
