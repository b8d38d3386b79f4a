"""The operators' audit trail: what an operator changed, why, and when, written in the change's transaction."""
from sqlalchemy import select

from models import AuditLog, db
from services.platform import clock


def record(operator_id: int, action: str, *, target_type: str, target_id, reason: str | None,
           details: dict | None = None) -> AuditLog:
    """One audit row for an operator's change (flushes nothing; the caller's transaction commits it)."""
    entry = AuditLog(operator_id=operator_id, action=action, target_type=target_type, target_id=str(target_id),
                     reason=reason, details=details, created_at=clock.now())
    db.session.add(entry)
    return entry


def record_once(operator_id: int, action: str, *, target_type: str, target_id, reason: str | None,
                details: dict | None = None) -> None:
    """Audit a change whose retries (same business key) return the same target: one row per target."""
    if not db.session.scalar(select(AuditLog.id).where(AuditLog.action == action, AuditLog.target_type == target_type,
                                                       AuditLog.target_id == str(target_id))):
        record(operator_id, action, target_type=target_type, target_id=target_id, reason=reason, details=details)
