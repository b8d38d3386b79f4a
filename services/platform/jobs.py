"""Background jobs on RQ: one queue, jobs that run inside the worker's app context, and periodic tasks.

Any services module queues work with `jobs.enqueue("services.area.module.function", *args)`. Periodic
tasks are declared by their area (`Periodic(...)` in its `AREA`, see services.platform.areas) and
ticked from the app's wiring. The worker (services/platform/worker.py) is given its app when it starts
(`flask worker` builds it) and pushes that app's context around each job: nothing here imports the app.
Jobs may run twice (a worker dies, a sweep and a queued job meet): every target must be idempotent.
That is what makes RQ's Retry safe here: a job that raised, or whose worker died under it (its horse
killed, or the whole worker: RQ's registry cleanup finds it abandoned), is queued again at once.
"""
import logging
from collections import Counter
from datetime import datetime, timedelta

import redis
from flask import current_app
from rq import Queue, Retry, SimpleWorker, get_current_job
from rq.job import Job

from services.platform import clock, request_log
from services.platform.areas import function_at, wiring
from services.platform.redis_client import get_redis, new_client

log = logging.getLogger(__name__)

QUEUE_NAME = "loyalty"
TICK_SECONDS = 30
PERIODIC_KEY = "jobs:periodic:{name}"
# Runs after the first: at once (no interval, so no scheduler is needed, whose lock a dead worker may hold)
RETRIES = 2
# RQ kills a job running longer (its default is 180 s): an hourly batch over a national brand's members runs
# longer than that, and a killed one would only start over
JOB_TIMEOUT_SECONDS = 3600
_RUN = {"retry": Retry(max=RETRIES), "job_timeout": JOB_TIMEOUT_SECONDS}


def queue() -> Queue:
    """The one RQ queue, on the app's Redis."""
    return Queue(QUEUE_NAME, connection=get_redis())


def enqueue(func_path: str, *args, at: datetime | None = None, job_id: str | None = None) -> Job:
    """Queue `func_path(*args)` to run in a worker; `at` (an instant on the app clock) delays it. The job
    carries the id of the request queueing it, for its log lines."""
    meta = {"request_id": request_id} if (request_id := request_log.current_id()) else None
    if at is None:
        return queue().enqueue(run_job, func_path, *args, job_id=job_id, meta=meta, **_RUN)
    # RQ's scheduler runs on real time (the app clock may be moved, in tests), so pass a delay; it keeps
    # whole seconds, rounding down, so one more second makes the job run just after `at`, never before
    delay = max(at - clock.now(), timedelta(0)) + timedelta(seconds=1)
    return queue().enqueue_in(delay, run_job, func_path, *args, job_id=job_id, meta=meta, **_RUN)


def run_job(func_path: str, *args):
    """The function every job runs: the target, in a fresh app context of the app running the job
    (its own database session, removed when the job ends), logging under the id of the request that
    queued it (or `job-<id>`)."""
    job = get_current_job()
    request_id = (job.meta.get("request_id") or f"job-{job.id}") if job is not None else None
    with current_app.app_context():
        token = request_log.REQUEST_ID.set(request_id)
        try:
            return function_at(func_path)(*args)
        finally:
            request_log.REQUEST_ID.reset(token)


# -- periodic tasks ---------------------------------------------------------------------------

def tick() -> list[str]:
    """Queue each periodic task whose period has passed; returns their names.

    The last run is a Redis key set with NX and expiring after the period, so however many workers
    tick, each task is queued once per period.
    """
    redis, due = get_redis(), []
    for name, job in sorted(wiring().periodic.items()):
        if redis.set(PERIODIC_KEY.format(name=name), clock.now().isoformat(), nx=True, ex=job.seconds):
            enqueue(job.target)
            due.append(name)
    return due


# -- workers ----------------------------------------------------------------------------------

def worker_connection() -> redis.Redis:
    """A client of the app's Redis for a worker alone: RQ stretches its socket timeout for blocking pops."""
    return new_client()


class InAppContext:
    """An RQ worker that runs each job inside its app's context (the app it was given at start)."""

    def __init__(self, *args, app, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app

    def perform_job(self, job, queue):
        with self.app.app_context():
            return super().perform_job(job, queue)


class _BurstWorker(InAppContext, SimpleWorker):
    """Runs jobs in this process and remembers them for the report (a job retried: once, as it ended)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ran: dict[str, Job] = {}

    def execute_job(self, job, queue):
        super().execute_job(job, queue)
        self.ran[job.id] = job


def drain() -> dict[str, Counter]:
    """Run every queued job (and every scheduled one now due) in this process, then return.

    Returns, per target function, a count of job outcomes: the value returned when it is a string
    (e.g. "sent"), "ok" otherwise, or "error" when the job raised.
    """
    connection = worker_connection()
    worker = _BurstWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection,
                          app=current_app._get_current_object())
    try:
        worker.work(burst=True, with_scheduler=True, logging_level="WARNING")
    finally:
        connection.connection_pool.disconnect()
    report: dict[str, Counter] = {}
    for job in worker.ran.values():
        target = job.args[0] if job.args else job.func_name
        result = job.return_value() if job.get_status() == "finished" else "error"
        report.setdefault(target, Counter())[result if isinstance(result, str) else "ok"] += 1
    return report
