"""The embedded redis-server: it keeps its data, the watcher starts it again, and the worker outlives it.

Every test runs its own redis-server in a temporary instance folder (a short path: a unix socket's
must stay under 108 bytes), and the worker tests a real `flask worker` process on it, with a SQLite
file in the same folder.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from rq import Queue, Worker

from services.platform import embedded_redis, jobs
from tests.support.processes import until

ROOT = Path(__file__).resolve().parents[2]
DESCRIBE = "services.platform.areas.describe"
# Long enough for the scheduler (a heartbeat a second) and a running job to fail on the missing server
OUTAGE_SECONDS = 2


@pytest.fixture
def instance():
    folder = Path(tempfile.mkdtemp(prefix="loyalty-redis-"))
    yield folder
    embedded_redis.stop(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def start_worker(instance):
    """Start `flask worker [options]` on the instance (its embedded Redis, a migrated SQLite file)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{instance / 'worker.sqlite3'}"}
    env.pop("REDIS_URL", None)
    flask = [sys.executable, "-m", "flask", "--app", f"app:create_app(instance_path={str(instance)!r})"]
    subprocess.run([*flask, "db", "upgrade", "heads"], cwd=ROOT, env=env, check=True, capture_output=True)
    started = []

    def _start(*options):
        embedded_redis.ensure_running(instance)
        with open(instance / "worker.log", "w") as log:
            started.append(subprocess.Popen([*flask, "worker", *options], cwd=ROOT, env=env, stdout=log,
                                            stderr=subprocess.STDOUT))
        assert finished(queue(instance).enqueue(jobs.run_job, DESCRIBE)), worker_log(instance)
        return started[-1]

    yield _start
    for process in started:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def client(instance) -> redis.Redis:
    """A new client of the instance's server (one made before a restart holds a dead connection)."""
    return redis.Redis.from_url(embedded_redis.socket_url(instance), socket_timeout=5)


def answers(instance) -> bool:
    try:
        return client(instance).ping()
    except redis.ConnectionError:
        return False


def queue(instance) -> Queue:
    return Queue(jobs.QUEUE_NAME, connection=client(instance))


def finished(job) -> bool:
    return until(lambda: job.get_status(refresh=True) == "finished")


def worker_log(instance) -> str:
    return "worker log, last lines:\n" + "\n".join((instance / "worker.log").read_text().splitlines()[-30:])


def server_pid(instance) -> int | None:
    """The pid in the server's pidfile (None while a new server is writing it)."""
    try:
        return int((instance / "redis.pid").read_text())
    except (FileNotFoundError, ValueError):
        return None


def wait_until_idle(instance):
    """Until RQ reports the worker waiting for jobs (not still recording the last one)."""
    assert until(lambda: [w.get_state() for w in Worker.all(connection=client(instance))] == ["idle"])


def kill_server(instance) -> int:
    """SIGKILL the instance's redis-server (no chance to save) and wait until it is gone; its pid."""
    pid = server_pid(instance)
    os.kill(pid, signal.SIGKILL)
    assert until(lambda: not answers(instance), 10)
    return pid


def assert_worker_back(worker, instance):
    jobs_queue = queue(instance)
    assert finished(jobs_queue.enqueue(jobs.run_job, DESCRIBE)), worker_log(instance)
    # a delayed job is moved to the queue by the worker's scheduler, so this one needs it back
    assert finished(jobs_queue.enqueue_in(timedelta(seconds=1), jobs.run_job, DESCRIBE)), worker_log(instance)
    assert worker.poll() is None, worker_log(instance)
    worker.terminate()
    assert worker.wait(20) == 0, worker_log(instance)


def test_server_saves_by_its_policy_in_the_instance_folder(instance):
    server = redis.Redis.from_url(embedded_redis.ensure_running(instance), decode_responses=True)
    assert server.config_get("save") == {"save": "60 1"}
    assert server.config_get("dir") == {"dir": str(instance.resolve())}
    assert server.config_get("dbfilename") == {"dbfilename": "redis.rdb"}
    server.set("kept", "yes")
    # Stopped as the system stops it: a server with no save policy writes nothing then
    os.kill(server_pid(instance), signal.SIGTERM)
    assert until(lambda: not answers(instance), 10)
    embedded_redis.ensure_running(instance)
    assert client(instance).get("kept") == b"yes"
    assert (instance / "redis.rdb").exists()


def test_watcher_starts_a_dead_server_again_on_the_same_socket_and_data(instance):
    url = embedded_redis.ensure_running(instance)
    with open(instance / "watch.log", "w") as out:
        watcher = subprocess.Popen([sys.executable, "-m", "services.platform.embedded_redis", "watch", str(instance),
                                    "--every", "0.1"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        said = (instance / "watch.log").read_text
        assert until(lambda: "==> watching" in said(), 20), said()
        client(instance).set("kept", "yes")
        client(instance).save()
        dead = kill_server(instance)
        assert until(lambda: answers(instance), 20), said()
        assert server_pid(instance) not in (None, dead)
        assert client(instance).get("kept") == b"yes"
        assert client(instance).config_get("dir") == {"dir": str(instance.resolve())}
        assert until(lambda: f"(pid {dead}) had died: started it again" in said(), 10), said()
        assert url in said()
    finally:
        watcher.terminate()
        assert watcher.wait(10) == 0


def test_worker_outlives_redis_dying_under_a_job(start_worker, instance):
    worker = start_worker()
    job = queue(instance).enqueue(jobs.run_job, "time.sleep", 1)
    assert until(lambda: job.get_status(refresh=True) == "started"), worker_log(instance)
    client(instance).save()  # as the save policy would have: the dump keeps the scheduler's lock
    kill_server(instance)
    time.sleep(OUTAGE_SECONDS)
    embedded_redis.ensure_running(instance)
    assert_worker_back(worker, instance)


def test_worker_stops_when_asked_just_after_redis_came_back(start_worker, instance):
    """As with the watcher: Redis is back at once, and the worker's pubsub connection, lost with the old
    server, is not yet made again (its thread waits 2 s between tries). RQ's teardown must not send
    UNSUBSCRIBE then: redis-py's PubSub deadlocks reconnecting for it (redis/redis-py#3640)."""
    worker = start_worker()
    wait_until_idle(instance)
    kill_server(instance)
    # RQ's words when its dequeue fails: the pubsub thread has lost its connection by then too
    assert until(lambda: "could not connect to Redis" in (instance / "worker.log").read_text()), worker_log(instance)
    embedded_redis.ensure_running(instance)
    worker.terminate()
    assert until(lambda: worker.poll() is not None, 20), worker_log(instance)
    assert worker.returncode == 0, worker_log(instance)


def test_worker_starts_its_scheduler_again_after_redis_dies_while_idle(start_worker, instance):
    worker = start_worker()
    wait_until_idle(instance)
    kill_server(instance)
    time.sleep(OUTAGE_SECONDS)
    embedded_redis.ensure_running(instance)
    assert_worker_back(worker, instance)


def test_periodic_ticks_resume_when_redis_answers_again(start_worker, instance):
    worker = start_worker("--tick-seconds", "1")
    key = jobs.PERIODIC_KEY.format(name="messages.sweep")
    assert until(lambda: client(instance).exists(key)), worker_log(instance)
    kill_server(instance)
    time.sleep(OUTAGE_SECONDS)
    embedded_redis.ensure_running(instance)
    client(instance).delete(key)
    assert until(lambda: client(instance).exists(key)), worker_log(instance)
    assert worker.poll() is None, worker_log(instance)
