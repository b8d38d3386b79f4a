"""Level evaluations: at each period's end, the downgrade policy applied to every member, once.

An evaluation is due at each of the policy's evaluation times (services.levels.policy.next_evaluation)
from the first policy an operator set. Under `none` it lowers nobody; under `one_level` a member whose
growth in the window that ends then no longer reaches their level goes down one level (not below the
level that growth reaches, and not below a level they reached again since). Members are evaluated one
transaction each, in id order; the evaluation row is locked first (the business row of the lock order)
and remembers the last member done, so a second runner waits and a crashed run resumes without doing a
member twice. `grace_period` warns members ahead of it (the `level_grace` subscribe message).
"""
import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select

from models import GrowthEntry, Level, LevelChange, LevelEvaluation, Member, db
from services.levels import levels, policy, replay
from services.platform.lock_order import lock_member
from services.messages import messages
from services.platform import clock
from services.platform.db import insert_once, lock_row, transaction
from services.platform.progress import with_progress_bar

log = logging.getLogger(__name__)
BATCH = 500
MOST_AT_ONCE = 24  # evaluations caught up in one run (two years of months after a long outage)


# -- which evaluations are due ----------------------------------------------------------------------

def due(now: datetime | None = None) -> list[datetime]:
    """Evaluation times that have come and are not finished, oldest first."""
    now = now or clock.now()
    rows = policy.all_policies()
    if not rows:
        return []  # the default policy (lifetime, no downgrade) was never changed: nothing to evaluate
    unfinished = list(db.session.scalars(select(LevelEvaluation.due_at).where(LevelEvaluation.finished_at.is_(None))
                                         .order_by(LevelEvaluation.due_at)))
    latest = db.session.scalar(select(func.max(LevelEvaluation.due_at)))
    candidate = rows[0].effective_from if latest is None else policy.next_evaluation(
        policy.in_effect(latest, rows=rows), latest)
    times = unfinished
    while candidate <= now and len(times) < MOST_AT_ONCE:
        times.append(candidate)
        candidate = policy.next_evaluation(policy.in_effect(candidate, rows=rows), candidate)
    return times


# -- running one ---------------------------------------------------------------------------------------

def evaluate_due(progress=None) -> list[dict]:
    """The periodic job (and `flask evaluate-levels`): run every evaluation that is due. What each did."""
    return [evaluate(at, progress=progress) for at in due()]


def evaluate(due_at: datetime, *, progress=None) -> dict:
    """Run (or finish) the evaluation due at `due_at` under the policy in force then."""
    with transaction():
        rule = policy.in_effect(due_at, rows=policy.all_policies())
        insert_once(LevelEvaluation.__table__, key="due_at", due_at=due_at, policy_id=rule.id,
                    growth_window=rule.growth_window, downgrade=rule.downgrade, last_member_id=0,
                    members_lowered=0, started_at=clock.now(), finished_at=None)
    evaluation = db.session.scalar(select(LevelEvaluation).where(LevelEvaluation.due_at == due_at))
    evaluation_id, downgrade = evaluation.id, evaluation.downgrade
    if evaluation.finished_at is None and downgrade == "one_level":
        while ids := _members_after(evaluation.last_member_id):
            with with_progress_bar(progress, ids) as batch:
                for member_id in batch:
                    with transaction():
                        evaluation = _evaluate_member(evaluation_id, member_id)
    with transaction():
        evaluation = _lock(evaluation_id)
        if evaluation.finished_at is None:
            evaluation.finished_at = clock.now()
    return {"due_at": evaluation.due_at, "growth_window": evaluation.growth_window, "downgrade": downgrade,
            "members_lowered": evaluation.members_lowered}


def _members_after(member_id: int) -> list[int]:
    return list(db.session.scalars(select(Member.id).where(Member.level_id.is_not(None), Member.id > member_id)
                                   .order_by(Member.id).limit(BATCH)))


def _lock(evaluation_id: int) -> LevelEvaluation:
    return lock_row(LevelEvaluation, evaluation_id)


