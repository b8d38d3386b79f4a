"""The growth-value ledger: earn-only, lowered only by reversing its own entries.

Like the points ledger, every change holds the member row's lock (services.platform.lock_order)
before the growth account's. What follows growth (levels) is contributed as a `Follower`
(`growth_followers`): the ledger knows no level."""
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from sqlalchemy import bindparam, func, insert, select, update

from models import GrowthAccount, GrowthEntry, db
from services.platform import business_keys, clock, round_trips
from services.platform.areas import wiring
from services.platform.db import execute_prebuilt, expire_loaded, insert_once, lock_one
from services.platform.errors import NotFound
from services.platform.lock_order import lock_member
from services.platform.pagination import page_where


def earn(member_id: int, amount: int, *, reason: str, business_key: str, reference: str | None = None,
         new_key: bool = False) -> int:
    """Add growth value; its followers (levels) follow in the same transaction. The entry's id.

    Like points.earn, in prebuilt statements: the credit (the lock) first, then the entry, once per key.
    `new_key` (as for points.earn): the caller's own unique row makes the key new, so the credit and
    the entry go in one round trip, with whatever writes wait for it.
    """
    if not isinstance(amount, int) or amount <= 0:
        raise ValueError("growth amounts are positive integers")
    lock_member(member_id).require_active()
    followers = tuple(wiring().growth_followers.values())
    entry = dict(member_id=member_id, delta=amount, kind="earn", reason=reason, reference=reference,
                 business_key=business_key, created_at=clock.now())
    if new_key:
        credited, inserted = round_trips.together(
            (_credit_statement(followers), {"member": member_id, "amount": amount}),
            (_INSERT_ENTRY_AFTER_CREDIT, {"owner": member_id, **entry}))
        (total, *returned), entry_id = credited[0], inserted[0][0]
        expire_loaded(GrowthAccount, member_id)
    else:
        total, *returned = _credit(member_id, amount, followers)
        entry_id = insert_once(GrowthEntry.__table__, total_after=total, **entry)
    if entry_id is None:  # a repeat changes nothing (and a different amount under the key is a 409)
        _credit(member_id, -amount, followers)
        return business_keys.replayed_id(GrowthEntry, business_key, member_id, amount)
    for follower, value in zip(followers, returned):
        follower.follow(member_id, total, entry_id, value, reason)
    return entry_id


@dataclass(frozen=True)
class Follower:
    """What follows a member's growth (contributed as `growth_followers`), inside the earning's transaction.

    `returning(total)`: an SQL expression on the new total that the credit statement returns with it
    (one round trip); `follow(member_id, total, entry_id, returned, reason)` then acts on both.
    """

    returning: Callable
    follow: Callable


_accounts = GrowthAccount.__table__
_entries = GrowthEntry.__table__
_INSERT_ENTRY_AFTER_CREDIT = insert(_entries).values(
    total_after=select(_accounts.c.total).where(_accounts.c.member_id == bindparam("owner")).scalar_subquery()
).returning(_entries.c.id)


@cache
def _credit_statement(followers: tuple[Follower, ...]):
    # SQLite writes RETURNING's column names unqualified: a follower's expression must not name `total`
    return (update(_accounts).where(_accounts.c.member_id == bindparam("member"))
            .values(total=_accounts.c.total + bindparam("amount"), lifetime=_accounts.c.lifetime + bindparam("amount"))
            .returning(_accounts.c.total, *(follower.returning(_accounts.c.total) for follower in followers)))


def _credit(member_id: int, amount: int, followers: tuple[Follower, ...]) -> tuple:
    """The new total, then what each follower's `returning` expression gave."""
    credited = execute_prebuilt(_credit_statement(followers), member=member_id, amount=amount).one_or_none()
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


def find_entries(member_id: int, *, limit: int, cursor: str | None) -> dict:
    """The member's growth entries, newest first (an operator's view of the ledger)."""
    return page_where(GrowthEntry, limit=limit, cursor=cursor, member_id=member_id)
