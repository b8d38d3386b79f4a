"""The points ledger: earn, spend, hold / post / release, reverse, expire.

Every function takes a business key: a repeat with the same key returns the first result and
changes nothing; the same key with a different amount is a 409. Each change locks the member row
(services.platform.lock_order, unless the caller has) and then the member's account row (so lots and
holds of one member are only ever touched under those locks), and only flushes: the caller's
transaction (services.platform.db.transaction) commits the whole unit of work.
"""
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, case, func, insert, or_, select, update

from models import PointsAccount, PointsAllocation, PointsEntry, PointsHold, PointsLot, db
from services.leaderboards import leaderboards
from services.platform.lock_order import lock_member
from services.platform import business_keys, clock, round_trips
from services.platform.db import execute_prebuilt, expire_loaded, get_row, insert_once, lock_one, transaction
from services.platform.errors import Conflict, InsufficientPoints, NotFound
from services.platform.pagination import page
from services.platform.progress import with_progress_bar

DRAW_BATCH = 50


def earn(member_id: int, amount: int, *, reason: str, business_key: str, reference: str | None = None,
         expires_at: datetime | None = None, new_key: bool = False) -> int | None:
    """Credit points as a new lot expiring by the configured policy (or `expires_at`); the entry's id.

    The hottest write of the service (every sign-in, every payment), in prebuilt statements: the
    credit locks the account, and only then is the entry inserted, once per business key, so that
    a parallel repeat finds the first one's entry once it has waited for the lock.

    `new_key`: the caller holds what makes the business key new (its own unique row, under the
    member's lock): the three writes wait for the transaction's next round trip (round_trips.later)
    and no id is returned.
    """
    _require_positive(amount)
    lock_member(member_id).require_active()
    now = clock.now()
    expires_at = expires_at or expiry_for(now)
    entry = dict(member_id=member_id, delta=amount, kind="earn", reason=reason, reference=reference,
                 business_key=business_key, expires_at=expires_at, created_at=now)
    if new_key:
        round_trips.later(_CREDIT_LATER, member=member_id, amount=amount)
        round_trips.later(_INSERT_ENTRY_AFTER_CREDIT, owner=member_id, **entry)
        round_trips.later(_INSERT_LOT_OF_KEY, key=business_key)
        expire_loaded(PointsAccount, member_id)
        leaderboards.note_points_earned(member_id, amount, at=now)
        return None
    balance = _credit(member_id, amount)
    entry_id = insert_once(PointsEntry.__table__, balance_after=balance, **entry)
    if entry_id is None:  # a repeat changes nothing (and a different amount under the key is a 409)
        _credit(member_id, -amount)
        return business_keys.replayed_id(PointsEntry, business_key, member_id, amount)
    execute_prebuilt(_INSERT_LOT, member_id=member_id, entry_id=entry_id, amount=amount, remaining=amount, expires_at=expires_at)
    leaderboards.note_points_earned(member_id, amount, at=now)
    return entry_id


_accounts = PointsAccount.__table__
_CREDIT_LATER = (update(_accounts)
                 .where(_accounts.c.member_id == bindparam("member"))
                 .values(balance=_accounts.c.balance + bindparam("amount"),
                         lifetime_earned=_accounts.c.lifetime_earned + bindparam("amount")))
_CREDIT = _CREDIT_LATER.returning(_accounts.c.balance)
_INSERT_LOT = insert(PointsLot.__table__)
_entries = PointsEntry.__table__
# the entry and its lot without a round trip in between: the balance and the entry's id read in SQL
_INSERT_ENTRY_AFTER_CREDIT = insert(_entries).values(
    balance_after=select(_accounts.c.balance).where(_accounts.c.member_id == bindparam("owner")).scalar_subquery())
_INSERT_LOT_OF_KEY = insert(PointsLot.__table__).from_select(
    ["member_id", "entry_id", "amount", "remaining", "expires_at"],
    select(_entries.c.member_id, _entries.c.id, _entries.c.delta, _entries.c.delta, _entries.c.expires_at)
    .where(_entries.c.business_key == bindparam("key")))


def _credit(member_id: int, amount: int) -> int:
    """Add to the member's balance and lifetime earnings (locking the account); the new balance."""
    balance = execute_prebuilt(_CREDIT, member=member_id, amount=amount).scalar()
    if balance is None:
        raise NotFound("No such member.")
    expire_loaded(PointsAccount, member_id)
    return balance


