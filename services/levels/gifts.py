"""Level gifts: the level-up gift once per member per level ever reached, the birthday gift once a year.

A gift is a LevelGift row under its business key (`levelup:{member}:{level}`, `birthday:{member}:{year}`),
inserted once: the unique key is the guard, so a level reached again after a downgrade, a parallel
earning or a second run of the birthday job pays nothing. The points and the coupon pack are paid under
the same key, in the transaction that inserted the row, under the member's lock.
"""
import logging

from sqlalchemy import String, extract, select

from models import Level, LevelGift, Member, db
from models.coupon import CouponPack
from services.coupons import coupons
from services.ledger import points
from services.platform.lock_order import lock_member
from services.platform import clock
from services.platform.db import each_on_its_own, insert_once, transaction
from services.platform.errors import MemberFrozen
from services.platform.progress import with_progress_bar

log = logging.getLogger(__name__)
BATCH = 500


def levelup_key(member_id: int, level_id: int) -> str:
    return f"levelup:{member_id}:{level_id}"


def birthday_key(member_id: int, year: int) -> str:
    return f"birthday:{member_id}:{year}"


def level_up(member_id: int, from_id: int | None, to_id: int) -> list[int]:
    """Pay the level-up gift of every level a move up reaches (above `from_id`, up to `to_id`) that the
    member has not reached before; the ids of the levels whose gift was paid now."""
    ladder = list(db.session.scalars(select(Level).order_by(Level.threshold)))
    floor = next((level.threshold for level in ladder if level.id == from_id), -1)
    top = next(level.threshold for level in ladder if level.id == to_id)
    paid = []
    for level in ladder:
        if floor < level.threshold <= top and level.threshold > 0:  # the entry level is no level-up
            if _pay(member_id, "levelup", level, levelup_key(member_id, level.id), 0, level.levelup_pack_id):
                paid.append(level.id)
    return paid


def birthday_gift(member_id: int) -> bool:
    """Pay the member's level's birthday gift if this is their birthday month and it was not paid this
    year (inside the caller's transaction). Whether it was paid now."""
    member = lock_member(member_id)
    member.require_active()
    row = db.session.execute(select(Member.birthday, Level).join(Level, Level.id == Member.level_id)
                             .where(Member.id == member_id)).one_or_none()
    today = clock.today()
    if row is None or row.birthday is None or row.birthday.month != today.month:
        return False
    level = row.Level
    if not level.birthday_points and not level.birthday_pack_id:
        return False
    return _pay(member_id, "birthday", level, birthday_key(member_id, today.year), level.birthday_points,
                level.birthday_pack_id)


def _pay(member_id: int, kind: str, level: Level, key: str, points_: int, pack_id: int | None) -> bool:
    if pack_id is not None and db.session.get(CouponPack, pack_id) is None:
        log.warning("level %s names coupon pack %s, which does not exist: %s pays no coupons", level.id, pack_id, key)
        pack_id = None
    gift_id = insert_once(LevelGift.__table__, member_id=member_id, kind=kind, level_id=level.id, business_key=key,
                          points=points_, coupon_pack_id=pack_id, created_at=clock.now())
    if gift_id is None:
        return False
    if points_:
        points.earn(member_id, points_, reason=kind, business_key=key, reference=f"level:{level.id}")
    if pack_id is not None:
        coupons.issue_pack(member_id, pack_id, source=kind, business_key=key, source_ref=f"level:{level.id}")
    return True


def pay_birthday_gifts(progress=None) -> dict:
    """The periodic job: the birthday gift of every member whose birthday month this is, not paid this year,
    each member in a transaction of their own (a frozen member is paid once unfrozen, in the month)."""
    outcome = {True: 0, False: 0, "frozen": 0, "errors": 0}
    last_id = 0
    while ids := _birthday_members(after_id=last_id):
        with with_progress_bar(progress, ids) as batch:
            each_on_its_own(batch, _birthday_of, outcome, what="birthday gift of member")
        last_id = ids[-1]
    return {"paid": outcome[True], "frozen": outcome["frozen"], "errors": outcome["errors"]}


def _birthday_of(member_id: int):
    try:
        with transaction():
            return birthday_gift(member_id)
    except MemberFrozen:
        return "frozen"


def _birthday_members(*, after_id: int) -> list[int]:
    """Members in their birthday month whose level gives a birthday gift and who have none this year."""
    today = clock.today()
    paid = select(LevelGift.id).where(LevelGift.member_id == Member.id, LevelGift.kind == "birthday",
                                      LevelGift.business_key == "birthday:" + Member.id.cast(String) + f":{today.year}")
    return list(db.session.scalars(
        select(Member.id).join(Level, Level.id == Member.level_id)
        .where(extract("month", Member.birthday) == today.month, Member.status == "active", Member.id > after_id,
               (Level.birthday_points > 0) | Level.birthday_pack_id.is_not(None), ~paid.exists())
        .order_by(Member.id).limit(BATCH)))
