"""Member events (paid, signed in, bound a phone…), recorded once each: what task progress is counted
from. Never deleted."""
from models import MemberEvent
from services.platform import clock
from services.platform.db import insert_once
from services.tasks.event_types import EVENT_TYPES


def emit(member_id: int, type_: str, *, business_key: str, reference: str | None = None,
         payload: dict | None = None) -> bool:
    """Record an event inside the caller's transaction; the same business key records nothing more.
    True if this call recorded it."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown member event type {type_!r} (services/tasks/event_types.py lists them)")
    return insert_once(MemberEvent.__table__, member_id=member_id, type=type_, business_key=business_key,
                       reference=reference, payload=payload, occurred_at=clock.now()) is not None
