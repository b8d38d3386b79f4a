"""Subscribe-message grants, the outbox written in business transactions, and every send attempt."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models import db


class SubscriptionGrant(db.Model):
    """How many sends a member has left of one subscribe template: one accepted request = one send."""

    __tablename__ = "subscription_grant"
    __table_args__ = (
        CheckConstraint("grants >= 0", name="grants"),
        UniqueConstraint("member_id", "template_id", name="uq_subscription_grant_member_id_template_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    template_key: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(64))
    grants: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]


class OutboxMessage(db.Model):
    """A subscribe message to send: written with the business change, sent by a worker after the commit."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'dropped', 'failed')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_outbox_message_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    template_key: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict]
    page: Mapped[str | None] = mapped_column(String(256))
    business_key: Mapped[str] = mapped_column(String(191), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_errcode: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class MessageAttempt(db.Model):
    """One try at sending an outbox message, whatever came of it."""

    __tablename__ = "message_attempt"
    __table_args__ = (
        CheckConstraint("outcome IN ('sent', 'retry', 'dropped', 'failed')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id"), index=True)
    attempted_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    errcode: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(256))
