"""The books explain themselves: counters net of reversals, lots past expiry not spendable."""
from datetime import timedelta

import pytest

from models import PointsAccount, db
from services.ledger import audit, points
from services.platform import clock as clock_service
from services.platform.db import transaction
from services.platform.errors import InsufficientPoints
from tests.support.api import unique
from tests.support.dates import at


def _account(member_id) -> PointsAccount:
    db.session.rollback()
    return db.session.get(PointsAccount, member_id)


def test_reversals_lower_the_lifetime_counters_so_they_add_up_to_the_balance(make_member):
    member_id, earn, spend = make_member()["member"]["id"], unique("earn"), unique("spend")
    with transaction():
        points.earn(member_id, 100, reason="test", business_key=earn)
        points.spend(member_id, 30, reason="test", business_key=spend)
    with transaction():
        points.reverse(earn, business_key=unique("refund"), amount=50, reason="refund")
        points.reverse(spend, business_key=unique("refund"), amount=10, reason="refund")
    account = _account(member_id)
    assert (account.lifetime_earned, account.lifetime_spent, account.lifetime_expired) == (50, 20, 0)
    assert account.balance == account.lifetime_earned - account.lifetime_spent - account.lifetime_expired == 30
    assert audit.check_books()["problems"] == []


def test_lots_past_their_expiry_are_not_spendable_before_the_expiry_job(app, make_member, clock):
    clock.freeze(at("2026-11-01T10:00:00+08:00"))
    member_id = make_member()["member"]["id"]
    with transaction():
        points.earn(member_id, 100, reason="test", business_key=unique("soon"),
                    expires_at=clock_service.now() + timedelta(days=1))
        points.earn(member_id, 20, reason="test", business_key=unique("later"),
                    expires_at=clock_service.now() + timedelta(days=30))
    clock.advance(timedelta(days=2))  # the first lot is past its expiry; the job has not run
    summary = points.summary(member_id)
    assert (summary["balance"], summary["available"]) == (120, 20)
    assert [row["points"] for row in summary["expiring"]] == [20]
    with pytest.raises(InsufficientPoints), transaction():
        points.spend(member_id, 30, reason="test", business_key=unique("too-much"))
    with transaction():
        points.spend(member_id, 20, reason="test", business_key=unique("what-is-left"))
    assert points.expire_due() == (1, 100)
    assert (_account(member_id).balance, _account(member_id).lifetime_expired) == (0, 100)
    assert audit.check_books()["problems"] == []
