"""Business keys make every cause count once: a repeat returns the first entry, a mismatch is a 409."""
from sqlalchemy import select

from models import db
from services.errors import Conflict


def replay(model, business_key: str, member_id: int, delta: int | None = None):
    """The entry already recorded under `business_key`, if any; a 409 if it records something else."""
    entry = db.session.scalar(select(model).where(model.business_key == business_key))
    if entry is not None and (entry.member_id != member_id or delta not in (None, entry.delta)):
        raise key_conflict(business_key)
    return entry


def key_conflict(business_key: str) -> Conflict:
    return Conflict("That business key was already used for a different movement.", code="idempotency_conflict",
                    details={"business_key": business_key})
