from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models import db

MEMBER_STATUSES = ("active", "frozen")


class Member(db.Model):
    __tablename__ = "member"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'frozen')", name="status"),
        CheckConstraint("gender IN (0, 1, 2)", name="gender"),
        Index("ix_member_created_at", "created_at"),  # the daily figures' new members
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    nickname: Mapped[str] = mapped_column(String(64), default="")
    avatar_url: Mapped[str] = mapped_column(String(512), default="")
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    birthday: Mapped[date | None]
    gender: Mapped[int] = mapped_column(default=0)
    level_id: Mapped[int | None] = mapped_column(ForeignKey("level.id"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    token_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
