"""Metrics for Prometheus: what each process counts as it works, and what is read when Prometheus scrapes.

Counted: requests by route and status (with their latency), WeChat calls by API and outcome, notifies by
outcome, rate-limit refusals. Under gunicorn every worker process counts into its own files in
PROMETHEUS_MULTIPROC_DIR (set by gunicorn.conf.py; prometheus_client's multiprocess mode) and a scrape
adds them up; the worker (`flask worker`) counts into the same folder on its host. Without that folder
(`flask run`, tests) a process shows its own counts.

Read at each scrape (so any app host answers the same): the queue, and what each area contributes as
`gauges` (services.platform.areas): backlogs, the outbox, the last checks. A source that cannot be read
is reported by `loyalty_metrics_source_up{source} 0`, never by a failed scrape.
"""
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest,
                               values)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.worker import Worker
from sqlalchemy.exc import SQLAlchemyError

from models import db
from services.platform import clock
from services.platform.areas import wiring

log = logging.getLogger(__name__)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Histogram("loyalty_http_request_duration_seconds", "HTTP requests by route, method and status: latency",
                     ["method", "route", "status"], buckets=LATENCY_BUCKETS)
WECHAT_CALLS = Counter("loyalty_wechat_calls_total", "Calls to WeChat, WeChat Pay and WeCom by API and outcome "
                       "(ok, error: WeChat answered a failure, unreachable)", ["api", "outcome"])
WECHAT_LATENCY = Histogram("loyalty_wechat_call_duration_seconds", "Calls to WeChat by API: latency", ["api"],
                           buckets=LATENCY_BUCKETS)
NOTIFIES = Counter("loyalty_notifies_total", "Notifications and callbacks received, by kind and outcome",
                   ["kind", "outcome"])
REFUSALS = Counter("loyalty_rate_limit_refusals_total", "Requests refused by a rate limit, by limit", ["limit"])


@dataclass(frozen=True)
class Gauge:
    """One value read at scrape time: what an area's `gauges` function returns a list of."""

    name: str
    help: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).observe(seconds)


def count_wechat_call(api: str, outcome: str, seconds: float) -> None:
    WECHAT_CALLS.labels(api, outcome).inc()
    WECHAT_LATENCY.labels(api).observe(seconds)


def count_notify(kind: str, outcome: str) -> None:
    NOTIFIES.labels(kind, outcome).inc()


def count_refusal(limit: str) -> None:
    REFUSALS.labels(limit).inc()


def age_seconds(since) -> float:
    """How long ago `since` was, for an `…_age_seconds` gauge: 0 when there is nothing waiting (None)."""
    return max((clock.now() - since).total_seconds(), 0.0) if since is not None else 0.0


def count_as_one_process() -> None:
    """For the worker: its work horses (one process per job, one after another) count into one set of
    files named after the worker, not a set per job's process id (thousands for a scrape to add up)."""
    if os.environ.get(MULTIPROCESS_DIR):
        name = f"worker{os.getpid()}"
        values.ValueClass = values.MultiProcessValue(lambda: name)


def exposition() -> bytes:
    """The text Prometheus scrapes: the counts of every process on this host, then the values read now."""
    return generate_latest(_counted()) + generate_latest(_ReadNow())


def _counted():
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


class _ReadNow:
    """A collector of the values read at scrape time, one registry of its own per scrape."""

    def collect(self):
        gauges, up = [], {}
        up["redis"] = _read_into(gauges, _queue_gauges, (redis.RedisError, OSError))
        up["database"] = _read_into(gauges, _area_gauges, (SQLAlchemyError, redis.RedisError, OSError))
        yield from _families(gauges)
        source_up = GaugeMetricFamily("loyalty_metrics_source_up", "Whether a scrape could read the source",
                                      labels=["source"])
        for source, ok in up.items():
            source_up.add_metric([source], 1 if ok else 0)
        yield source_up


def _read_into(gauges: list, read, errors) -> bool:
    try:
        gauges += read()
        return True
    except errors:
        log.warning("metrics: %s could not be read", read.__name__, exc_info=True)
        return False
    finally:
        db.session.rollback()


def _area_gauges() -> list[Gauge]:
    return [gauge for read in wiring().gauges.values() for gauge in read()]


def _queue_gauges() -> list[Gauge]:
    from services.platform import jobs  # jobs imports request_log, which imports this module

    queue = jobs.queue()
    connection = queue.connection
    pipe = connection.pipeline(transaction=False)  # one round trip for the counts
    pipe.llen(queue.key)
    for registry in (StartedJobRegistry, ScheduledJobRegistry, FailedJobRegistry):
        pipe.zcard(registry(queue.name, connection=connection).key)
    queued, started, scheduled, failed = pipe.execute()
    workers = Worker.count(queue=queue)
    named = {"queue": queue.name}
    return [Gauge("loyalty_rq_jobs", "RQ jobs by state: queued, started (running), scheduled (delayed), failed",
                  count, {**named, "state": state})
            for state, count in (("queued", queued), ("started", started), ("scheduled", scheduled),
                                 ("failed", failed))] + \
        [Gauge("loyalty_rq_workers", "RQ workers registered on the queue", workers, named)]


def _families(gauges: Iterable[Gauge]):
    families: dict[str, GaugeMetricFamily] = {}
    for gauge in gauges:
        family = families.get(gauge.name)
        if family is None:
            family = families[gauge.name] = GaugeMetricFamily(gauge.name, gauge.help, labels=sorted(gauge.labels))
        family.add_metric([gauge.labels[name] for name in sorted(gauge.labels)], gauge.value)
    return families.values()
