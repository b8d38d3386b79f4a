from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column


class LedgerEntryMixin:
    """What every ledger entry has: who, how much, why, and the business key that makes it count once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    delta: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(String(128))
    business_key: Mapped[str] = mapped_column(String(191), unique=True)
    created_at: Mapped[datetime]
