"""Idempotency-Key: the first successful response to a key is stored and replayed for retries."""
import hashlib

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from models import IdempotencyRecord, db
from services.platform import clock
from services.platform.db import transaction
from services.platform.errors import Conflict


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def begin(principal: str, key: str, print_: str) -> tuple[int | None, IdempotencyRecord | None]:
    """Claim the key: (record id, None) for a first request, (None, record) for a replay."""
    try:
        with transaction():
            record = IdempotencyRecord(principal=principal, key=key[:128], fingerprint=print_, created_at=clock.now())
            db.session.add(record)
        return record.id, None
    except IntegrityError:
        pass
    existing = db.session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.principal == principal, IdempotencyRecord.key == key[:128]))
    db.session.rollback()
    if existing is None:  # released between our insert and our read: treat as in flight
        raise Conflict("A request with this Idempotency-Key is in progress.", code="request_in_progress")
    if existing.fingerprint != print_:
        raise Conflict("This Idempotency-Key was used for a different request.", code="idempotency_conflict")
    if existing.status_code is None:
        raise Conflict("A request with this Idempotency-Key is in progress.", code="request_in_progress")
    return None, existing


def finish(record_id: int, status_code: int, response: dict) -> None:
    with transaction():
        record = db.session.get(IdempotencyRecord, record_id)
        record.status_code, record.response = status_code, response


def release(record_id: int) -> None:
    """Forget a key whose request failed, so that a retry runs again."""
    db.session.rollback()
    with transaction():
        db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
