"""audit-ledger's task check: every claim paid exactly what it says, through the ledgers."""
from sqlalchemy import select

from models import GrowthEntry, PointsEntry, TaskClaim, db


def audit_problems() -> list[str]:
    problems = []
    for ledger, column in ((PointsEntry, TaskClaim.points), (GrowthEntry, TaskClaim.growth)):
        rows = db.session.execute(
            select(TaskClaim.id, column, ledger.delta)
            .outerjoin(ledger, ledger.business_key == TaskClaim.business_key)
            .where((ledger.delta.is_(None) & (column != 0)) | (ledger.delta != column))).all()
        problems += [f"task claim {claim_id}: {amount} {ledger.__tablename__.split('_')[0]} claimed, "
                     f"the ledger has {delta or 0}" for claim_id, amount, delta in rows]
    return problems
