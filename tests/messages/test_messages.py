"""Subscribe messages: grants over HTTP, the outbox, and the worker sending through the sandbox."""
import logging
import threading
from datetime import timedelta

import pytest
import redis
import requests
from sqlalchemy import func, select, text

from models import Member, db
from models.message import MessageAttempt, OutboxMessage, SubscriptionGrant
from services.messages import messages
from services.platform import jobs
from services.platform.areas import Periodic, wiring
from services.platform.db import AFTER_COMMIT, transaction
from services.platform.redis_client import get_redis
from services.platform.worker import worker_command
from tests.support.api import unique
from tests.support.dates import at

URL = "/api/v1/me/subscriptions"


@pytest.fixture
def tpl(app):
    return app.config["WECHAT_TEMPLATES"]


@pytest.fixture
def subscriber(client, login, tpl):
    """A member who accepted `pay_success` `n` times: returns (member id, openid)."""
    def _make(n: int = 1):
        member = login()
        for _ in range(n):
            res = client.post(URL, json={"accepted": [tpl["pay_success"]]}, headers=member["headers"])
            assert res.status_code == 200, res.get_json()
        member_id = member["member"]["id"]
        return member_id, db.session.scalar(select(Member.openid).where(Member.id == member_id))
    return _make


def _write(member_id, data=None, key=None):
    """Enqueue a pay_success message in its own unit of work: returns the message id or None."""
    with transaction():
        message = messages.enqueue(member_id, "pay_success", data or {"thing1": "购物"},
                                   business_key=key or unique("msg"), page="pages/pay/result")
    return message and message.id


def _message(message_id) -> OutboxMessage:
    db.session.rollback()  # read what the workers committed, not an older snapshot
    return db.session.get(OutboxMessage, message_id, populate_existing=True)


def _attempts(message_id) -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(MessageAttempt.outcome).where(MessageAttempt.message_id == message_id)
                                   .order_by(MessageAttempt.id)))


def _grants_left(member_id) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.coalesce(func.sum(SubscriptionGrant.grants), 0))
                             .where(SubscriptionGrant.member_id == member_id))


def _sent_to(wx, openid) -> list[dict]:
    return [item for item in wx.get("sent", kind="subscribe")["items"] if item["touser"] == openid]


def _queued_ids() -> set[int]:
    return {job.args[1] for job in jobs.queue().jobs if job.args and job.args[0] == messages.DELIVER}


@pytest.fixture
def log(caplog):
    """caplog for services.messages.messages (in-process `db upgrade` ran alembic's fileConfig, which disables
    every logger that existed then: migrations/env.py should pass disable_existing_loggers=False)."""
    logging.getLogger(messages.__name__).disabled = False
    return caplog


@pytest.fixture(autouse=True)
def _no_faults_left(sandbox):
    """A fault a test did not use up must not fail a later test's send."""
    yield
    requests.delete(f"{sandbox.url}sandbox/faults", timeout=10).raise_for_status()


# -- /me/subscriptions ------------------------------------------------------------------------

def test_subscriptions_list_every_template_with_no_grants(client, login, tpl):
    res = client.get(URL, headers=login()["headers"])
    assert res.status_code == 200
    assert res.get_json() == {"templates": [{"key": k, "template_id": v, "grants": 0} for k, v in tpl.items()]}


def test_accepting_templates_adds_one_grant_each(client, login, tpl):
    headers = login()["headers"]
    res = client.post(URL, json={"accepted": [tpl["pay_success"], tpl["order_shipped"], tpl["pay_success"]]},
                      headers=headers)
    assert res.status_code == 200
    assert res.get_json()["grants"] == {k: int(k in ("pay_success", "order_shipped")) for k in tpl}
    client.post(URL, json={"accepted": [tpl["pay_success"]]}, headers=headers)
    templates = {t["key"]: t["grants"] for t in client.get(URL, headers=headers).get_json()["templates"]}
    assert templates["pay_success"] == 2 and templates["order_shipped"] == 1 and templates["signin_reminder"] == 0


