"""Redis writes that could not be made after their commit: what to rebuild from SQL once Redis answers."""
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models import db


class RedisRepair(db.Model):
    """One part of the Redis index that may be stale: a member's keys, or a whole area's."""

    __tablename__ = "redis_repair"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int | None]
    created_at: Mapped[datetime]
