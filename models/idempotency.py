from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models import db


class IdempotencyRecord(db.Model):
    """The first response to a client's Idempotency-Key, replayed for its retries."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("principal", "key", name="uq_idempotency_record_principal_key"),
                      Index("ix_idempotency_record_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response: Mapped[dict | None]
    created_at: Mapped[datetime]
    # a request in flight holds the key until then; a request that died lets a retry take it over after
    lease_until: Mapped[datetime | None]
    # set in the transaction of the request's first committed work: a request that died after it is never
    # run again by a retry (services.platform.db.transaction)
    work_committed_at: Mapped[datetime | None]
