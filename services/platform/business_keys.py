"""Business keys make every cause count once: a repeat returns the first entry, a mismatch is a 409."""
import secrets

from sqlalchemy import bindparam, select

from models import db
from services.platform import clock
from services.platform.db import execute_prebuilt
from services.platform.errors import Conflict


def serial_number(prefix: str = "") -> str:
    """A new order number: the local time to the second and 48 random bits (32 characters at most)."""
    return prefix + clock.local().strftime("%Y%m%d%H%M%S") + secrets.token_hex(6).upper()


def replay(model, business_key: str, member_id: int, delta: int | None = None):
    """The entry already recorded under `business_key`, if any; a 409 if it records something else."""
    entry_id = replayed_id(model, business_key, member_id, delta)
    return db.session.get(model, entry_id) if entry_id is not None else None


_RECORDED = {}  # model -> the prebuilt statement of replayed_id


def replayed_id(model, business_key: str, member_id: int, delta: int | None = None) -> int | None:
    """The id of the entry already recorded under `business_key`, if any (`delta` None: any amount);
    a 409 if it records something else. One prebuilt statement (services.platform.db.run)."""
    if model not in _RECORDED:
        table = model.__table__
        _RECORDED[model] = select(table.c.id, table.c.member_id, table.c.delta).where(
            table.c.business_key == bindparam("key"))
    row = execute_prebuilt(_RECORDED[model], key=business_key).one_or_none()
    if row is not None and (row.member_id != member_id or delta not in (None, row.delta)):
        raise key_conflict(business_key)
    return row.id if row is not None else None


def key_conflict(business_key: str) -> Conflict:
    return Conflict("That business key was already used for a different movement.", code="idempotency_conflict",
                    details={"business_key": business_key})
