"""Member events (paid, signed in, bound a phone…): what every area emits into, inside its own
transaction, recorded once each under a business key and never deleted. The task centre counts
progress from them; the daily figures read them.

Other areas may call: emit (inside their transaction, a type listed in types.EVENT_TYPES);
types.EVENT_TYPES, types.CLIENT_TYPES (the types the mini-program may report itself).
"""
from sqlalchemy import insert

from models import MemberEvent
from services.events.types import EVENT_TYPES
from services.platform import clock, round_trips
from services.platform.areas import wiring
from services.platform.db import insert_once

_INSERT = insert(MemberEvent.__table__)


def emit(member_id: int, type_: str, *, business_key: str, reference: str | None = None,
         payload: dict | None = None, new_key: bool = False) -> bool:
    """Record an event inside the caller's transaction; the same business key records nothing more.
    True if this call recorded it (then the `event_followers` have followed it). `new_key`: the caller's
    own unique row makes the key new, and the insert waits for the transaction's next round trip."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown member event type {type_!r} (services/events/types.py lists them)")
    event = dict(member_id=member_id, type=type_, business_key=business_key, reference=reference, payload=payload,
                 occurred_at=clock.now())
    if new_key:
        round_trips.later(_INSERT, **event)
    elif insert_once(MemberEvent.__table__, **event) is None:
        return False
    for follow in wiring().event_followers.values():  # higher areas react in this transaction (invites)
        follow(member_id, type_, business_key=business_key, reference=reference, payload=payload)
    return True
