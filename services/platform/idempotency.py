"""Idempotency-Key: the first answer to a caller's key is stored and replayed for its retries.

A request claims its key with a lease (IDEMPOTENCY_LEASE_SECONDS): a retry while it runs is told
409 request_in_progress; a request that died leaves a lease that expires, and the next retry takes
the key over, unless the request committed work before it died: the first transaction of its work also
marks the key (services.platform.db.transaction), and such a key answers 409 `request_completed`
instead of running the work a second time. Answers are stored whatever their status, except those
that left nothing behind and ask to be retried (429, 500, 503). Keys are pruned after IDEMPOTENCY_KEEP_DAYS (a periodic job).
"""
import hashlib
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from models import IdempotencyRecord, db
from services.platform import clock
from services.platform.db import KEYED_REQUEST, transaction
from services.platform.errors import Conflict

# 401: a token refused inside the work (its version checked under the member's lock) is not an answer to
# replay: signed in again, the client retries with the same key
NOT_STORED = (401, 429, 500, 503)


class RequestInProgress(Conflict):
    code, message = "request_in_progress", "A request with this Idempotency-Key is in progress."


class RequestCompleted(Conflict):
    code = "request_completed"
    message = ("The request with this Idempotency-Key did its work, but its answer was lost: read the result "
               "(your orders, draws or payments) instead of retrying.")


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def claim(principal: str, key: str, print_: str) -> tuple[int | None, object | None]:
    """Claim the key: (record id, None) when this request is to run, (None, the stored answer: a row with
    status_code and response) for a replay."""
    now = clock.now()
    lease = now + timedelta(seconds=current_app.config["IDEMPOTENCY_LEASE_SECONDS"])
    try:
        with transaction():
            record = IdempotencyRecord(principal=principal, key=key, fingerprint=print_, created_at=now,
                                       lease_until=lease)
            db.session.add(record)
        return record.id, None
    except IntegrityError:
        pass
    existing = db.session.execute(select(
        IdempotencyRecord.id, IdempotencyRecord.fingerprint, IdempotencyRecord.status_code,
        IdempotencyRecord.response, IdempotencyRecord.lease_until, IdempotencyRecord.work_committed_at).where(
        IdempotencyRecord.principal == principal, IdempotencyRecord.key == key)).one_or_none()
    db.session.rollback()
    if existing is None:  # released between our insert and our read: in flight as far as we know
        raise RequestInProgress()
    if existing.fingerprint != print_:
        raise Conflict("This Idempotency-Key was used for a different request.", code="idempotency_conflict")
    if existing.status_code is not None:
        return None, existing
    if existing.work_committed_at is not None and existing.lease_until <= now:
        raise RequestCompleted()
    if _take_over(existing.id, now, lease):
        return existing.id, None
    raise RequestInProgress(details={"retry_after_seconds": max(int((existing.lease_until - now).total_seconds()), 1)})


@contextmanager
def keyed(record_id: int):
    """While the request's view runs: the first transaction that commits its work marks the key."""
    db.session.info[KEYED_REQUEST] = record_id
    try:
        yield
    finally:
        db.session.info.pop(KEYED_REQUEST, None)


def _take_over(record_id: int, now, lease) -> bool:
    """Take the key of a request whose lease ran out (it died); only one retry wins."""
    with transaction():
        taken = db.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id, IdempotencyRecord.status_code.is_(None),
                   IdempotencyRecord.lease_until <= now)
            .values(lease_until=lease).execution_options(synchronize_session=False))
    return taken.rowcount == 1


def finish(record_id: int, status_code: int, response: dict | None) -> None:
    """Store the answer to replay; one that asks for a retry (NOT_STORED) frees the key instead."""
    db.session.rollback()
    with transaction():
        if status_code in NOT_STORED:  # unless work was committed: then retries are told so
            db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id,
                                                               IdempotencyRecord.work_committed_at.is_(None)))
            db.session.execute(update(IdempotencyRecord).where(IdempotencyRecord.id == record_id).values(
                lease_until=clock.now()).execution_options(synchronize_session=False))
            return
        db.session.execute(update(IdempotencyRecord).where(IdempotencyRecord.id == record_id).values(
            status_code=status_code, response=response, lease_until=None).execution_options(synchronize_session=False))


def prune(batch: int = 1000) -> int:
    """Forget the keys older than IDEMPOTENCY_KEEP_DAYS (the periodic job); how many."""
    cutoff = clock.now() - timedelta(days=current_app.config["IDEMPOTENCY_KEEP_DAYS"])
    pruned = 0
    while ids := list(db.session.scalars(select(IdempotencyRecord.id).where(IdempotencyRecord.created_at < cutoff)
                                         .order_by(IdempotencyRecord.id).limit(batch))):
        with transaction():
            db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(ids)))
        pruned += len(ids)
    return pruned
