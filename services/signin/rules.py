"""Sign-in rules: versioned rule sets (a change applies from the next business day), and their defaults.

The rule in force on day D is the latest version with effective_from <= D (the highest id among
versions starting the same day). Rewards already granted are stored on the sign-in records, so a new
version never changes the past. With no version in force, DEFAULT_RULE applies.
"""
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from models import db
from models.signin import SigninRule
from services.coupons import catalog
from services.platform import clock, snapshots
from services.platform.db import get_row, transaction
from services.platform.errors import Conflict, InvalidRequest, NotFound

SNAPSHOT = "signin_rules"
RULE_FIELDS = ("name", "cycle_days", "after_cycle", "rewards", "milestones")
DEFAULT_RULE = {
    "name": "默认签到规则",
    "cycle_days": 7,
    "after_cycle": "restart",
    "rewards": [{"points": p, "growth": g, "coupon_pack_id": None}
                for p, g in ((5, 1), (5, 1), (10, 1), (10, 1), (15, 2), (15, 2), (50, 5))],
    "milestones": [
        {"kind": "streak", "days": 7, "badge_code": "streak_7", "badge_name": "连签7天", "points": 20, "growth": 2,
         "coupon_pack_id": None},
        {"kind": "streak", "days": 30, "badge_code": "streak_30", "badge_name": "连签30天", "points": 100,
         "growth": 10, "coupon_pack_id": None},
        {"kind": "streak", "days": 100, "badge_code": "streak_100", "badge_name": "连签100天", "points": 300,
         "growth": 30, "coupon_pack_id": None},
        {"kind": "total", "days": 365, "badge_code": "total_365", "badge_name": "累计签到365天", "points": 1000,
         "growth": 100, "coupon_pack_id": None},
    ],
}


@dataclass(frozen=True)
class Rules:
    """The rules in force on a day (a stored version, or the defaults with id None)."""

    id: int | None
    cycle_days: int
    rewards: list
    milestones: list

    def reward_for(self, streak: int) -> tuple[int, dict]:
        """(cycle day, its reward) for the sign-in that makes `streak`; the cycle restarts after its last day."""
        cycle_day = (streak - 1) % self.cycle_days + 1
        return cycle_day, self.rewards[cycle_day - 1]


def _rules(row: SigninRule | None) -> Rules:
    if row is None:
        return Rules(None, DEFAULT_RULE["cycle_days"], DEFAULT_RULE["rewards"], DEFAULT_RULE["milestones"])
    return Rules(row.id, row.cycle_days, row.rewards, row.milestones)


def rules_for(day: date) -> Rules:
    """The rules in force on a business day."""
    row = db.session.scalar(select(SigninRule).where(SigninRule.effective_from <= day)
                            .order_by(SigninRule.effective_from.desc(), SigninRule.id.desc()).limit(1))
    return _rules(row)


def in_force(day: date) -> Rules:
    """rules_for(day), from this process's copy of the versions when that copy was loaded on `day`.

    What a sign-in pays may come from the copy because the versions in force on a day are settled
    before it starts: a new version starts tomorrow at the earliest, and only a version not yet in
    force is edited or deleted. A copy loaded on an earlier day may predate such an edit: SQL answers.
    """
    loaded_on, versions = snapshots.get(SNAPSHOT, _versions)
    if loaded_on != day:
        return rules_for(day)
    return next(_in_force_from(versions, day))[1]


def preview(key, compute):
    """compute(preview_from), for showing: worked out once per process's copy of the rules and `key`."""
    return snapshots.derived(SNAPSHOT, _versions, key, lambda copy: compute(
        lambda start: _in_force_from(copy[1], start)))


def _versions() -> tuple[date, list[tuple[date, Rules]]]:
    """The business day of loading, and every version with the day it starts."""
    return clock.today(), [(row.effective_from, _rules(row)) for row in all_rules()]


def _in_force_from(versions: list[tuple[date, Rules]], start: date) -> Iterator[tuple[date, Rules]]:
    """Each day from `start` on with the rules in force on it."""
    current, later, day = _rules(None), iter(versions), start
    following = next(later, None)
    while True:
        while following is not None and following[0] <= day:  # versions come in (effective_from, id) order
            current, following = following[1], next(later, None)
        yield day, current
        day += timedelta(days=1)


# -- operator CRUD ------------------------------------------------------------------------------

def all_rules() -> list[SigninRule]:
    return list(db.session.scalars(select(SigninRule).order_by(SigninRule.effective_from, SigninRule.id)))


def get_rule(rule_id: int) -> SigninRule:
    return get_row(SigninRule, rule_id, missing="No such sign-in rule.")


def create_rule(fields: dict, *, effective_from: date | None = None) -> SigninRule:
    """Add a rule version, in force from the next business day (or `effective_from`, for seeding)."""
    with transaction():
        rule = _new_version(_checked({**DEFAULT_RULE, **fields}), effective_from or clock.today() + timedelta(days=1))
    return rule


def update_rule(rule_id: int, fields: dict) -> SigninRule:
    """Change a version not yet in force in place; a version already in force gets a successor from tomorrow."""
    with transaction():
        rule = get_rule(rule_id)
        merged = _checked({key: fields.get(key, getattr(rule, key)) for key in RULE_FIELDS})
        if rule.effective_from > clock.today():
            snapshots.changed(SNAPSHOT)
            for key, value in merged.items():
                setattr(rule, key, value)
            return rule
        return _new_version(merged, clock.today() + timedelta(days=1), replaces_id=rule.id)


def delete_rule(rule_id: int) -> None:
    """Delete a version not yet in force; one that has been in force is history and stays."""
    with transaction():
        rule = get_rule(rule_id)
        if rule.effective_from <= clock.today():
            raise Conflict("A rule that has been in force cannot be deleted; add a new version instead.",
                           code="rule_in_force")
        snapshots.changed(SNAPSHOT)
        db.session.delete(rule)


def _new_version(fields: dict, effective_from: date, replaces_id: int | None = None) -> SigninRule:
    snapshots.changed(SNAPSHOT)
    rule = SigninRule(**fields, effective_from=effective_from, replaces_id=replaces_id, created_at=clock.now())
    db.session.add(rule)
    db.session.flush()
    return rule


def _checked(fields: dict) -> dict:
    """The rule's fields, once they hold together: one reward per cycle day, packs that exist, unique badges."""
    if len(fields["rewards"]) != fields["cycle_days"]:
        raise InvalidRequest("Give one reward per cycle day.", status=422,
                             details={"rewards": [f"Expected {fields['cycle_days']} rewards."]})
    codes = [milestone["badge_code"] for milestone in fields["milestones"]]
    if len(set(codes)) != len(codes):
        raise InvalidRequest("Badge codes must be unique.", status=422,
                             details={"milestones": ["Badge codes must be unique."]})
    for item in [*fields["rewards"], *fields["milestones"]]:
        item.setdefault("coupon_pack_id", None)
        if item["coupon_pack_id"] is not None:
            try:
                catalog.get_pack(item["coupon_pack_id"])
            except NotFound:
                raise InvalidRequest("No such coupon pack.", status=422,
                                     details={"coupon_pack_id": [f"No pack {item['coupon_pack_id']}."]}) from None
    return {key: fields[key] for key in RULE_FIELDS}
