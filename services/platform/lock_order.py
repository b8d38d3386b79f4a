"""The member row lock, taken by every unit of work that moves a member's money or growth.

The lock order (DESIGN.md), the same everywhere so that two units of work on one member never wait
for each other in a circle: the business row that started the work (payment, refund, order), then
the member row (here), then the points account, the growth account, then lottery prizes, goods and
coupon templates, each in id order. The ledgers take the member lock themselves when their caller has not, before
their own account's, so a caller only has to lock its business row first. Counted limits (a rule's
uses per member, a task's claims) are counted while this lock is held.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from models import Member
from services.platform.db import for_update, transaction_scoped
from services.platform.round_trips import together
from services.platform.errors import MemberFrozen, NotFound, TokenRevoked

_members = Member.__table__
_LOCK = for_update(select(_members.c.id, _members.c.status, _members.c.level_id, _members.c.created_at,
                          _members.c.token_version).where(_members.c.id == bindparam("member")))
LOCKED = "locked_members"


@dataclass
class LockedMember:
    """The member row as of its lock; level_id follows the level changes of this transaction."""

    id: int
    status: str
    level_id: int | None
    created_at: datetime
    token_version: int

    def require_active(self) -> None:
        if self.status != "active":
            raise MemberFrozen()


def lock_member(member_id: int) -> LockedMember:
    """Lock the member's row for this transaction (once; later calls return the same record)."""
    return lock_member_and_read(member_id)[0]


def lock_member_and_read(member_id: int, *reads: tuple, token_version: int | None = None) -> tuple[LockedMember, list]:
    """lock_member, and the rows of `reads` ((statement, params) pairs) read right after the lock is
    granted, so they see whatever the transactions it waited for committed: one round trip.

    `token_version`: the version of the member's bearer token, checked against the locked row (a
    unit of work that locks the member anyway needs no other read to know the token is not revoked).
    """
    held = transaction_scoped(LOCKED)
    if (locked := held.get(member_id)) is not None:
        read = together(*reads) if reads else []
    else:
        rows, *read = together((_LOCK, {"member": member_id}), *reads)
        if not rows:
            raise NotFound("No such member.") if token_version is None else TokenRevoked()
        held[member_id] = locked = LockedMember(*rows[0])
    if token_version is not None and locked.token_version != token_version:
        raise TokenRevoked()
    return locked, read
