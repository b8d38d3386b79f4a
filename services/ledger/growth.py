"""The growth-value ledger: earn-only, lowered only by reversing its own entries; moves levels up.

Like the points ledger, every change holds the member row's lock (services.platform.lock_order)
before the growth account's, so a level is always compared and changed on the locked member."""
from sqlalchemy import bindparam, func, select, update

from models import GrowthAccount, GrowthEntry, db
from services.levels import levels
from services.platform.lock_order import lock_member
from services.platform import business_keys, clock
from services.platform.db import execute_prebuilt, expire_loaded, insert_once, lock_one
from services.platform.errors import NotFound


def earn(member_id: int, amount: int, *, reason: str, business_key: str, reference: str | None = None) -> int:
    """Add growth value; the member levels up in the same transaction. The entry's id.

    Like points.earn, in prebuilt statements: the credit (the lock) first, then the entry, once per key.
    """
    if not isinstance(amount, int) or amount <= 0:
        raise ValueError("growth amounts are positive integers")
    lock_member(member_id).require_active()
    total, reached_id = _credit(member_id, amount)
    entry_id = insert_once(GrowthEntry.__table__, member_id=member_id, delta=amount, total_after=total, kind="earn",
                           reason=reason, reference=reference, business_key=business_key, created_at=clock.now())
    if entry_id is None:  # a repeat changes nothing (and a different amount under the key is a 409)
        _credit(member_id, -amount)
        return business_keys.replayed_id(GrowthEntry, business_key, member_id, amount)
    levels.follow_growth(member_id, total, entry_id, reached_id=reached_id, cause=reason)
    return entry_id


_accounts = GrowthAccount.__table__
# the new total and the level that total reaches (levels.follow_growth);
# SQLite writes RETURNING's column names unqualified: `total` is growth_account's, as level has none
_CREDIT = (update(_accounts).where(_accounts.c.member_id == bindparam("member"))
           .values(total=_accounts.c.total + bindparam("amount"), lifetime=_accounts.c.lifetime + bindparam("amount"))
           .returning(_accounts.c.total, levels.reached_level_column(_accounts.c.total)))


def _credit(member_id: int, amount: int) -> tuple[int, int | None]:
    credited = execute_prebuilt(_CREDIT, member=member_id, amount=amount).one_or_none()
    if credited is None:
        raise NotFound("No such member.")
    expire_loaded(GrowthAccount, member_id)
    return tuple(credited)


def reverse(original_key: str, *, business_key: str, amount: int | None = None,
            reason: str = "reversal") -> GrowthEntry | None:
    """Take back (part of) a growth earn. None if nothing is left. The level stays: only an evaluation
    lowers it, as the level policy says (services.levels.evaluation)."""
    original = db.session.scalar(select(GrowthEntry).where(GrowthEntry.business_key == original_key))
    if original is None or original.kind != "earn":
        raise NotFound("No growth earn with that business key.")
    lock_member(original.member_id)
    account = _lock_account(original.member_id)
    reversed_so_far = -db.session.scalar(select(func.coalesce(func.sum(GrowthEntry.delta), 0)).where(
        GrowthEntry.reverses_id == original.id))
    wanted = min(original.delta - reversed_so_far, account.total)
    if amount is not None:
        wanted = min(wanted, amount)
    if replay := business_keys.replay(GrowthEntry, business_key, original.member_id):
        return replay
    if wanted <= 0:
        return None
    return _record(account, -wanted, kind="reverse", reason=reason, reference=original.reference,
                   business_key=business_key, reverses_id=original.id)


def _lock_account(member_id: int) -> GrowthAccount:
    account = lock_one(select(GrowthAccount).where(GrowthAccount.member_id == member_id))
    if account is None:
        raise NotFound("No such member.")
    return account


def _record(account: GrowthAccount, delta: int, **fields) -> GrowthEntry:
    account.total += delta
    entry = GrowthEntry(member_id=account.member_id, delta=delta, total_after=account.total,
                        created_at=clock.now(), **fields)
    db.session.add(entry)
    db.session.flush()
    return entry
