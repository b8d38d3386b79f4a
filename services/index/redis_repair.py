"""Repairs of the Redis index after a write that could not reach Redis.

Redis writes follow the SQL commit, so they can fail with the data safely committed (Redis away,
a network blip). Reads trust the index without asking SQL, so a failed write is written down in SQL
(`redis_repair`) and what it touched is rebuilt from SQL once Redis answers again: by this process
before its next index read, by every other process within POLL_SECONDS (each looks at the table that
often, one small query), and by the worker's periodic job. Repairs only ever write what SQL says, with
the index's own never-go-backwards writes, so two processes repairing the same thing agree.

Each area declares how to repair its kinds (`repairers` in its AREA): fn(member_id) for a member's
keys or fn(None) for the whole area. The worker runs `repair_waiting` every minute (the index area's
periodic job).
"""
import logging
import time

from redis.exceptions import RedisError
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from models import RedisRepair, db
from services.platform import clock
from services.platform.areas import wiring
from services.platform.db import transaction

log = logging.getLogger(__name__)

POLL_SECONDS = 5
BATCH = 500
# this process's next look at the table (time.monotonic()), and whether one of its own writes failed:
# then it looks before every index read until a repair run gets through
_state = {"next_poll": 0.0, "own_failure": False}

def note(kind: str, member_id: int | None = None) -> None:
    """After a commit whose Redis write failed: remember in SQL what to rebuild. Never raises."""
    _state["own_failure"] = True
    try:
        with db.engine.begin() as conn:  # its own transaction: the caller's has committed already
            conn.execute(insert(RedisRepair).values(kind=kind, member_id=member_id, created_at=clock.now()))
    except SQLAlchemyError:
        log.exception("could not record a Redis repair (%s, member %s); rebuild-redis mends it", kind, member_id)


def run_if_due() -> None:
    """Run the waiting repairs if this process has not looked for POLL_SECONDS, or saw a write fail."""
    if time.monotonic() < _state["next_poll"] and not _state["own_failure"]:
        return
    _state["next_poll"] = time.monotonic() + POLL_SECONDS
    try:
        repair_waiting()
    except (RedisError, OSError):
        log.warning("Redis still away: repairs wait", exc_info=True)
    else:
        _state["own_failure"] = False


def repair_waiting() -> int:
    """Rebuild from SQL everything a failed write left stale; returns how many repairs were done."""
    done, repairers = 0, wiring().repairers
    while rows := db.session.execute(select(RedisRepair.id, RedisRepair.kind, RedisRepair.member_id)
                                     .order_by(RedisRepair.id).limit(BATCH)).all():
        db.session.rollback()  # the rebuilds below read SQL afresh
        for kind, member_id in dict.fromkeys((row.kind, row.member_id) for row in rows):
            repairers[kind](member_id)
        with transaction():
            db.session.execute(delete(RedisRepair).where(RedisRepair.id.in_([row.id for row in rows])))
        done += len(rows)
    return done


def last_id() -> int:
    """The newest waiting repair (rebuild-redis covers everything up to here once it is done)."""
    return db.session.scalar(select(RedisRepair.id).order_by(RedisRepair.id.desc()).limit(1)) or 0


def clear(up_to: int) -> None:
    """Forget the repairs up to `up_to`: a rebuild that began after they were written has covered them."""
    with transaction():
        db.session.execute(delete(RedisRepair).where(RedisRepair.id <= up_to))