def spend(member_id: int, amount: int, *, reason: str, business_key: str,
          reference: str | None = None, frozen_too: bool = False) -> PointsEntry:
    """Debit available points, drawing from the lots that expire first. Only an operator's debit
    (`frozen_too`) reaches a frozen member's points."""
    _require_positive(amount)
    locked = lock_member(member_id)
    if not frozen_too:
        locked.require_active()
    account = _lock_account(member_id)
    if replay := _replay(business_key, member_id, -amount):
        return replay
    _require_available(account, amount)
    return _debit(account, amount, reason=reason, reference=reference, business_key=business_key,
                  lots="unexpired")


def hold(member_id: int, amount: int, *, reason: str, business_key: str,
         reference: str | None = None) -> PointsHold:
    """Freeze points for an unpaid order: still in the balance, no longer available."""
    _require_positive(amount)
    lock_member(member_id).require_active()
    account = _lock_account(member_id)
    existing = db.session.scalar(select(PointsHold).where(PointsHold.business_key == business_key))
    if existing is not None:
        if (existing.member_id, existing.amount) != (member_id, amount):
            raise business_keys.key_conflict(business_key)
        return existing
    _require_available(account, amount)
    account.frozen += amount
    held = PointsHold(member_id=member_id, amount=amount, status="open", reason=reason, reference=reference,
                      business_key=business_key, created_at=clock.now())
    db.session.add(held)
    db.session.flush()
    return held


def post(hold_key: str, *, business_key: str) -> PointsEntry:
    """Spend what a hold froze (the payment arrived)."""
    held, account = _lock_hold(hold_key)
    if replay := _replay(business_key, held.member_id, -held.amount):
        return replay
    if held.status != "open":
        raise Conflict(f"The hold is already {held.status}.", code="hold_settled")
    account.frozen -= held.amount
    _settle(held, "posted")
    return _debit(account, held.amount, reason=held.reason, reference=held.reference,
                  business_key=business_key, hold_id=held.id)


def release(hold_key: str) -> PointsHold:
    """Give frozen points back to the available balance (time-out or cancellation); repeatable."""
    held, account = _lock_hold(hold_key)
    if held.status == "released":
        return held
    if held.status == "posted":
        raise Conflict("The hold was already spent.", code="hold_settled")
    account.frozen -= held.amount
    _settle(held, "released")
    return held


def reverse(original_key: str, *, business_key: str, amount: int | None = None,
            reason: str = "reversal") -> PointsEntry | None:
    """Undo (part of) an earn or a spend with a reversing entry; never an edit.

    A spend's points go back to the lots they came from. An earn is clawed back from what is
    available, its own lot first; what the member has already spent is not taken (the balance never
    goes negative) and the shortfall is kept in the entry's meta, even when it is all of it. Returns None
    if the entry was already wholly reversed.
    """
    if amount is not None:
        _require_positive(amount)
    original = db.session.scalar(select(PointsEntry).where(PointsEntry.business_key == original_key))
    if original is None or original.kind not in ("earn", "spend"):
        raise NotFound("No earn or spend entry with that business key.")
    lock_member(original.member_id)
    account = _lock_account(original.member_id)
    existing = db.session.scalar(select(PointsEntry).where(PointsEntry.business_key == business_key))
    if existing is not None:
        if existing.reverses_id != original.id or (existing.meta or {}).get("requested") != amount:
            raise business_keys.key_conflict(business_key)
        return existing
    left = abs(original.delta) - _reversed_so_far(original)
    if left <= 0:
        return None
    wanted = left if amount is None else min(amount, left)
    if original.kind == "earn":
        wanted = min(wanted, _available(account))
    # recorded even when nothing could be clawed back, so that a retry later takes nothing either
    meta = {"requested": amount, "shortfall": min(amount or left, left) - wanted}
    if original.kind == "spend":
        return _credit_back(account, original, wanted, reason=reason, business_key=business_key, meta=meta)
    account.lifetime_earned -= wanted
    return _debit(account, wanted, reason=reason, reference=original.reference, business_key=business_key,
                  kind="reverse", reverses_id=original.id, first_lot_of=original.id, meta=meta, lots="unexpired")


def expire_lot(lot_id: int) -> PointsEntry | None:
    """Expire what is left of a due lot, never touching points frozen by an open hold."""
    lot = get_row(PointsLot, lot_id, missing="No such lot.")
    lock_member(lot.member_id)
    account = _lock_account(lot.member_id)
    db.session.refresh(lot)
    amount = min(lot.remaining, account.balance - account.frozen)
    if lot.expires_at is None or lot.expires_at > clock.now() or amount <= 0:
        return None
    earlier = db.session.scalar(select(func.count()).select_from(PointsAllocation).join(PointsEntry).where(
        PointsAllocation.lot_id == lot.id, PointsEntry.kind == "expire"))
    entry = _record(account, -amount, kind="expire", reason="expired", reference=f"lot:{lot.id}",
                    business_key=f"expire:{lot.id}:{earlier}")
    _allocate(entry, lot, amount)
    account.lifetime_expired += amount
    return entry


