"""The invitation boards' rows from SQL (leaderboards' board sources `invites_week` / `invites_month`):
per inviter, the friends who qualified in the period and when the last of them did."""
from datetime import datetime

from sqlalchemy import func, select

from models import db
from models.invite import Invitation
from services.platform import clock

QUALIFIED = ("qualified", "rewarded", "reversed")


def week_rows(at: datetime) -> list[tuple[int, int, datetime]]:
    return _rows("week", at)


def month_rows(at: datetime) -> list[tuple[int, int, datetime]]:
    return _rows("month", at)


def _rows(period: str, at: datetime) -> list[tuple[int, int, datetime]]:
    start, end = clock.period_bounds(period, at)
    return [tuple(row) for row in db.session.execute(
        select(Invitation.inviter_id, func.count(), func.max(Invitation.qualified_at))
        .where(Invitation.status.in_(QUALIFIED), Invitation.qualified_at >= start, Invitation.qualified_at < end)
        .group_by(Invitation.inviter_id))]
