"""POST /events: what the mini-program may report itself (share, browse goods, view an article):
only those types, each client_event_id once, capped per member, type and business day."""
from sqlalchemy import func, select

from models import MemberEvent, db
from services.platform.lock_order import lock_member
from services.platform import clock, ratelimit
from services.platform.db import transaction
from services.platform.errors import Conflict, InvalidRequest
from services import events
from services.events.types import CLIENT_TYPES, EVENT_TYPES

REPORTS_PER_MINUTE = 30


class LimitReached(Conflict):
    code = "limit_reached"


def report(member_id: int, *, type_: str, client_event_id: str, duration_s: int | None = None) -> bool:
    """Record a client's event; False when that client_event_id was seen before."""
    kind = EVENT_TYPES.get(type_)
    if kind is None or not kind.client:
        raise InvalidRequest("Clients may report only these event types.",
                             details={"type": [f"One of {', '.join(CLIENT_TYPES)}."]})
    if kind.min_duration_s and (duration_s or 0) < kind.min_duration_s:
        raise InvalidRequest(f"A {type_} counts after {kind.min_duration_s} seconds.",
                             details={"duration_s": [f"At least {kind.min_duration_s}."]})
    ratelimit.check("client-events", str(member_id), limit=REPORTS_PER_MINUTE, window=60)
    business_key = f"client:{member_id}:{client_event_id}"
    with transaction():
        lock_member(member_id)  # the day's count is counted under the member's lock
        if db.session.scalar(select(MemberEvent.id).where(MemberEvent.business_key == business_key)):
            return False
        if kind.daily_cap is not None and _today(member_id, type_) >= kind.daily_cap:
            raise LimitReached(f"{type_} counts {kind.daily_cap} times a day at most.",
                               details={"daily_cap": kind.daily_cap})
        return events.emit(member_id, type_, business_key=business_key, reference="client",
                           payload={"duration_s": duration_s} if duration_s is not None else None)


def _today(member_id: int, type_: str) -> int:
    return db.session.scalar(select(func.count()).select_from(MemberEvent).where(
        MemberEvent.member_id == member_id, MemberEvent.type == type_,
        MemberEvent.occurred_at >= clock.start_of_day(clock.today())))
