"""What an operator sees of a running instance: gunicorn with several worker processes answers /metrics
with every process's counts added up, and writes its log as JSON lines carrying each request's id."""
import json
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.api import bearer
from tests.support.processes import deployed, until

TOKEN = "scrape-token-for-the-test"
REQUESTS = 60


@pytest.fixture(scope="module")
def web(app, sandbox, tmp_path_factory):
    """One instance of three worker processes (so requests land on several), JSON logs, a scrape token."""
    yield from deployed(app, sandbox, tmp_path_factory.mktemp("observed"), webs={"web": (3, 2)}, workers=(),
                        worker_options=(), env={"LOG_FORMAT": "json", "METRICS_TOKEN": TOKEN})


def scraped(base: str) -> dict:
    res = requests.get(f"{base}/metrics", headers=bearer(TOKEN), timeout=10)
    assert res.status_code == 200, res.text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(res.text) for sample in family.samples}


def test_metrics_add_up_every_worker_process_the_replaced_ones_too(web):
    """Requests, a reload (HUP: every worker process replaced), requests again: a scrape, whichever process
    answers it, counts them all."""
    instance = web.webs[0]
    key = ("loyalty_http_request_duration_seconds_count", (("method", "GET"), ("route", "/healthz"),
                                                           ("status", "200")))
    probed = scraped(instance.url).get(key, 0)  # the readiness probes
    load(instance, "before")
    booted = booted_workers(instance)
    instance.send(signal.SIGHUP)
    assert until(lambda: len(booted_workers(instance)) >= len(booted) + 3, 60), instance.tail()
    load(instance, "after")
    served_by = {line["process"] for line in access_lines(instance) if line["request_id"].startswith("load-")}
    assert len(served_by) > 1
    assert {scraped(instance.url)[key] - probed for _ in range(6)} == {2 * REQUESTS}
    assert requests.get(f"{instance.url}/metrics", timeout=10).status_code == 401


def load(instance, phase: str) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda n: requests.get(f"{instance.url}/healthz",
                                                       headers={"X-Request-Id": f"load-{phase}-{n}"}, timeout=10),
                                range(REQUESTS)))
    assert {res.status_code for res in answers} == {200}


def booted_workers(instance) -> list[dict]:
    return [line for line in parsed(instance) if line["message"].startswith("Booting worker")]


def test_log_lines_are_json_with_the_request_id(web):
    instance = web.webs[0]
    res = requests.get(f"{instance.url}/api/v1/nothing-here", headers={"X-Request-Id": "trace-404"}, timeout=10)
    assert res.status_code == 404 and res.headers["X-Request-Id"] == "trace-404"
    lines = parsed(instance)
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)
    refused = [line for line in access_lines(instance) if line.get("request_id") == "trace-404"]
    assert len(refused) == 1  # one access line a request: gunicorn's own access log stays off
    assert refused[0]["status"] == 404 and refused[0]["route"] == "unmatched" and refused[0]["duration_ms"] >= 0


def parsed(instance) -> list[dict]:
    """Every line of the instance's log, each a JSON object (json.loads fails the test on any other)."""
    return [json.loads(line) for line in instance.log.read_text().splitlines() if line.strip()]


def access_lines(instance) -> list[dict]:
    return [line for line in parsed(instance) if line["logger"] == "loyalty.access"]
