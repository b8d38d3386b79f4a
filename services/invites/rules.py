"""Invitation rules: versions kept for history, the latest one the active set (operators, audited).

A new version applies at once to what happens next: a friend's qualification reads the set active at
that moment (a process copy, dropped by the commit that changes it and at most SECONDS old elsewhere).
An invitation keeps the version it joined under, for its window.
"""
from sqlalchemy import select

from models import db
from models.invite import InviteRule
from services.coupons import catalog
from services.platform import audit_trail, clock, snapshots
from services.platform.db import get_row, transaction
from services.platform.errors import InvalidRequest

SNAPSHOT = "invite_rules"
RULE_FIELDS = ("name", "enabled", "step", "min_payment_fen", "inviter_points", "inviter_growth", "inviter_pack_id",
               "friend_points", "friend_growth", "friend_pack_id", "daily_cap", "monthly_cap", "window_days",
               "joins_per_address")
DEFAULTS = {"enabled": True, "step": "phone", "min_payment_fen": 0, "inviter_points": 0, "inviter_growth": 0,
            "inviter_pack_id": None, "friend_points": 0, "friend_growth": 0, "friend_pack_id": None,
            "daily_cap": 10, "monthly_cap": 100, "window_days": 7, "joins_per_address": 20}


def active() -> InviteRule | None:
    """The active set, from SQL (None: no invitation programme yet)."""
    return db.session.scalar(select(InviteRule).order_by(InviteRule.id.desc()).limit(1))


def active_copy() -> dict | None:
    """The active set as this process's copy (for the hot check of whether a step can qualify)."""
    return snapshots.get(SNAPSHOT, _load)


def _load() -> dict | None:
    rule = active()
    return None if rule is None else {key: getattr(rule, key) for key in ("id", *RULE_FIELDS)}


def all_rules() -> list[InviteRule]:
    return list(db.session.scalars(select(InviteRule).order_by(InviteRule.id)))


def get_rule(rule_id: int) -> InviteRule:
    return get_row(InviteRule, rule_id, missing="No such invitation rule.")


def set_rules(operator_id: int, fields: dict, *, replace: bool) -> InviteRule:
    """A new version, active at once: the fields given over the active set's (`replace`) or the defaults."""
    with transaction():
        current = active()
        base = {key: getattr(current, key) for key in RULE_FIELDS} if replace and current else DEFAULTS
        merged = _checked({**base, **fields})
        rule = InviteRule(**merged, replaces_id=current.id if current else None, operator_id=operator_id,
                          created_at=clock.now())
        db.session.add(rule)
        db.session.flush()
        audit_trail.record(operator_id, "invite_rule.set", target_type="invite_rule", target_id=rule.id,
                           reason=None, details={"replaces": rule.replaces_id, **merged})
        snapshots.changed(SNAPSHOT)
    return rule


def _checked(fields: dict) -> dict:
    if "name" not in fields:
        raise InvalidRequest("Name the rules.", status=422, details={"name": ["Missing data for required field."]})
    catalog.require_packs(inviter_pack_id=fields["inviter_pack_id"], friend_pack_id=fields["friend_pack_id"])
    if fields["monthly_cap"] < fields["daily_cap"]:
        raise InvalidRequest("The monthly cap cannot be below the daily cap.", status=422,
                             details={"monthly_cap": ["Below daily_cap."]})
    return {key: fields[key] for key in RULE_FIELDS}
