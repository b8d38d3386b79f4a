"""Task definitions operators keep (audited), their periods and their tiers."""
from dataclasses import dataclass
from types import SimpleNamespace
from datetime import datetime

from sqlalchemy import select

from models import Task, TaskClaim, db
from services.coupons import catalog
from services.platform import audit_trail, clock, snapshots
from services.platform.db import duplicates_conflict, get_row, transaction
from services.platform.errors import Conflict, InvalidRequest, NotFound
from services.events.types import EVENT_TYPES

TASK_FIELDS = ("code", "title", "description", "icon", "kind", "event", "target", "condition", "reward_points",
               "reward_growth", "reward_pack_id", "tiers", "starts_at", "ends_at", "sort_order", "page", "enabled",
               "client_reportable")
PERIODS = {"daily": "day", "weekly": "week", "monthly": "month"}  # newbie: once; achievement: all time
SNAPSHOT = "tasks"


@dataclass(frozen=True)
class Tier:
    number: int  # 0 for a task of one tier
    target: int
    points: int
    growth: int
    coupon_pack_id: int | None


def tiers_of(task: Task) -> list[Tier]:
    """What a task pays, in order: an achievement's tiers, or the one tier of any other task."""
    if task.kind == "achievement" and task.tiers:
        return [Tier(n, tier["target"], tier.get("points", 0), tier.get("growth", 0), tier.get("coupon_pack_id"))
                for n, tier in enumerate(sorted(task.tiers, key=lambda tier: tier["target"]))]
    return [Tier(0, task.target, task.reward_points, task.reward_growth, task.reward_pack_id)]


def next_tier(task: Task, claimed: set[int]) -> Tier | None:
    """The first tier, in order, whose number is not among those `claimed` this period; None: all are."""
    return next((tier for tier in tiers_of(task) if tier.number not in claimed), None)


def period_key(task: Task, at: datetime | None = None) -> str:
    """The period a claim of `task` counts in, at `at` (now): a day, an ISO week, a month, or once / all."""
    if task.kind in PERIODS:
        return clock.period_key(PERIODS[task.kind], at)
    return "once" if task.kind == "newbie" else "all"


def period_start(task: Task, at: datetime | None = None) -> datetime | None:
    """The first instant of the current period (business time); None: all time."""
    return clock.period_bounds(PERIODS[task.kind], at)[0] if task.kind in PERIODS else None


def is_open(task: Task, at: datetime | None = None) -> bool:
    return task.enabled and clock.within(task.starts_at, task.ends_at, at)


def all_tasks() -> list[Task]:
    return list(db.session.scalars(select(Task).order_by(Task.sort_order, Task.id)))


def listed_tasks() -> list[SimpleNamespace]:
    """Every task as this process's copy shows it (SQL at most every snapshots.SECONDS, at once after
    a change here): for the task list. A claim reads the task from SQL."""
    return snapshots.get(SNAPSHOT, lambda: [SimpleNamespace(**{column.key: getattr(task, column.key)
                                                               for column in Task.__table__.columns})
                                            for task in all_tasks()])


def get_task(task_id: int) -> Task:
    return get_row(Task, task_id, missing="No such task.")


def task_by_code(code: str) -> Task:
    task = db.session.scalar(select(Task).where(Task.code == code))
    if task is None:
        raise NotFound("No such task.")
    return task


def create_task(operator, fields: dict) -> Task:
    """Add a task (audited; `operator` None: seed-demo)."""
    with duplicates_conflict("Another task has that code.", "task_exists"), transaction():
        now = clock.now()
        task = Task(**_checked(fields), created_at=now, updated_at=now)
        db.session.add(task)
        db.session.flush()
        _audit(operator, "task.create", task, {"code": task.code})
    return task


def update_task(operator, task_id: int, fields: dict) -> Task:
    """Change a task (audited); rewards already claimed keep what they paid."""
    with duplicates_conflict("Another task has that code.", "task_exists"), transaction():
        task = get_task(task_id)
        merged = _checked({key: fields.get(key, getattr(task, key)) for key in TASK_FIELDS})
        _keep_claims_as_they_are(task, merged)
        for key, value in merged.items():
            setattr(task, key, value)
        task.updated_at = clock.now()
        _audit(operator, "task.update", task, {"changed": sorted(fields)})
    return task


def _keep_claims_as_they_are(task: Task, merged: dict) -> None:
    """A claimed task keeps what its claims are keyed by: its code (the claims' and the phone rule's keys),
    its kind (the period) and its tiers' targets in order (a tier's number); tiers may be added above."""
    if not db.session.scalar(select(TaskClaim.id).where(TaskClaim.task_id == task.id).limit(1)):
        return
    before = [tier.target for tier in tiers_of(task)]
    after = [tier.target for tier in tiers_of(SimpleNamespace(**merged))]
    if merged["code"] != task.code or merged["kind"] != task.kind or after[:len(before)] != before:
        raise Conflict("This task has been claimed: its code, kind and tier targets stay (tiers may be added "
                       "above the last); add a new task instead.", code="task_claimed",
                       details={"tiers": before})


def disable_task(operator, task_id: int) -> None:
    """Switch a task off (audited); its claims and their rewards stay."""
    with transaction():
        task = get_task(task_id)
        task.enabled, task.updated_at = False, clock.now()
        _audit(operator, "task.disable", task, {})


def _audit(operator, action: str, task: Task, details: dict) -> None:
    """An operator's change goes to the audit trail (seed-demo's, with no operator, does not); the
    process copies of the task list follow it."""
    snapshots.changed(SNAPSHOT)
    if operator is not None:
        audit_trail.record(operator.id, action, target_type="task", target_id=task.id, reason=None, details=details)


def _checked(fields: dict) -> dict:
    fields = {key: fields[key] for key in TASK_FIELDS if key in fields}
    if fields["event"] not in EVENT_TYPES:
        raise _invalid("event", f"Unknown event type; one of {sorted(EVENT_TYPES)}.")
    if fields.get("client_reportable") and not EVENT_TYPES[fields["event"]].client:
        raise _invalid("client_reportable", "The client may not report this event.")
    if fields["kind"] == "achievement" and not fields.get("tiers"):
        fields["tiers"] = [{"target": fields.get("target", 1), "points": fields.get("reward_points", 0),
                            "growth": fields.get("reward_growth", 0), "coupon_pack_id": fields.get("reward_pack_id")}]
    if fields["kind"] != "achievement":
        fields["tiers"] = None
    catalog.require_packs(reward_pack_id={
        fields.get("reward_pack_id"), *(tier.get("coupon_pack_id") for tier in fields.get("tiers") or [])})
    return fields


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, status=422, details={field: [message]})
