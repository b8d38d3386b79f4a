"""The operators' audit trail: what an operator changed, why, and when, written in the change's transaction."""
from sqlalchemy import select

from models import AuditLog, Operator, db
from services.platform import clock
from services.platform.pagination import page


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


def find_entries(*, operator: str | None = None, action: str | None = None, since=None, until=None,
                 limit: int, cursor: str | None) -> dict:
    """The audit rows, newest first, of an operator (by username), an action, and `since` <= created_at <
    `until` (aware datetimes; None: no bound); `operators` names each row's operator."""
    stmt = select(AuditLog)
    if operator:
        stmt = stmt.join(Operator, Operator.id == AuditLog.operator_id).where(Operator.username == operator)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if since is not None:
        stmt = stmt.where(AuditLog.created_at >= since)
    if until is not None:
        stmt = stmt.where(AuditLog.created_at < until)
    found = page(db.session, stmt, id_column=AuditLog.id, limit=limit, cursor=cursor)
    ids = {entry.operator_id for entry in found["items"]}
    found["operators"] = dict(db.session.execute(
        select(Operator.id, Operator.username).where(Operator.id.in_(ids))).all()) if ids else {}
    return found
