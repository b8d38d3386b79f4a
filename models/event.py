from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models import db


class MemberEvent(db.Model):
    """Something a member did (paid, signed in, bound a phone…), recorded once, for the task centre."""

    __tablename__ = "member_event"
    __table_args__ = (Index("ix_member_event_member_type", "member_id", "type", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    type: Mapped[str] = mapped_column(String(32))
    business_key: Mapped[str] = mapped_column(String(191), unique=True)
    reference: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[dict | None]
    occurred_at: Mapped[datetime]
