"""audit-ledger: every invariant of DESIGN.md, checked with set-wide queries. The ledgers' own checks
live here; every area's checks (this one's included) are wired through its AREA. Each run of the command,
and the worker's nightly one, is kept as an AuditRun: /metrics shows the last."""
import logging

from flask import current_app
from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import aliased

from models import (AuditRun, GrowthAccount, GrowthEntry, PointsAccount, PointsAllocation, PointsEntry, PointsHold,
                    PointsLot, db)
from services.platform import clock
from services.platform.areas import wiring
from services.platform.db import transaction
from services.platform.metrics import Gauge

log = logging.getLogger(__name__)
KEPT_PROBLEMS = 20  # an AuditRun keeps the first few problems' text


def _sum_by(column, key, *where):
    return select(key.label("k"), func.sum(column).label("s")).where(*where).group_by(key).subquery()


def _mismatches(title, cached, keycol, derived):
    """Rows where a cached figure differs from what the entries say it should be."""
    rows = db.session.execute(
        select(keycol, cached, func.coalesce(derived.c.s, 0))
        .outerjoin(derived, derived.c.k == keycol)
        .where(cached != func.coalesce(derived.c.s, 0))).all()
    return [f"{title}: {keycol.key}={k} cached {c} but entries say {d}" for k, c, d in rows]


def points_problems() -> list[str]:
    """Balances, holds, lots and allocations against the points entries."""
    problems = []
    problems += _mismatches("points balance", PointsAccount.balance, PointsAccount.member_id,
                            _sum_by(PointsEntry.delta, PointsEntry.member_id))
    problems += _mismatches("frozen points", PointsAccount.frozen, PointsAccount.member_id,
                            _sum_by(PointsHold.amount, PointsHold.member_id, PointsHold.status == "open"))
    problems += _mismatches("lots' remainders", PointsAccount.balance, PointsAccount.member_id,
                            _sum_by(PointsLot.remaining, PointsLot.member_id))
    drawn = _sum_by(PointsAllocation.amount, PointsAllocation.lot_id)
    problems += _mismatches("lot allocations", PointsLot.amount - PointsLot.remaining, PointsLot.id, drawn)
    last = select(PointsEntry.member_id.label("k"), func.max(PointsEntry.id).label("id")).group_by(
        PointsEntry.member_id).subquery()
    for member_id, balance, after in db.session.execute(
            select(PointsAccount.member_id, PointsAccount.balance, PointsEntry.balance_after)
            .join(last, last.c.k == PointsAccount.member_id).join(PointsEntry, PointsEntry.id == last.c.id)
            .where(PointsEntry.balance_after != PointsAccount.balance)):
        problems.append(f"points balance_after: member_id={member_id} last entry says {after}, account {balance}")
    unlotted = db.session.scalar(select(func.count()).select_from(PointsEntry).outerjoin(
        PointsLot, PointsLot.entry_id == PointsEntry.id).where(PointsEntry.kind == "earn", PointsLot.id.is_(None)))
    if unlotted:
        problems.append(f"points: {unlotted} earn entries without a lot")
    problems += _counter_problems()
    negative = db.session.scalar(select(func.count()).select_from(PointsAccount).where(
        (PointsAccount.balance < 0) | (PointsAccount.frozen < 0) | (PointsAccount.frozen > PointsAccount.balance)))
    if negative:
        problems.append(f"points: {negative} accounts negative or frozen above balance")
    return problems


def _moved(kind: str, sign: int):
    """Per member: the points of one kind of entry, net of the entries that reversed them (× sign)."""
    reversed_ = aliased(PointsEntry)
    return (select(PointsEntry.member_id.label("k"), func.sum(sign * PointsEntry.delta).label("s"))
            .outerjoin(reversed_, reversed_.id == PointsEntry.reverses_id)
            .where(or_(PointsEntry.kind == kind, (PointsEntry.kind == "reverse") & (reversed_.kind == kind)))
            .group_by(PointsEntry.member_id).subquery())


def _counter_problems() -> list[str]:
    """The lifetime counters against the entries, and balance = earned - spent - expired."""
    problems = _mismatches("points lifetime_earned", PointsAccount.lifetime_earned, PointsAccount.member_id,
                           _moved("earn", 1))
    problems += _mismatches("points lifetime_spent", PointsAccount.lifetime_spent, PointsAccount.member_id,
                            _moved("spend", -1))
    problems += _mismatches("points lifetime_expired", PointsAccount.lifetime_expired, PointsAccount.member_id,
                            _moved("expire", -1))
    for member_id, balance, net in db.session.execute(select(
            PointsAccount.member_id, PointsAccount.balance,
            PointsAccount.lifetime_earned - PointsAccount.lifetime_spent - PointsAccount.lifetime_expired)
            .where(PointsAccount.balance != PointsAccount.lifetime_earned - PointsAccount.lifetime_spent
                   - PointsAccount.lifetime_expired)):
        problems.append(f"points counters: member_id={member_id} balance {balance} but earned - spent - expired = {net}")
    return problems


def growth_problems() -> list[str]:
    """Growth totals against the growth entries."""
    problems = _mismatches("growth total", GrowthAccount.total, GrowthAccount.member_id,
                           _sum_by(GrowthEntry.delta, GrowthEntry.member_id))
    problems += _mismatches("growth lifetime", GrowthAccount.lifetime, GrowthAccount.member_id,
                            _sum_by(GrowthEntry.delta, GrowthEntry.member_id, GrowthEntry.kind == "earn"))
    return problems


def check_books() -> dict:
    """Run every wired check; report the problems and the outstanding points liability."""
    problems, checks = [], wiring().audit_checks
    for check in checks.values():
        problems += check()
    accounts, liability = db.session.execute(
        select(func.count(), func.coalesce(func.sum(PointsAccount.balance), literal(0)))).one()
    db.session.rollback()
    return {
        "problems": problems,
        "checks": sorted(checks),
        "accounts": accounts,
        "liability_points": int(liability),
        "liability_fen": int(liability) * current_app.config["POINT_VALUE_FEN"],
    }


def check_and_record() -> dict:
    """check_books, its outcome kept as an AuditRun; the report."""
    started = clock.now()
    report = check_books()
    with transaction():
        db.session.add(AuditRun(started_at=started, finished_at=clock.now(), problems=len(report["problems"]),
                                accounts=report["accounts"], liability_points=report["liability_points"],
                                first_problems=report["problems"][:KEPT_PROBLEMS]))
    return report


def nightly() -> str:
    """The worker's daily audit: "clean", or "problems" with each logged as an error."""
    problems = check_and_record()["problems"]
    for problem in problems:
        log.error("audit-ledger: %s", problem)
    return "problems" if problems else "clean"


def gauges() -> list[Gauge]:
    """The last audit's time, result and liability, for /metrics."""
    last = db.session.scalars(select(AuditRun).order_by(AuditRun.finished_at.desc()).limit(1)).first()
    if last is None:
        return []
    return [Gauge("loyalty_audit_ledger_last_run_timestamp_seconds", "When the last audit-ledger finished",
                  last.finished_at.timestamp()),
            Gauge("loyalty_audit_ledger_last_problems", "Problems the last audit-ledger found (0: clean)",
                  last.problems),
            Gauge("loyalty_points_liability_points", "Points outstanding at the last audit-ledger",
                  last.liability_points)]