@pytest.mark.parametrize("body,status", [
    ({}, 422),
    ({"accepted": []}, 422),
    ({"accepted": "sandbox-tpl-pay-success"}, 422),
    ({"accepted": [1]}, 422),
    ({"accepted": [None]}, 422),
    ({"accepted": [""]}, 422),
    ({"accepted": ["x" * 65]}, 422),
    ({"accepted": ["sandbox-tpl-pay-success"] * 11}, 422),
    ({"accepted": ["sandbox-tpl-pay-success"], "extra": 1}, 422),
    ({"accepted": ["sandbox-tpl-pay-success", "no-such-template"]}, 422),
    ("not json{", 400),
])
def test_bad_subscription_input_is_rejected_and_writes_nothing(client, login, body, status):
    member = login()
    kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, str) else {"json": body}
    res = client.post(URL, headers=member["headers"], **kwargs)
    assert res.status_code == status
    assert set(res.get_json()["error"]) == {"code", "message", "details"}
    assert res.get_json()["error"]["code"] == "invalid_request"
    assert _grants_left(member["member"]["id"]) == 0


def test_unknown_template_ids_are_named(client, login):
    res = client.post(URL, json={"accepted": ["nope", "sandbox-tpl-pay-success"]}, headers=login()["headers"])
    assert res.get_json()["error"]["details"] == {"accepted": {"unknown": ["nope"]}}


def test_subscriptions_need_a_member(client):
    assert client.get(URL).status_code == 401
    assert client.post(URL, json={"accepted": ["sandbox-tpl-pay-success"]}).status_code == 401


# -- the outbox -------------------------------------------------------------------------------

def test_enqueue_without_a_grant_writes_nothing(login):
    member_id = login()["member"]["id"]
    key = unique("msg")
    assert _write(member_id, key=key) is None
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.business_key == key)) is None


def test_message_and_job_appear_only_after_the_commit(app, subscriber):
    member_id, _ = subscriber(2)
    key = unique("msg")
    with transaction():
        message = messages.enqueue(member_id, "pay_success", {"thing1": "购物"}, business_key=key)
        with db.engine.connect() as other:  # another connection sees nothing before the commit
            assert other.execute(text("SELECT count(*) FROM outbox_message WHERE business_key = :k"),
                                 {"k": key}).scalar() == 0
        assert message.id not in _queued_ids()
    assert message.id in _queued_ids()
    with transaction():  # the same business key again: the same message, no grant used
        assert messages.enqueue(member_id, "pay_success", {"thing1": "x"}, business_key=key).id == message.id
    assert _grants_left(member_id) == 1
    jobs.drain()


def test_rolled_back_enqueue_leaves_no_message_job_or_used_grant(subscriber):
    member_id, _ = subscriber(1)
    key, queued_before = unique("msg"), _queued_ids()
    with pytest.raises(RuntimeError), transaction():
        messages.enqueue(member_id, "pay_success", {"thing1": "购物"}, business_key=key)
        raise RuntimeError("the business change failed")
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.business_key == key)) is None
    assert _queued_ids() == queued_before and not db.session.info.get(AFTER_COMMIT)
    assert _grants_left(member_id) == 1


def test_redis_down_at_commit_leaves_the_message_to_the_sweep(app, subscriber, wx, log):
    member_id, openid = subscriber(1)
    live = get_redis()
    app.extensions["redis"] = redis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.5)
    try:
        message_id = _write(member_id)
    finally:
        app.extensions["redis"] = live
    assert "the sweep will send it" in log.text and _message(message_id).status == "pending"
    assert messages.deliver_due() >= 1
    assert _message(message_id).status == "sent" and len(_sent_to(wx, openid)) == 1


# -- the worker -------------------------------------------------------------------------------

def test_worker_burst_sends_a_message_once(app, subscriber, wx):
    member_id, openid = subscriber(1)
    message_id = _write(member_id, {"thing1": "购物满100元"})
    runner = app.test_cli_runner()
    result = runner.invoke(worker_command, ["--burst"])
    assert result.exit_code == 0, result.output
    assert "jobs run:" in result.output
    sent = _sent_to(wx, openid)
    assert len(sent) == 1 and sent[0]["data"] == {"thing1": {"value": "购物满100元"}}
    assert sent[0]["template_id"] == app.config["WECHAT_TEMPLATES"]["pay_success"]
    assert sent[0]["page"] == "pages/pay/result"
    message = _message(message_id)
    assert (message.status, message.attempts, message.sent_at is not None) == ("sent", 1, True)
    assert runner.invoke(worker_command, ["--burst"]).exit_code == 0
    assert messages.deliver(message_id) == "skipped"
    assert len(_sent_to(wx, openid)) == 1 and _attempts(message_id) == ["sent"]


def test_two_workers_on_one_message_send_it_once(app, subscriber, wx):
    member_id, openid = subscriber(1)
    message_id = _write(member_id)
    barrier, outcomes = threading.Barrier(2), []

    def work():
        with app.app_context():
            barrier.wait()
            outcomes.append(messages.deliver(message_id))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["sent", "skipped"]
    assert len(_sent_to(wx, openid)) == 1 and _attempts(message_id) == ["sent"]