def _evaluate_member(evaluation_id: int, member_id: int) -> LevelEvaluation:
    evaluation = _lock(evaluation_id)
    if member_id <= evaluation.last_member_id:
        return evaluation  # another runner did this member
    member = lock_member(member_id)
    ladder = levels.thresholds()
    growth = policy.window_growth(member_id, evaluation.growth_window, end=evaluation.due_at)
    target = kept_level(member_id, member.level_id, evaluation.due_at, growth, ladder)
    if levels.rises(target, member.level_id, ladder):
        levels.move(member, target, cause="evaluation", growth=growth, evaluation_id=evaluation.id)
        evaluation.members_lowered += 1
    evaluation.last_member_id = member_id
    return evaluation


def kept_level(member_id: int, level_now: int | None, due_at: datetime, growth: int,
               ladder: dict[int, int]) -> int | None:
    """The level a member keeps at the evaluation due at `due_at`: the level they held then (at its threshold
    then, if deleted since), lowered by replay.one_down, then moved up by what they earned since (replayed
    as it was paid)."""
    history = db.session.execute(select(LevelChange.from_level_id, LevelChange.from_threshold, LevelChange.to_level_id,
                                        LevelChange.to_threshold, LevelChange.created_at)
                                 .where(LevelChange.member_id == member_id).order_by(LevelChange.id)).all()
    before = [change for change in history if change.created_at < due_at]
    after = [change for change in history if change.created_at >= due_at]
    held, threshold = ((before[-1].to_level_id, before[-1].to_threshold) if before else
                       (after[0].from_level_id, after[0].from_threshold) if after else (level_now, None))
    if held is not None and held not in ladder and threshold is None:
        return level_now  # deleted since, its threshold then not recorded: where its deletion put the member
    entries = db.session.execute(select(GrowthEntry.created_at, GrowthEntry.delta)
                                 .where(GrowthEntry.member_id == member_id).order_by(GrowthEntry.id)).all()
    return replay.replay(replay.one_down(held, growth, ladder, held_threshold=threshold),
                         replay.Growth([tuple(row) for row in entries]),
                         after=due_at - timedelta(microseconds=1), rows=policy.all_policies(), ladder=ladder)


# -- the grace notice ------------------------------------------------------------------------------------

def grace_period(progress=None) -> int:
    """The periodic job: within the grace days before an evaluation that can lower levels, tell each
    member whose growth does not yet keep their level what it takes (one message per member and
    evaluation, to those holding a `level_grace` grant). How many messages were written."""
    now = clock.now()
    upcoming = policy.upcoming(now)
    rule = policy.in_effect(upcoming, rows=policy.all_policies())
    if rule.downgrade != "one_level" or now < upcoming - timedelta(days=rule.grace_days):
        return 0
    written, last_id = 0, 0
    while ids := _members_after(last_id):
        with with_progress_bar(progress, _at_risk(ids, rule.growth_window)) as batch:
            for member_id, level_name, needed in batch:
                with transaction():
                    written += _warn(member_id, level_name, needed, upcoming)
        last_id = ids[-1]
    return written


def _at_risk(member_ids: list[int], growth_window: str) -> list[tuple[int, str, int]]:
    """(member, level name, growth still needed) of the members whose growth so far does not keep their level."""
    growths = policy.window_growths(growth_window, member_ids=member_ids)
    entry = db.session.scalar(select(func.min(Level.threshold)))
    rows = db.session.execute(select(Member.id, Level.name, Level.threshold)
                              .join(Level, Level.id == Member.level_id).where(Member.id.in_(member_ids))).all()
    return [(member_id, name, threshold - growths.get(member_id, 0)) for member_id, name, threshold in rows
            if threshold > entry and growths.get(member_id, 0) < threshold]


def _warn(member_id: int, level_name: str, needed: int, upcoming: datetime) -> int:
    data = {"thing1": messages.thing(f"{level_name}保级提醒"), "number2": messages.number(needed),
            "date3": messages.date(upcoming - timedelta(seconds=1))}
    return int(messages.enqueue_new(member_id, "level_grace", data, business_key=f"msg:level_grace:{member_id}:"
                                    f"{clock.local(upcoming).date()}", page="pages/level/index"))
