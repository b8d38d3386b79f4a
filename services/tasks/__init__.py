"""The task centre: task definitions, the member events progress is counted from, claims and the
client's own event reports.

Other areas may call: events.emit (inside their transaction, a type listed in event_types.EVENT_TYPES).
Progress is never stored: it is counted from member_event rows, so a recount always agrees. Claims pay
through the ledgers under `task:{code}:{member}:{period}`; audit-ledger checks every claim was paid.
"""
from services.platform.areas import Area

AREA = Area("tasks", audit_checks={"tasks": "services.tasks.task_audit.audit_problems"})
