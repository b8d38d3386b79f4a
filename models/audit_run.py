"""Each run of audit-ledger: when, what it found, and the liability it saw (the last one is a metric)."""
from datetime import datetime

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from models import db


class AuditRun(db.Model):
    __tablename__ = "audit_run"
    __table_args__ = (Index("ix_audit_run_finished_at", "finished_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    problems: Mapped[int]  # how many; the text is in the command's report and the worker's log
    accounts: Mapped[int]
    liability_points: Mapped[int]
    first_problems: Mapped[list]  # the first few, for whoever looks at the row
