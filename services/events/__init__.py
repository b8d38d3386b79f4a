"""Member events (paid, signed in, bound a phone…): what every area emits into, inside its own
transaction, recorded once each under a business key and never deleted. The task centre counts
progress from them; the daily figures read them.

Other areas may call: emit (inside their transaction, a type listed in types.EVENT_TYPES);
types.EVENT_TYPES, types.CLIENT_TYPES (the types the mini-program may report itself).
"""
from models import MemberEvent
from services.events.types import EVENT_TYPES
from services.platform import clock
from services.platform.areas import wiring
from services.platform.db import insert_once

def emit(member_id: int, type_: str, *, business_key: str, reference: str | None = None,
         payload: dict | None = None) -> bool:
    """Record an event inside the caller's transaction; the same business key records nothing more.
    True if this call recorded it (then the `event_followers` have followed it)."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown member event type {type_!r} (services/events/types.py lists them)")
    if insert_once(MemberEvent.__table__, member_id=member_id, type=type_, business_key=business_key,
                   reference=reference, payload=payload, occurred_at=clock.now()) is None:
        return False
    for follow in wiring().event_followers.values():  # higher areas react in this transaction (invites)
        follow(member_id, type_, business_key=business_key, reference=reference, payload=payload)
    return True
