"""The long-running worker (`flask worker`): a forking RQ worker in the app's context, with its
scheduler and the periodic tick, that outlives Redis going away and comes back with it.

Stopping: SIGTERM to the worker alone is RQ's warm shutdown (the job in hand finishes, then it exits);
SIGTERM to its work horse too (systemd's default KillMode) kills the job, which RQ's Retry queues again
at once (services/platform/jobs.py). A worker killed outright (SIGKILL, a lost host) stops sending
its heartbeats: within about --abandoned-seconds, another worker's registry cleanup finds its job
abandoned and queues it again.
"""
import json
import logging
import signal
import threading
import time
from contextlib import suppress

import click
import redis
from flask import current_app
from flask.cli import with_appcontext
from rq import Queue, Worker
from rq.exceptions import StopRequested

from models import db
from services.platform import deploy_checks, metrics
from services.platform.areas import describe
from services.platform.jobs import QUEUE_NAME, TICK_SECONDS, InAppContext, drain, tick, worker_connection
from services.platform.redis_client import get_redis

log = logging.getLogger(__name__)

# While Redis is away, the worker and the tick try again after these, doubling in between
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 10
PUBSUB_JOIN_SECONDS = 5
# A job whose worker has sent no heartbeat for this long is taken for abandoned and run again
ABANDONED_SECONDS = 60


class AppWorker(InAppContext, Worker):
    """Forks a work horse per job, as RQ does; the horse runs the job in the worker's app context.

    While Redis is away it waits for it (RQ's backoff, capped lower), and it starts its scheduler
    again as soon as Redis answers: the scheduler process exits on the first command that fails.
    """

    max_connection_wait_time = RECONNECT_MAX_SECONDS
    stop_requested = False

    def __init__(self, *args, abandoned_seconds: int = ABANDONED_SECONDS, **kwargs):
        """RQ's liveness settings scaled to `abandoned_seconds` (its defaults leave a dead worker's job for
        90 s, then up to 7 minutes until an idle worker cleans the registries): a heartbeat every quarter
        of it, and each worker's maintenance, waits for jobs included, every half."""
        half = max(1, abandoned_seconds // 2)
        super().__init__(*args, job_monitoring_interval=max(1, abandoned_seconds // 4), maintenance_interval=half,
                         worker_ttl=half + 15, **kwargs)  # RQ waits for a job worker_ttl - 15 s at most
        self.abandoned_seconds = abandoned_seconds

    def get_heartbeat_ttl(self, job) -> int:
        """How long the job's place in the started registry lasts without a heartbeat: `abandoned_seconds`
        (RQ's own: a heartbeat interval plus a minute)."""
        return super().get_heartbeat_ttl(job) - 60 + self.abandoned_seconds - self.job_monitoring_interval

    def request_stop(self, signum, frame):
        """RQ's warm shutdown, remembered for serve; with Redis away RQ cannot read the state it
        decides by, so the worker stops at once."""
        self.stop_requested = True
        try:
            super().request_stop(signum, frame)
        except redis.RedisError:
            raise StopRequested() from None

    @property
    def should_run_maintenance_tasks(self):
        # RQ restarts a dead scheduler only in its maintenance, every 10 minutes
        return super().should_run_maintenance_tasks or self.scheduler_died()

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        if self.scheduler_died():
            # Another worker's scheduler has the lock: RQ's regular maintenance tries again later
            self.scheduler._process = None

    def unsubscribe(self):
        """Stop listening for RQ's commands: the listening thread is told to stop and woken by a message
        RQ ignores, so that it leaves its wait and closes its own connection.

        RQ sends UNSUBSCRIBE first; when the connection was lost with a Redis that is back, redis-py's
        PubSub reconnects under its lock and re-subscribes under the same lock: a deadlock that kept the
        worker from ever stopping (redis/redis-py#3640). RQ then closes the connection while the thread
        may still wait on its file descriptor (for up to a minute), which a new connection can reuse.
        With Redis away the thread leaves on its next failed read.
        """
        if self.pubsub_thread:
            self.pubsub_thread.stop()
            with suppress(redis.RedisError):
                self.connection.publish(self.pubsub_channel_name, json.dumps({"command": "wake"}))
            self.pubsub_thread.join(timeout=PUBSUB_JOIN_SECONDS)

    def scheduler_died(self) -> bool:
        """Whether this worker started a scheduler process that has exited since."""
        process = self.scheduler._process if self.scheduler else None
        return process is not None and not process.is_alive()


def serve(app, tick_seconds: float = TICK_SECONDS, abandoned_seconds: int = ABANDONED_SECONDS) -> None:
    """Work until asked to stop: a forking RQ worker with its scheduler, plus a thread that ticks every
    tick_seconds.

    Redis going away does not end it. An idle RQ worker waits for Redis itself; one that gives up
    (Redis failed it in the middle of a job, or timed out) is replaced once Redis answers again.
    The thread only touches Redis (it queues periodic tasks, the worker runs them), so the forked work
    horses inherit no database connection.
    """
    stop = threading.Event()
    threading.Thread(target=_tick_loop, args=(app, stop, tick_seconds), name="periodic-tick", daemon=True).start()
    try:
        worker, lived = _work(app, abandoned_seconds)
        delay = RECONNECT_FIRST_SECONDS
        while not worker.stop_requested:
            log.warning("worker %s stopped on its own (Redis away?): replacing it once Redis answers", worker.name)
            # growing, so that a worker stopping at once for another reason is not restarted in a tight loop
            delay = RECONNECT_FIRST_SECONDS if lived > RECONNECT_MAX_SECONDS else min(delay * 2, RECONNECT_MAX_SECONDS)
            _stop_on_signals()  # RQ's handlers belong to the worker that stopped
            _wait_for_redis(delay)
            worker, lived = _work(app, abandoned_seconds, after=worker)
    except StopRequested:  # asked to stop between two workers
        pass
    finally:
        stop.set()


def _work(app, abandoned_seconds: int, after: AppWorker | None = None) -> tuple[AppWorker, float]:
    """Run one RQ worker until it stops; returns it and the seconds it ran. `after`: the worker it replaces."""
    connection = worker_connection()
    worker = AppWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection, app=app,
                       abandoned_seconds=abandoned_seconds)
    started = time.monotonic()
    try:
        if after is not None:
            _clear_after(after)
        worker.work(with_scheduler=True)
    except redis.RedisError as error:  # from RQ's teardown, which talks to Redis
        log.warning("worker %s: Redis failed it: %s", worker.name, error)
    finally:
        _stop_what_teardown_left(worker)
        connection.connection_pool.disconnect()
    return worker, time.monotonic() - started


def _stop_what_teardown_left(worker: AppWorker) -> None:
    """RQ's teardown stops the scheduler, registers the worker's death in Redis, then stops its pubsub
    thread: when Redis failed it (or it never ran), the rest is still running."""
    scheduler = worker.scheduler._process if worker.scheduler else None
    if scheduler is not None and scheduler.is_alive():
        worker.stop_scheduler()
    if worker.pubsub_thread is not None and worker.pubsub_thread.is_alive():
        worker.pubsub_thread.stop()  # it closes its connection as it ends


def _clear_after(worker: AppWorker) -> None:
    """Take a failed worker's registration out of Redis, and its scheduler's lock: a restored dump keeps
    the lock, and the next worker's scheduler would not start until RQ's maintenance, minutes later."""
    with suppress(redis.RedisError):
        worker.register_death()
        if worker.scheduler:
            worker.scheduler.release_locks()


def _wait_for_redis(first: float) -> None:
    """Sleep `first` seconds, then until Redis answers, with backoff."""
    wait = first
    while True:
        time.sleep(wait)
        with suppress(redis.RedisError):
            get_redis().ping()
            return
        wait = min(wait * 2, RECONNECT_MAX_SECONDS)


def _stop_on_signals() -> None:
    """SIGTERM and SIGINT end serve while no RQ worker runs (each worker installs its own handlers)."""
    def stop(signum, frame):
        raise StopRequested()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)


