"""Member events (paid, signed in, bound a phone…), recorded once each for the task centre."""
from sqlalchemy import select

from models import MemberEvent, db
from services import clock


def emit(member_id: int, type_: str, *, business_key: str, reference: str | None = None,
         payload: dict | None = None) -> MemberEvent:
    """Record an event inside the caller's transaction; the same business key records nothing more."""
    event = db.session.scalar(select(MemberEvent).where(MemberEvent.business_key == business_key))
    if event is None:
        event = MemberEvent(member_id=member_id, type=type_, business_key=business_key, reference=reference,
                            payload=payload, occurred_at=clock.now())
        db.session.add(event)
        db.session.flush()
    return event
