"""Expiry warnings: one `points_expiring` subscribe message per member and expiry date, ahead of time.

Members holding a grant whose lots still hold points that lapse within POINTS_EXPIRY_WARN_DAYS are told
the amount and the last day they can use them. The message's business key (member and date) makes a
second run write nothing; a member with no grant left is skipped and warned on a later run once they
grant one. Points already spent or expired are not in any lot's remainder, so they are never named.
"""
from collections import defaultdict
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from models import PointsLot, db
from services.messages import messages
from services.platform import clock
from services.platform.db import transaction
from services.platform.progress import with_progress_bar

TEMPLATE = "points_expiring"
BATCH = 500


def warn_expiring(progress=None) -> dict:
    """The periodic job (and `flask warn-expiring`): write the warnings due; what it did."""
    written = members = 0
    now = clock.now()
    until = now + timedelta(days=int(current_app.config["POINTS_EXPIRY_WARN_DAYS"]))
    for ids in messages.granted_members(TEMPLATE, narrowed=lambda member_id: _lapsing(member_id, now, until),
                                        batch=BATCH):
        with with_progress_bar(progress, _expiring(ids, now, until)) as batch:
            for member_id, by_day in batch:
                members += 1
                for day, amount in sorted(by_day.items()):
                    with transaction():
                        written += _warn(member_id, day, amount)
    return {"members": members, "messages": written}


def _lapsing(member_id, now, until):
    """The member (an id column) has points lapsing in (now, until]."""
    return select(PointsLot.id).where(PointsLot.member_id == member_id, PointsLot.remaining > 0,
                                      PointsLot.expires_at > now, PointsLot.expires_at <= until).exists()


def _expiring(member_ids: list[int], now, until) -> list[tuple[int, dict]]:
    """[(member, {last day the points can be used: amount})], the days in business time."""
    rows = db.session.execute(
        select(PointsLot.member_id, PointsLot.expires_at, func.sum(PointsLot.remaining))
        .where(PointsLot.member_id.in_(member_ids), PointsLot.remaining > 0, PointsLot.expires_at > now,
               PointsLot.expires_at <= until)
        .group_by(PointsLot.member_id, PointsLot.expires_at)).all()
    by_member = defaultdict(lambda: defaultdict(int))
    for member_id, expires_at, amount in rows:
        by_member[member_id][last_day(expires_at)] += int(amount)
    return sorted(by_member.items())


def last_day(expires_at):
    """The last business day points expiring at `expires_at` can be used."""
    return clock.local(expires_at - timedelta(microseconds=1)).date()


def _warn(member_id: int, day, amount: int) -> int:
    data = {"number1": messages.number(amount), "date2": messages.date(day),
            "thing3": messages.thing("积分即将过期，快去积分商城兑换吧")}
    return int(messages.enqueue_new(member_id, TEMPLATE, data, business_key=f"msg:{TEMPLATE}:{member_id}:{day}",
                                    page=current_app.config["POINTS_EXPIRY_WARN_PAGE"]))
