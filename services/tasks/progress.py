"""Task progress, counted from the member's events (never stored, so never out of step), and the
member's task list: a fixed number of statements whatever the number of events (the member's phone,
one count of every task's events in its period, the period's claims; the tasks themselves come from
the process's copy)."""
import hashlib

from sqlalchemy import and_, func, select

from models import Member, MemberEvent, TaskClaim, db
from services.tasks.definitions import is_open, listed_tasks, next_tier, period_key, period_start, tiers_of


def counts(member_id: int, tasks) -> dict[int, int]:
    """Per task id: the member's events that count for it in its current period, in one statement: a
    row per event type, a column per window (all time, this day, week, month) and payment condition."""
    if not tasks:
        return {}
    windows = {task.id: (period_start(task), (task.condition or {}).get("min_amount_fen")) for task in tasks}
    columns = sorted(set(windows.values()), key=lambda w: (w[0] is not None, w[0] or 0, w[1] or 0))
    statement = (select(MemberEvent.type, *[_counted(start, min_amount) for start, min_amount in columns])
                 .where(MemberEvent.member_id == member_id, MemberEvent.type.in_({task.event for task in tasks}))
                 .group_by(MemberEvent.type))
    by_type = {row[0]: dict(zip(columns, row[1:])) for row in db.session.execute(statement)}
    return {task.id: by_type.get(task.event, {}).get(windows[task.id], 0) for task in tasks}


def _counted(start, min_amount):
    conditions = []
    if start is not None:
        conditions.append(MemberEvent.occurred_at >= start)
    if min_amount:
        conditions.append(MemberEvent.payload["amount_fen"].as_integer() >= min_amount)
    return func.count(MemberEvent.id).filter(and_(*conditions)) if conditions else func.count(MemberEvent.id)


def claimed_tiers(member_id: int, tasks, phone: str | None) -> set[tuple[int, str, int]]:
    """(task id, period, tier) of every claim the member made in the tasks' current periods, and of the
    newbie rewards paid to the member's phone number (under whichever member)."""
    if not tasks:
        return set()
    periods = {period_key(task) for task in tasks}
    phone_keys = [phone_key(task, phone) for task in tasks if task.kind == "newbie"] if phone else []
    return set(db.session.execute(select(TaskClaim.task_id, TaskClaim.period_key, TaskClaim.tier).where(
        ((TaskClaim.member_id == member_id) & TaskClaim.period_key.in_(periods))
        | TaskClaim.phone_key.in_(phone_keys))).all())


def phone_key(task, phone: str) -> str:
    """The key a newbie reward takes for a phone number: paid once per number, whichever member."""
    return f"task:{task.code}:phone:{hashlib.sha256(phone.encode()).hexdigest()[:40]}"


def member_tasks(member_id: int) -> dict:
    """GET /tasks: the open tasks with the member's progress and status; the newbie chain until it is done."""
    tasks = [task for task in listed_tasks() if is_open(task)]
    phone = db.session.scalar(select(Member.phone).where(Member.id == member_id))
    progress, claimed = counts(member_id, tasks), claimed_tiers(member_id, tasks, phone)
    newbie = [task for task in tasks if task.kind == "newbie"]
    chain_done = bool(newbie) and all((task.id, "once", 0) in claimed for task in newbie)
    return {"items": [_item(task, progress[task.id], claimed, phone) for task in tasks
                      if not (task.kind == "newbie" and chain_done)]}


def _item(task, count: int, claimed: set, phone: str | None) -> dict:
    period, tiers = period_key(task), tiers_of(task)
    tier = next_tier(task, {number for task_id, claimed_in, number in claimed
                            if task_id == task.id and claimed_in == period})
    shown = tier or tiers[-1]
    if tier is None:
        status = "claimed"
    elif count >= tier.target and (task.kind != "newbie" or phone):
        status = "claimable"
    else:
        status = "todo"
    return {"code": task.code, "title": task.title, "description": task.description, "icon": task.icon,
            "kind": task.kind, "event": task.event, "period": period, "tier": shown.number,
            "tiers": len(tiers), "target": shown.target, "progress": min(count, shown.target), "status": status,
            "reward": {"points": shown.points, "growth": shown.growth, "coupon_pack_id": shown.coupon_pack_id},
            "page": task.page, "needs_phone": task.kind == "newbie" and not phone}
