"""audit-ledger's level checks: every member's level is the policy applied to their growth entries, their
history ends where they stand, and every level gift was paid exactly once, as recorded."""
from collections import defaultdict

from sqlalchemy import func, select

from models import GrowthEntry, Level, LevelChange, LevelEvaluation, LevelGift, Member, PointsEntry, db
from models.coupon import CouponIssue
from services.levels import gifts, levels, policy, replay

BATCH = 500


def audit_problems() -> list[str]:
    return _level_problems() + _gift_problems()


def _level_problems() -> list[str]:
    ladder = levels.thresholds()
    codes = dict(db.session.execute(select(Level.id, Level.code)).all())
    entry = replay.reached(0, ladder)
    since = db.session.scalar(select(func.max(Level.ladder_changed_at)))
    rows = policy.all_policies()
    window_then = policy.in_effect(since, rows=rows).growth_window if since is not None else None
    evaluations = db.session.execute(select(LevelEvaluation.due_at, LevelEvaluation.growth_window,
                                            LevelEvaluation.downgrade, LevelEvaluation.last_member_id,
                                            LevelEvaluation.finished_at)).all()
    problems, last_id = [], 0
    while members := db.session.execute(select(Member.id, Member.level_id).where(Member.id > last_id)
                                        .order_by(Member.id).limit(BATCH)).all():
        ids = [member_id for member_id, _ in members]
        entries, history = _entries(ids), _history(ids)
        for member_id, level_id in members:
            changes = history.get(member_id, [])
            if changes and changes[-1].to_level_id != level_id:
                problems.append(f"member {member_id}: holds level {codes.get(level_id)} but their level history "
                                f"ends at {changes[-1].to_code or codes.get(changes[-1].to_level_id)}")
            held = [(due_at, window, downgrade) for due_at, window, downgrade, done_up_to, finished in evaluations
                    if finished is not None or member_id <= done_up_to]
            growth = replay.Growth(entries.get(member_id, []))
            start = _held_at(changes, since, entry, growth, window_then, ladder)
            expected = replay.replay(start, growth, after=since, rows=rows, ladder=ladder, evaluations=sorted(held))
            if expected != level_id:
                problems.append(f"member {member_id}: holds level {codes.get(level_id)} but the level policy applied "
                                f"to their growth entries gives {codes.get(expected)}")
        last_id = ids[-1]
    return problems


def _held_at(changes, since, entry, growth, window, ladder):
    """The level held at `since` (the last change of the ladder; None: when the member joined), with that
    change's own move up to what the window's growth then reached (levels.ladder_changed writes its moves
    after the instant it stamps)."""
    first = changes[0].from_level_id if changes else entry
    if since is None:
        return first
    before = [change for change in changes if change.created_at <= since]
    held = before[-1].to_level_id if before else first
    return replay.higher(held, replay.reached(growth.until(window, since), ladder), ladder)


def _entries(member_ids) -> dict[int, list]:
    entries = defaultdict(list)
    for member_id, at, delta in db.session.execute(
            select(GrowthEntry.member_id, GrowthEntry.created_at, GrowthEntry.delta)
            .where(GrowthEntry.member_id.in_(member_ids)).order_by(GrowthEntry.id)):
        entries[member_id].append((at, delta))
    return entries


def _history(member_ids) -> dict[int, list]:
    history = defaultdict(list)
    for change in db.session.execute(
            select(LevelChange.member_id, LevelChange.from_level_id, LevelChange.to_level_id, LevelChange.to_code,
                   LevelChange.created_at)
            .where(LevelChange.member_id.in_(member_ids)).order_by(LevelChange.id)):
        history[change.member_id].append(change)
    return history


def _gift_problems() -> list[str]:
    problems = []
    gift_rows = db.session.execute(select(LevelGift.business_key, LevelGift.member_id, LevelGift.kind,
                                          LevelGift.points, LevelGift.coupon_pack_id)).all()
    recorded = {row.business_key: row for row in gift_rows}
    issues = {row.business_key: row for row in db.session.execute(
        select(CouponIssue.business_key, CouponIssue.member_id, CouponIssue.pack_id, CouponIssue.source)
        .where(CouponIssue.source.in_(("levelup", "birthday"))))}
    paid_points = {row.business_key: row for row in db.session.execute(
        select(PointsEntry.business_key, PointsEntry.member_id, PointsEntry.delta)
        .where(PointsEntry.reason.in_(("levelup", "birthday")), PointsEntry.kind == "earn"))}
    for key, gift in recorded.items():
        issue = issues.get(key)
        if gift.coupon_pack_id is not None and (issue is None or (issue.member_id, issue.pack_id, issue.source) != (
                gift.member_id, gift.coupon_pack_id, gift.kind)):
            problems.append(f"level gift {key}: coupon pack {gift.coupon_pack_id} not issued as recorded")
        entry = paid_points.get(key)
        if gift.points and (entry is None or (entry.member_id, entry.delta) != (gift.member_id, gift.points)):
            problems.append(f"level gift {key}: {gift.points} points not paid as recorded")
    for key in sorted((issues.keys() | paid_points.keys()) - recorded.keys()):
        problems.append(f"level gift {key}: paid without a level gift row")
    ladder = levels.thresholds()
    moves = select(LevelChange.member_id, LevelChange.from_level_id, LevelChange.from_threshold,
                   LevelChange.to_level_id, LevelChange.to_code, LevelChange.to_threshold)
    for change in db.session.execute(moves.where(LevelChange.to_level_id.is_not(None))):
        if _rose(change, ladder) and gifts.levelup_key(change.member_id, change.to_level_id) not in recorded:
            named = f" ({change.to_code})" if change.to_code else ""
            problems.append(f"member {change.member_id}: reached level {change.to_level_id}{named} "
                            "with no level-up gift recorded")
    return problems


def _rose(change, ladder: dict[int, int]) -> bool:
    """Whether a move went up to a level above the entry level, by the levels' thresholds when it was made
    (the ladder may have changed since: a level deleted, a threshold raised over the level moved from)."""
    before = replay.threshold_then(change.from_level_id, change.from_threshold, ladder)
    after = replay.threshold_then(change.to_level_id, change.to_threshold, ladder)
    return before is not None and after is not None and after > max(before, 0)