def test_refused_message_is_dropped_and_never_retried(subscriber, wx, clock):
    member_id, openid = subscriber(1)
    message_id = _write(member_id)
    wx.post("faults", api="subscribe_send", errcode=43101)
    assert messages.deliver(message_id) == "dropped"
    clock.advance(timedelta(days=1))
    messages.deliver_due()
    assert messages.deliver(message_id) == "skipped"
    message = _message(message_id)
    assert (message.status, message.attempts, message.last_errcode) == ("dropped", 1, 43101)
    assert _attempts(message_id) == ["dropped"] and _sent_to(wx, openid) == []


def test_server_error_is_retried_after_the_backoff(subscriber, wx, clock):
    member_id, openid = subscriber(1)
    clock.freeze(at("2026-11-23T14:05:00+08:00"))
    message_id = _write(member_id)
    wx.post("faults", api="subscribe_send", http_status=500)
    assert messages.deliver(message_id) == "retry"
    message = _message(message_id)
    assert (message.status, message.attempts, message.last_errcode) == ("pending", 1, None)
    assert message.next_attempt_at == at("2026-11-23T14:05:30+08:00")
    assert messages.deliver(message_id) == "skipped"  # not due yet
    clock.advance(timedelta(seconds=31))
    assert messages.deliver_due() >= 1
    assert _message(message_id).status == "sent" and _attempts(message_id) == ["retry", "sent"]
    assert len(_sent_to(wx, openid)) == 1


def test_busy_wechat_is_retried_then_failed_after_the_last_attempt(app, subscriber, wx, clock, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_MAX_ATTEMPTS", 3)
    member_id, openid = subscriber(1)
    message_id = _write(member_id)
    wx.post("faults", api="subscribe_send", errcode=-1, times=3)
    outcomes = []
    for wait in (0, 30, 60):
        clock.advance(timedelta(seconds=wait))
        outcomes.append(messages.deliver(message_id))
    assert outcomes == ["retry", "retry", "failed"]
    message = _message(message_id)
    assert (message.status, message.attempts, message.last_errcode) == ("failed", 3, -1)
    assert _attempts(message_id) == outcomes and _sent_to(wx, openid) == []


def test_value_over_the_limit_is_dropped_and_logged(subscriber, wx, log):
    member_id, openid = subscriber(1)
    message_id = _write(member_id, {"thing1": "一" * 21})
    assert messages.deliver(message_id) == "dropped"
    assert any(r.levelno == logging.ERROR and "47003" in r.getMessage() for r in log.records)
    assert _message(message_id).last_errcode == 47003 and _attempts(message_id) == ["dropped"]


def test_periodic_tasks_are_queued_once_per_period():
    get_redis().delete(jobs.PERIODIC_KEY.format(name="messages.sweep"))
    assert "messages.sweep" in jobs.tick()
    assert "messages.sweep" not in jobs.tick()
    assert wiring().periodic["messages.sweep"] == Periodic("messages.sweep", messages.SWEEP, 60)


# -- value formatters -------------------------------------------------------------------------

def test_formatters_respect_the_limits():
    assert messages.thing("一" * 25) == "一" * 19 + "…" and messages.thing("短") == "短"
    assert len(messages.phrase("已经发货了吧")) == 5 and len(messages.name("张" * 11)) == 10
    assert messages.amount(8800) == "88.00元" and messages.amount(5) == "0.05元"
    assert messages.number(123) == "123" and messages.character_string("订单NO-1") == "NO-1"
    late = at("2026-11-24T00:30:00+08:00")  # still the 23rd in UTC
    assert messages.date(late) == "2026年11月24日" and messages.time(late) == "2026年11月24日 00:30"
    with pytest.raises(ValueError):
        messages.amount(-1)


def test_formatted_values_pass_wechat_checks(subscriber, wx):
    member_id, openid = subscriber(1)
    data = {"thing1": messages.thing("一" * 30), "amount2": messages.amount(12345),
            "phrase3": messages.phrase("支付成功啦啦"), "name4": messages.name("名" * 12),
            "number5": messages.number(42), "date6": messages.date(at("2026-11-23T14:05:00+08:00")),
            "time7": messages.time(at("2026-11-23T14:05:00+08:00")),
            "character_string8": messages.character_string("wx20261123-0001")}
    message_id = _write(member_id, data)
    assert messages.deliver(message_id) == "sent"
    assert _sent_to(wx, openid)[0]["data"] == {k: {"value": v} for k, v in data.items()}
