"""Races of real HTTP requests against one account: never overdrawn, audit clean."""

import requests

from models import GrowthAccount, db
from services.ledger import audit, growth, points
from services.platform.db import transaction
from tests.support.api import unique
from tests.support.races import race


def test_twenty_parallel_debits_never_overdraw(live_server, make_member, operator):
    member, admin = make_member(points_=100), operator()
    url = f"{live_server}/api/v1/admin/members/{member['member']['id']}/points"

    def debit():
        return requests.post(url, headers={**admin, "Idempotency-Key": unique("debit")},
                             json={"delta": -10, "reason": "race"}, timeout=60)

    answers = race([debit] * 20)
    statuses = sorted(res.status_code for res in answers)
    assert statuses == [200] * 10 + [409] * 10, [res.text for res in answers]
    assert all(res.json()["error"]["code"] == "insufficient_points" for res in answers if res.status_code == 409)
    assert sorted(res.json()["balance"] for res in answers if res.status_code == 200) == list(range(0, 100, 10))
    assert points.summary(member["member"]["id"])["balance"] == 0
    assert audit.check_books()["problems"] == []


def test_parallel_retries_of_one_idempotency_key_apply_once(live_server, make_member, operator):
    member, admin = make_member(), operator()
    url = f"{live_server}/api/v1/admin/members/{member['member']['id']}/points"
    headers = {**admin, "Idempotency-Key": "race-retry-1"}

    def credit():
        return requests.post(url, headers=headers, json={"delta": 25, "reason": "retry storm"}, timeout=60)

    answers = race([credit] * 10)
    ok = [res.json() for res in answers if res.status_code == 200]
    assert ok and all(body == {"balance": 25} for body in ok)
    assert all(res.json()["error"]["code"] == "request_in_progress" for res in answers if res.status_code != 200)
    assert points.summary(member["member"]["id"])["balance"] == 25


def test_parallel_earns_under_one_business_key_credit_once(app, make_member):
    """Repeats that arrive together (a notification and its copy): one entry, one credit, each answered."""
    member_id = make_member()["member"]["id"]

    def earn():
        with app.app_context(), transaction():
            return (points.earn(member_id, 40, reason="race", business_key=f"race-earn:{member_id}"),
                    growth.earn(member_id, 4, reason="race", business_key=f"race-earn:{member_id}"))

    answers = race([earn] * 10)
    assert len(set(answers)) == 1  # every caller gets the one entry of each ledger
    assert points.summary(member_id)["balance"] == 40
    assert db.session.get(GrowthAccount, member_id).total == 4
    assert audit.check_books()["problems"] == []
