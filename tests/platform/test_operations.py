"""Running it: request ids, JSON log lines, /readyz and /metrics (in-process; tests/ops runs gunicorn)."""
import io
import json
import logging

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from models import db
from services.platform import jobs, request_log
from tests.support.api import bearer, unique


def echo_request_id() -> str:
    """A job target: the request id its log lines carry."""
    return request_log.current_id()


@pytest.fixture
def json_lines():
    """Every log record made during the test, as the JSON line LOG_FORMAT=json writes."""
    stream, root = io.StringIO(), logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(request_log.JsonLines())
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def scrape(client, headers) -> dict:
    """/metrics as {(name, labels as a sorted tuple): value}."""
    res = client.get("/metrics", headers=headers)
    assert res.status_code == 200, res.get_data(as_text=True)
    assert res.mimetype == "text/plain"
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(res.get_data(as_text=True)) for sample in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# -- request ids and log lines -------------------------------------------------------------------

def test_a_request_id_is_made_or_taken_and_answered(client):
    made = client.get("/healthz").headers["X-Request-Id"]
    assert len(made) == 32 and int(made, 16) >= 0
    assert client.get("/healthz", headers={"X-Request-Id": "lb-7f3a.1:2"}).headers["X-Request-Id"] == "lb-7f3a.1:2"
    for unusable in ("x" * 65, "two words", "<script>", "id\x01"):
        answered = client.get("/healthz", headers={"X-Request-Id": unusable}).headers["X-Request-Id"]
        assert answered != unusable and len(answered) == 32


def test_refusals_and_errors_carry_the_id_too(client, operator, monkeypatch):
    assert client.get("/api/v1/nothing", headers={"X-Request-Id": "r-404"}).headers["X-Request-Id"] == "r-404"
    assert client.get("/api/v1/me", headers={"X-Request-Id": "r-401"}).headers["X-Request-Id"] == "r-401"
    bad_text = client.get("/api/v1/mall/goods?q=a%00b", headers={"X-Request-Id": "r-400"})
    assert bad_text.status_code == 400 and bad_text.headers["X-Request-Id"] == "r-400"
    from services.levels import levels
    monkeypatch.setattr(levels, "all_levels", lambda: 1 / 0)
    res = client.get("/api/v1/admin/levels", headers={**operator(), "X-Request-Id": "r-500"})
    assert res.status_code == 500 and res.get_json()["error"]["details"]["request_id"] == "r-500"


def test_each_request_is_one_json_line_with_its_id_route_principal_status_and_duration(client, login, json_lines):
    member = login()
    client.get("/api/v1/me", headers={**member["headers"], "X-Request-Id": "trace-me-1"})
    client.get("/api/v1/admin/levels", headers={"X-Request-Id": "trace-401"})
    lines = {line["request_id"]: line for line in json_lines() if line["logger"] == "loyalty.access"}
    me = lines["trace-me-1"]
    assert me["member_id"] == member["member"]["id"] and me["status"] == 200 and me["method"] == "GET"
    assert me["route"] == "/api/v1/me" and me["path"] == "/api/v1/me" and me["duration_ms"] > 0
    assert me["level"] == "INFO" and me["time"] and me["message"] == "GET /api/v1/me 200"
    refused = lines["trace-401"]
    assert refused["status"] == 401 and "operator_id" not in refused


def test_log_lines_are_scrubbed_and_carry_the_request_id(app, json_lines):
    with app.test_request_context("/", headers={"X-Request-Id": "scrub-1"}):
        request_log.begin_request()
        logging.getLogger("services.wechat").warning(
            "GET https://api.weixin.qq.com/sns/jscode2session?appid=wx1&secret=s3cr3t&js_code=c0de failed")
        try:
            raise ValueError("access_token=t0ken in the traceback")
        except ValueError:
            logging.getLogger("services.wechat").exception("failed")
        request_log.forget_request(None)
    warning, failure = [line for line in json_lines() if line["logger"] == "services.wechat"]
    assert warning["request_id"] == failure["request_id"] == "scrub-1"
    assert "s3cr3t" not in json.dumps(warning) and "secret=***" in warning["message"]
    assert "t0ken" not in failure["exc_info"] and "access_token=***" in failure["exc_info"]


def test_a_job_carries_the_id_of_the_request_that_queued_it(app):
    with app.test_request_context("/", headers={"X-Request-Id": "queued-by-1"}):
        request_log.begin_request()
        job = jobs.enqueue(f"{__name__}.echo_request_id")
        request_log.forget_request(None)
    assert job.meta["request_id"] == "queued-by-1"
    later = jobs.enqueue(f"{__name__}.echo_request_id")  # outside a request: the job's own id
    report = jobs.drain()[f"{__name__}.echo_request_id"]
    assert report == {"queued-by-1": 1, f"job-{later.id}": 1}


# -- readiness ------------------------------------------------------------------------------------