def expire_due(progress=None) -> tuple[int, int]:
    """Expire every due lot, one transaction each; (lots expired, points expired)."""
    lots = expired = last_id = 0
    while ids := due_lot_ids(after_id=last_id):
        with with_progress_bar(progress, ids) as batch:
            for lot_id in batch:
                with transaction():
                    entry = expire_lot(lot_id)
                if entry:
                    lots, expired = lots + 1, expired - entry.delta
        last_id = ids[-1]
    return lots, expired


def due_lot_ids(*, after_id: int = 0, limit: int = 500) -> list[int]:
    """Lots past their expiry that still hold points, in id order after `after_id`."""
    return list(db.session.scalars(
        select(PointsLot.id).where(PointsLot.expires_at <= clock.now(), PointsLot.remaining > 0,
                                   PointsLot.id > after_id).order_by(PointsLot.id).limit(limit)))


def expiry_for(earned_at: datetime) -> datetime | None:
    """When points earned at `earned_at` expire, by POINTS_EXPIRY ('year_after_next', 'days:N', 'never')."""
    policy = current_app.config["POINTS_EXPIRY"]
    if policy == "never":
        return None
    if policy.startswith("days:"):
        return earned_at + timedelta(days=int(policy.split(":", 1)[1]))
    # the end of the year after next: the first instant of the year after that
    return clock.start_of_day(date(clock.local(earned_at).year + 3, 1, 1))


# -- helpers: they flush, never commit ---------------------------------------------------------

def _require_positive(amount: int) -> None:
    if not isinstance(amount, int) or amount <= 0:
        raise ValueError("points amounts are positive integers")


def _require_available(account: PointsAccount, amount: int) -> None:
    available = _available(account)
    if amount > available:
        raise InsufficientPoints(details={"available": available, "required": amount})


def _available(account: PointsAccount) -> int:
    """What the member may spend now: the balance less what holds froze and what lots past their
    expiry still hold (the expiry job takes that, but it is not spendable even before it runs)."""
    return _spendable(account.balance, account.frozen, _expired_but_held(account.member_id))


def _spendable(balance: int, frozen: int, expired_but_held: int) -> int:
    return max(balance - frozen - expired_but_held, 0)


_lots = PointsLot.__table__
_EXPIRED_BUT_HELD = select(func.coalesce(func.sum(_lots.c.remaining), 0)).where(
    _lots.c.member_id == bindparam("member"), _lots.c.remaining > 0, _lots.c.expires_at <= bindparam("now"))
# the account's figures and what its lots past their expiry hold, in one statement (summary)
_FIGURES = select(_accounts.c.balance, _accounts.c.frozen, _EXPIRED_BUT_HELD.scalar_subquery()).where(
    _accounts.c.member_id == bindparam("member"))


# the soonest expiries still holding points (summary)
_EXPIRING = (select(_lots.c.expires_at, func.sum(_lots.c.remaining))
             .where(_lots.c.member_id == bindparam("member"), _lots.c.remaining > 0, _lots.c.expires_at > bindparam("now"))
             .group_by(_lots.c.expires_at).order_by(_lots.c.expires_at).limit(bindparam("limit")))


def _expired_but_held(member_id: int) -> int:
    return execute_prebuilt(_EXPIRED_BUT_HELD, member=member_id, now=clock.now()).scalar()


def _lock_account(member_id: int) -> PointsAccount:
    """The member's account, locked (after the member row: the caller has locked it)."""
    account = lock_one(select(PointsAccount).where(PointsAccount.member_id == member_id))
    if account is None:
        raise NotFound("No such member.")
    return account


def _lock_hold(hold_key: str) -> tuple[PointsHold, PointsAccount]:
    held = db.session.scalar(select(PointsHold).where(PointsHold.business_key == hold_key))
    if held is None:
        raise NotFound("No hold with that business key.")
    lock_member(held.member_id)
    account = _lock_account(held.member_id)
    db.session.refresh(held)  # its status as of the lock, not as of the first read
    return held, account


def _settle(held: PointsHold, status: str) -> None:
    held.status, held.settled_at = status, clock.now()


def _replay(business_key: str, member_id: int, delta: int) -> PointsEntry | None:
    return business_keys.replay(PointsEntry, business_key, member_id, delta)


def _record(account: PointsAccount, delta: int, *, kind: str, reason: str, reference: str | None,
            business_key: str, **fields) -> PointsEntry:
    account.balance += delta
    entry = PointsEntry(member_id=account.member_id, delta=delta, kind=kind, reason=reason, reference=reference,
                        business_key=business_key, balance_after=account.balance, created_at=clock.now(), **fields)
    db.session.add(entry)
    db.session.flush()
    return entry


