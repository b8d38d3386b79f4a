"""What a member (or an operator looking them up) sees of their level: GET /me/level."""
from sqlalchemy import select

from models import Level, LevelChange, db
from models.coupon import CouponPack
from services.levels import policy
from services.members.members import get_member

HISTORY = 50  # the newest moves shown


def detail(member_id: int) -> dict:
    """The level, growth in the policy's window and to the next level, both levels' benefits, the
    history (newest first), the next evaluation and, when it can lower the level, what keeps it."""
    member = get_member(member_id)
    rule = policy.in_effect()
    growth = policy.window_growth(member_id, rule.growth_window)
    ladder = list(db.session.scalars(select(Level).order_by(Level.threshold)))
    current = next((level for level in ladder if level.id == member.level_id), None)
    following = next((level for level in ladder if level.threshold > (current.threshold if current else -1)), None)
    upcoming = policy.upcoming()
    at_next = policy.in_effect(upcoming)
    return {
        "level": _brief(current),
        "growth": growth,
        "growth_window": rule.growth_window,
        "window_starts_at": policy.window_start(rule.growth_window, upcoming),
        "growth_to_next": max(following.threshold - growth, 0) if following else None,
        "benefits": benefits(current),
        "next_level": {**_brief(following), "benefits": benefits(following)} if following else None,
        "history": _history(member_id, {level.id: level for level in ladder}),
        "next_evaluation": upcoming,
        "downgrade": at_next.downgrade,
        "keep": _keep(current, ladder, growth) if at_next.downgrade == "one_level" else None,
    }


def benefits(level: Level | None) -> dict | None:
    if level is None:
        return None
    packs = dict(db.session.execute(select(CouponPack.id, CouponPack.name).where(
        CouponPack.id.in_([pid for pid in (level.levelup_pack_id, level.birthday_pack_id) if pid]))).all())
    return {"points_multiplier_pct": level.points_multiplier_pct,
            "makeup_cards_per_month": level.makeup_cards_per_month,
            "mall_discount_pct": level.mall_discount_pct,
            "exclusive_goods": level.exclusive_goods,
            "levelup_pack": _pack(level.levelup_pack_id, packs),
            "birthday_points": level.birthday_points,
            "birthday_pack": _pack(level.birthday_pack_id, packs)}


def _pack(pack_id, names):
    return {"id": pack_id, "name": names[pack_id]} if pack_id in names else None


def _brief(level: Level | None) -> dict | None:
    return {"code": level.code, "name": level.name, "threshold": level.threshold} if level else None


def _keep(current: Level | None, ladder: list[Level], growth: int) -> dict | None:
    if current is None or current.threshold <= ladder[0].threshold:
        return None
    return {"growth_needed": max(current.threshold - growth, 0), "at_risk": growth < current.threshold}


def _history(member_id: int, by_id: dict) -> list[dict]:
    changes = db.session.scalars(select(LevelChange).where(LevelChange.member_id == member_id)
                                 .order_by(LevelChange.id.desc()).limit(HISTORY))
    return [{"from": _code(by_id, change.from_level_id, change.from_code),
             "to": _code(by_id, change.to_level_id, change.to_code),
             "cause": change.cause, "growth": change.growth_total, "at": change.created_at} for change in changes]


def _code(by_id: dict, level_id: int | None, recorded: str | None) -> str | None:
    """The level's code as the move recorded it (a level deleted or renamed since reads the same), else now."""
    level = by_id.get(level_id)
    return recorded or (level.code if level else None)