def test_readyz_is_ok_when_the_database_redis_and_migrations_are(client):
    res = client.get("/readyz")
    assert res.status_code == 200
    assert res.get_json() == {"status": "ok", "database": "ok", "redis": "ok", "migrations": "ok"}


@pytest.fixture
def database_at():
    """Set the database's migration revision for the test (put back after)."""
    current = db.session.scalar(text("SELECT version_num FROM alembic_version"))

    def _at(revision):
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
        db.session.commit()
    yield _at
    _at(current)


def test_readyz_refuses_traffic_while_the_database_is_behind_the_code(client, database_at):
    database_at("1nv1t3s00001")  # the revision before this code's head
    res = client.get("/readyz")
    assert res.status_code == 503 and res.get_json()["migrations"] == "behind"
    assert client.get("/healthz").status_code == 200  # alive: only not ready


def test_readyz_serves_on_while_a_newer_release_has_migrated_the_database(client, database_at):
    """Hosts still on this release keep serving while the hosts roll (expand-and-contract migrations)."""
    database_at("f00dcafe0001")  # a revision this code does not know
    res = client.get("/readyz")
    assert res.status_code == 200 and res.get_json()["migrations"] == "ahead"


def test_readyz_and_healthz_say_when_redis_is_away(app, client, monkeypatch):
    monkeypatch.setitem(app.extensions, "redis", redis.Redis(port=1, socket_connect_timeout=0.5))
    for path in ("/healthz", "/readyz"):
        res = client.get(path)
        assert res.status_code == 503 and res.get_json()["redis"] == "error" and res.get_json()["status"] == "error"


# -- metrics --------------------------------------------------------------------------------------

def test_metrics_are_for_operators_and_the_scrape_token_only(app, client, login, operator, monkeypatch):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=login()["headers"]).status_code == 403
    assert client.get("/metrics", headers=operator("viewer")).status_code == 200
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-" + unique("token"))
    assert client.get("/metrics", headers=bearer(app.config["METRICS_TOKEN"])).status_code == 200
    assert client.get("/metrics", headers=bearer("scrape-wrong")).status_code == 401


def test_metrics_count_requests_wechat_calls_and_notifies(client, login, operator):
    headers = operator()
    before = scrape(client, headers)
    for _ in range(3):
        client.get("/healthz")
    login()  # a code exchanged at the sandbox
    client.post("/api/v1/payments/wechat/notify", data=b"<xml><nonsense/></xml>", content_type="text/xml")
    after = scrape(client, headers)
    moved = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    assert moved("loyalty_http_request_duration_seconds_count", method="GET", route="/healthz", status="200") == 3
    assert moved("loyalty_wechat_calls_total", api="sns/jscode2session", outcome="ok") >= 1
    assert moved("loyalty_notifies_total", kind="payment", outcome="invalid") == 1
    assert value(after, "loyalty_metrics_source_up", source="database") == 1
    assert value(after, "loyalty_metrics_source_up", source="redis") == 1


def test_rate_limit_refusals_are_counted(client, login, operator, monkeypatch, rate_limits):
    from services.tasks import client_events
    monkeypatch.setattr(client_events, "REPORTS_PER_MINUTE", 0)
    headers, member = operator(), login()
    before = value(scrape(client, headers), "loyalty_rate_limit_refusals_total", limit="client-events")
    res = client.post("/api/v1/events", headers=member["headers"], json={"type": "view_article",
                                                                        "client_event_id": unique("e")})
    assert res.status_code == 429
    assert value(scrape(client, headers), "loyalty_rate_limit_refusals_total", limit="client-events") == before + 1


def test_metrics_read_the_queue_the_outbox_and_the_last_audit_at_scrape_time(app, client, operator):
    headers = operator()
    job = jobs.enqueue(f"{__name__}.echo_request_id")
    assert app.test_cli_runner().invoke(args=["audit-ledger"]).exit_code == 0
    samples = scrape(client, headers)
    assert value(samples, "loyalty_rq_jobs", queue=jobs.QUEUE_NAME, state="queued") >= 1
    assert ("loyalty_outbox_messages", (("status", "pending"),)) in samples
    assert ("loyalty_outbox_oldest_pending_age_seconds", ()) in samples
    assert value(samples, "loyalty_audit_ledger_last_problems") == 0
    assert value(samples, "loyalty_audit_ledger_last_run_timestamp_seconds") > 0
    for name in ("loyalty_reconcile_backlog_payments", "loyalty_refund_backlog", "loyalty_rewards_owed_payments"):
        assert (name, ()) in samples
    job.delete()


def test_a_scrape_with_redis_away_still_answers_and_says_so(app, client, operator, monkeypatch):
    headers = operator()
    monkeypatch.setitem(app.extensions, "redis", redis.Redis(port=1, socket_connect_timeout=0.5))
    samples = scrape(client, headers)
    assert value(samples, "loyalty_metrics_source_up", source="redis") == 0
    assert value(samples, "loyalty_metrics_source_up", source="database") == 1