def _debit(account: PointsAccount, amount: int, *, kind: str = "spend", first_lot_of: int | None = None,
           lots: str = "any", **fields) -> PointsEntry:
    if kind == "spend":
        account.lifetime_spent += amount
    entry = _record(account, -amount, kind=kind, **fields)
    _draw(entry, amount, first_lot_of=first_lot_of, unexpired_only=lots == "unexpired")
    return entry


def _draw(entry: PointsEntry, amount: int, *, first_lot_of: int | None, unexpired_only: bool) -> None:
    """Take `amount` from the member's lots, soonest expiry first (the lot of `first_lot_of` before all).
    A spend takes only lots not yet past their expiry; posting a hold may take any (expiry never takes
    what a hold froze, so those points wait in lots past their expiry)."""
    order = [PointsLot.expires_at.asc().nulls_last(), PointsLot.id]
    if first_lot_of is not None:
        order.insert(0, case((PointsLot.entry_id == first_lot_of, 0), else_=1))
    where = [PointsLot.member_id == entry.member_id, PointsLot.remaining > 0]
    if unexpired_only:
        where.append(or_(PointsLot.expires_at.is_(None), PointsLot.expires_at > clock.now()))
    while amount > 0:
        lots = db.session.scalars(select(PointsLot).where(*where).order_by(*order).limit(DRAW_BATCH)).all()
        if not lots:
            raise RuntimeError(f"lots of member {entry.member_id} hold less than the balance")
        for lot in lots:
            taken = min(lot.remaining, amount)
            _allocate(entry, lot, taken)
            amount -= taken
            if amount == 0:
                break
        db.session.flush()


def _allocate(entry: PointsEntry, lot: PointsLot, amount: int) -> None:
    lot.remaining -= amount
    db.session.add(PointsAllocation(entry_id=entry.id, lot_id=lot.id, amount=amount))


def _reversed_so_far(original: PointsEntry) -> int:
    total = db.session.scalar(select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
        PointsEntry.reverses_id == original.id))
    return abs(total)


def _credit_back(account: PointsAccount, original: PointsEntry, amount: int, **fields) -> PointsEntry:
    """Return a spend's points to the lots it drew from, those expiring last first."""
    account.lifetime_spent -= amount
    entry = _record(account, amount, kind="reverse", reference=original.reference, reverses_id=original.id, **fields)
    reversals = select(PointsEntry.id).where(PointsEntry.reverses_id == original.id).scalar_subquery()
    per_lot = db.session.execute(
        select(PointsLot, func.sum(PointsAllocation.amount))
        .join(PointsAllocation, PointsAllocation.lot_id == PointsLot.id)
        .where((PointsAllocation.entry_id == original.id) | PointsAllocation.entry_id.in_(reversals))
        .group_by(PointsLot.id)
        .order_by(PointsLot.expires_at.desc().nulls_first(), PointsLot.id.desc())).all()
    for lot, outstanding in per_lot:
        returned = min(outstanding, amount)
        if returned > 0:
            _allocate(entry, lot, -returned)
            amount -= returned
    if amount:
        raise RuntimeError(f"entry {original.id} drew less than it spent")
    return entry


# -- reads --------------------------------------------------------------------------------------

def summary(member_id: int, *, expiring_limit: int = 3) -> dict:
    """Balance, frozen, available, and the soonest expiries still holding points (past ones are not
    available, even before the expiry job takes them)."""
    return round_trips.read(summary_read(member_id, expiring_limit=expiring_limit))[0]


def summary_read(member_id: int, *, expiring_limit: int = 3) -> round_trips.Read:
    """summary() as a read, to go in one round trip with other areas' (GET /me)."""
    now = clock.now()
    calls = [(_FIGURES, {"member": member_id, "now": now})]
    if expiring_limit:
        calls.append((_EXPIRING, {"member": member_id, "now": now, "limit": expiring_limit}))
    return round_trips.Read(tuple(calls), _summary)


def _summary(figures: list, expiring: list = ()) -> dict:
    if not figures:
        raise NotFound("No such member.")
    balance, frozen, expired_but_held = figures[0]
    return {
        "balance": balance,
        "frozen": frozen,
        "available": _spendable(balance, frozen, expired_but_held),
        "expiring": [{"points": int(amount), "expires_at": at} for at, amount in expiring],
    }


def find_entries(member_id: int, *, limit: int, cursor: str | None) -> dict:
    """The member's entries, newest first."""
    stmt = select(PointsEntry).where(PointsEntry.member_id == member_id)
    return page(db.session, stmt, id_column=PointsEntry.id, limit=limit, cursor=cursor)

