"""services/platform/round_trips.py: statements sent together and writes that wait for the next round
trip. Nothing a failed unit of work queued is ever written; an error in a round trip is SQLAlchemy's
error; the engine's listeners see every statement; a sign-in refused half-way (a frozen member, a
token revoked: its version is checked under the member's lock) writes nothing."""
import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import IntegrityError

from models import MemberEvent, PointsEntry, PointsLot, db
from models.signin import SigninRecord
from services.platform import clock, round_trips
from services.platform.db import transaction
from tests.support.api import assert_error, unique
from tests.support.db import row_counts

_events = MemberEvent.__table__


def _event(member_id, key):
    return {"member_id": member_id, "type": "signin", "business_key": key, "reference": None, "payload": None,
            "occurred_at": clock.now()}


def test_queued_writes_of_a_unit_of_work_that_fails_are_never_written(login):
    member_id, key = login()["member"]["id"], unique("queued")
    with pytest.raises(RuntimeError), transaction():
        round_trips.later(insert(_events), **_event(member_id, key))
        raise RuntimeError("the unit of work fails after queueing")
    db.session.rollback()
    assert db.session.scalar(select(MemberEvent.id).where(MemberEvent.business_key == key)) is None


def test_queued_writes_go_with_the_commit_and_are_seen_by_reads_after_them(login):
    member_id, key = login()["member"]["id"], unique("queued")
    with transaction():
        round_trips.later(insert(_events), **_event(member_id, key))
        (rows,) = round_trips.together((select(_events.c.business_key).where(_events.c.business_key == key), {}))
        assert [row.business_key for row in rows] == [key]  # the queued insert went first
        round_trips.later(insert(_events), **_event(member_id, key + "-2"))
    db.session.rollback()
    assert db.session.scalar(select(MemberEvent.id).where(MemberEvent.business_key == key + "-2")) is not None


def test_an_error_in_a_round_trip_is_sqlalchemys_error_and_the_unit_of_work_rolls_back(login):
    member_id, key = login()["member"]["id"], unique("twice")
    with pytest.raises(IntegrityError), transaction():
        round_trips.together((insert(_events), _event(member_id, key)), (insert(_events), _event(member_id, key)))
    db.session.rollback()
    assert db.session.scalar(select(MemberEvent.id).where(MemberEvent.business_key == key)) is None


def test_the_engines_listeners_see_the_statements_sent_together(login):
    member_id, seen = login()["member"]["id"], []

    def record(conn, cursor, statement, *args):
        seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with transaction():
            round_trips.together((select(_events.c.id).where(_events.c.member_id == member_id), {}))
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert any("FROM member_event" in statement for statement in seen)


def test_a_frozen_members_sign_in_writes_nothing(client, login, operator):
    member = login()
    admin = operator()
    res = client.patch(f"/api/v1/admin/members/{member['member']['id']}", headers=admin,
                       json={"status": "frozen", "reason": "test"})
    assert res.status_code == 200, res.get_json()
    before = row_counts(SigninRecord, PointsEntry, PointsLot, MemberEvent)
    assert assert_error(client.post("/api/v1/signin", headers=member["headers"]), 409)["code"] == "member_frozen"
    assert row_counts(SigninRecord, PointsEntry, PointsLot, MemberEvent) == before


def test_a_revoked_token_cannot_sign_in_and_its_key_is_not_kept(client, login):
    user = unique("user")
    member = login(user)
    assert client.post("/api/v1/auth/logout", headers=member["headers"]).status_code == 204
    key = {"Idempotency-Key": unique("after-logout")}
    before = row_counts(SigninRecord, PointsEntry, MemberEvent)
    res = client.post("/api/v1/signin", headers={**member["headers"], **key})
    assert assert_error(res, 401)["details"] == {"reason": "revoked"}
    assert row_counts(SigninRecord, PointsEntry, MemberEvent) == before
    again = login(user)  # signed in again, the same key signs in: the refusal was not kept
    assert client.post("/api/v1/signin", headers={**again["headers"], **key}).status_code == 200