def _tick_loop(app, stop: threading.Event, seconds: float) -> None:
    """Tick every `seconds`; while Redis is away, try again sooner, so ticks resume as soon as it answers."""
    failures = 0
    while not stop.is_set():
        failures = 0 if _tick_logged(app, failures) else failures + 1
        stop.wait(min(RECONNECT_FIRST_SECONDS * 2 ** (failures - 1), seconds) if failures else seconds)


def _tick_logged(app, failures: int) -> bool:
    """One tick in the app's context, logged; False when Redis failed it."""
    with app.app_context():
        try:
            due = tick()
        except redis.RedisError as error:
            if not failures:
                log.warning("periodic tick: Redis is away (%s); trying again until it answers", error)
            return False
        except Exception:
            log.exception("periodic tick failed")
            return True
    if failures:
        log.warning("periodic tick: Redis answers again")
    if due:
        log.info("periodic tasks queued: %s", ", ".join(due))
    return True


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run what is due and queued, then exit.")
@click.option("--tick-seconds", type=click.FloatRange(min=0.1), default=TICK_SECONDS, show_default=True,
              help="Seconds between periodic ticks.")
@click.option("--abandoned-seconds", type=click.IntRange(min=4), default=ABANDONED_SECONDS, show_default=True,
              help="Seconds without a heartbeat after which a worker's job is run again by another.")
@with_appcontext
def worker_command(burst, tick_seconds, abandoned_seconds):
    """Run background jobs and periodic tasks (with --burst: once, then exit)."""
    if not burst:
        deploy_checks.refuse_demo_operator(current_app.config)
        db.engine.dispose()  # the work horses fork from this process: none may inherit its connection
        click.echo(f"worker on queue {QUEUE_NAME!r}\n{describe()}")
        metrics.count_as_one_process()
        serve(current_app._get_current_object(), tick_seconds, abandoned_seconds)
        return
    due = tick()
    click.echo(f"periodic tasks queued: {', '.join(due) or 'none due'}")
    report = drain()
    click.echo(f"jobs run: {sum(sum(c.values()) for c in report.values())}")
    for target, outcomes in sorted(report.items()):
        click.echo(f"  {target}: " + ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items())))
