"""Idempotency-Key on money: required where an operator moves points or money, every first answer
replayed (errors too), a key whose request died taken over once its lease ran out, old keys pruned."""
from datetime import timedelta

from sqlalchemy import func, select, update

from models import IdempotencyRecord, db
from services.ledger import points
from services.platform import idempotency, tokens
from services.platform.db import transaction
from tests.support.api import unique


def _adjust(client, headers, member_id, delta, key=None):
    if key:
        headers = {**headers, "Idempotency-Key": key}
    return client.post(f"/api/v1/admin/members/{member_id}/points", headers=headers,
                       json={"delta": delta, "reason": "goodwill"})


def test_operator_money_posts_without_a_key_are_refused(client, operator, make_member):
    admin, member_id = operator(), make_member(points_=10)["member"]["id"]
    for res in (_adjust(client, admin, member_id, 5),
                client.post("/api/v1/admin/payments/1/refund", headers=admin, json={"amount_fen": 1, "reason": "xx"}),
                client.post("/api/v1/admin/refunds/1/retry", headers=admin)):
        assert res.status_code == 400 and "Idempotency-Key" in res.get_json()["error"]["details"]
    assert points.summary(member_id)["balance"] == 10  # a double click without a key used to credit twice
    spec = client.get("/api/v1/openapi.json").get_json()
    parameters = spec["paths"]["/api/v1/admin/members/{member_id}/points"]["post"]["parameters"]
    assert {"in": "header", "name": "Idempotency-Key", "required": True}.items() <= next(
        p for p in parameters if p["name"] == "Idempotency-Key").items()


def test_an_error_answer_is_replayed_not_run_again(client, operator, make_member):
    admin, member_id, key = operator(), make_member(points_=0)["member"]["id"], unique("debit")
    first = _adjust(client, admin, member_id, -10, key=key)
    assert first.status_code == 409 and first.get_json()["error"]["code"] == "insufficient_points"
    assert _adjust(client, admin, member_id, 100, key=unique("credit")).status_code == 200
    again = _adjust(client, admin, member_id, -10, key=key)
    assert (again.status_code, again.get_json()) == (409, first.get_json())
    assert points.summary(member_id)["balance"] == 100


def test_a_key_whose_request_died_is_taken_over_once_its_lease_runs_out(app, client, clock, operator, make_member):
    admin, member_id, key = operator(), make_member()["member"]["id"], unique("died")
    operator_id = tokens.verify(admin["Authorization"].split()[1]).id
    body = b'{"delta": 25, "reason": "goodwill"}'
    # a worker claimed the key and was killed before it answered
    fingerprint = idempotency.fingerprint("POST", f"/api/v1/admin/members/{member_id}/points", body)
    idempotency.claim(f"operator:{operator_id}", key, fingerprint)
    headers = {**admin, "Idempotency-Key": key, "Content-Type": "application/json"}
    url = f"/api/v1/admin/members/{member_id}/points"
    busy = client.post(url, headers=headers, data=body)
    assert busy.status_code == 409 and busy.get_json()["error"]["code"] == "request_in_progress"
    clock.advance(timedelta(seconds=app.config["IDEMPOTENCY_LEASE_SECONDS"] + 1))
    done = client.post(url, headers=headers, data=body)
    assert done.status_code == 200 and done.get_json() == {"balance": 25}  # was 409 for ever
    assert client.post(url, headers=headers, data=body).get_json() == {"balance": 25}
    assert points.summary(member_id)["balance"] == 25


def test_a_request_that_died_after_its_work_committed_is_never_run_again(app, client, clock, make_member, operator):
    """A member's lottery draw spends points with business keys of its own, not the request's: a retry
    that took the key over would draw (and spend) again. The key is marked in the work's transaction."""
    member = make_member(points_=100)
    lottery = client.post("/api/v1/admin/lotteries", headers=operator(), json={
        "name": unique("lottery"), "cost_points": 10, "daily_limit": 5,
        "prizes": [{"name": "谢谢参与", "kind": "none", "weight": 1, "stock": 100}]}).get_json()
    headers, url = {**member["headers"], "Idempotency-Key": unique("draw")}, f"/api/v1/lottery/{lottery['id']}/draw"
    assert client.post(url, headers=headers).status_code == 200
    # the worker died after the draw's commit, before its answer was stored
    with transaction():
        db.session.execute(update(IdempotencyRecord).where(IdempotencyRecord.key == headers["Idempotency-Key"])
                           .values(status_code=None, response=None, lease_until=clock.now()))
    clock.advance(timedelta(seconds=app.config["IDEMPOTENCY_LEASE_SECONDS"] + 1))
    retry = client.post(url, headers=headers)
    assert retry.status_code == 409 and retry.get_json()["error"]["code"] == "request_completed"
    assert points.summary(member["member"]["id"])["balance"] == 90  # drawn once


def test_old_keys_are_pruned(app, client, clock, operator, make_member):
    admin, member_id = operator(), make_member()["member"]["id"]
    assert _adjust(client, admin, member_id, 5, key=unique("old")).status_code == 200
    count = lambda: db.session.scalar(select(func.count()).select_from(IdempotencyRecord))  # noqa: E731
    before = count()
    clock.advance(timedelta(days=app.config["IDEMPOTENCY_KEEP_DAYS"], seconds=1))
    assert idempotency.prune() >= 1
    db.session.rollback()
    assert count() < before
