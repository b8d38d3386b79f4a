"""The task centre: task definitions, claims and the client's own event reports; progress is counted
from the member events every area emits (services.events).

Other areas call nothing here: the task centre only consumes the events.
Progress is never stored: it is counted from member_event rows, so a recount always agrees. Claims pay
through the ledgers under `task:{code}:{member}:{period}`; audit-ledger checks every claim was paid.
"""
from services.platform.areas import Area

AREA = Area("tasks", audit_checks={"tasks": "services.tasks.audit.audit_problems"})
