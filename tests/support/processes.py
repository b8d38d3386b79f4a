"""Real processes for the tests of a deployment: gunicorn instances and `flask worker`s on a test app's
database and Redis, with the WeChat sandbox, their logs and signals, and waiting with a deadline."""
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from rq import Worker

from services.ledger import points
from services.platform import clock, embedded_redis, jobs
from services.platform.db import transaction
from tests.support.api import unique

ROOT = Path(__file__).resolve().parents[2]
STOP_SECONDS = 40  # beyond gunicorn's graceful_timeout

needs_postgresql = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="several server and worker processes writing at once need PostgreSQL (SQLite takes one writer at a "
           "time); CI's second pass runs these on PostgreSQL")


def until(predicate, seconds: float = 30.0, every: float = 0.05):
    """Poll `predicate` until it is true or `seconds` have passed; its last value."""
    deadline = time.monotonic() + seconds
    while not (value := predicate()) and time.monotonic() < deadline:
        time.sleep(every)
    return value


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """The pids of `pid`'s children, theirs, and so on (from /proc: an RQ horse leaves its process group)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


class Process:
    """A started process, its log file and its signals."""

    def __init__(self, name: str, command: list[str], env: dict, log: Path):
        self.name, self.command, self.env, self.log = name, command, env, log
        self.popen = self._start()

    def _start(self) -> subprocess.Popen:
        with open(self.log, "a") as out:
            return subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)

    def restart(self):
        assert self.popen.poll() is not None, f"{self.name} is still running"
        self.popen = self._start()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def send(self, signum: int, *, with_children: bool = False):
        """Signal the process (and, `with_children`, every process under it, as systemd's cgroup would)."""
        for pid in [self.pid, *(descendants(self.pid) if with_children else [])]:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def exited(self, seconds: float = STOP_SECONDS) -> int | None:
        """Its exit status once it has exited, within `seconds`; None if it still runs."""
        try:
            return self.popen.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.popen.poll() is None:
            self.send(signal.SIGTERM)
            if self.exited() is None:
                self.send(signal.SIGKILL, with_children=True)
                self.popen.wait(10)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} (pid {self.pid}), last lines:\n" + "\n".join(text.splitlines()[-lines:])


class Deployment:
    """Gunicorn instances and workers started as they run in production, on `app`'s database and Redis
    and the sandbox as WeChat; each instance is WeChat Pay's notify address for the payments it starts."""

    def __init__(self, app, sandbox, folder: Path, env: dict | None = None):
        self.folder, self.processes = folder, []
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": app.config["DATABASE_URL"],
                    "REDIS_URL": app.config.get("REDIS_URL") or embedded_redis.socket_url(app.instance_path),
                    "SECRET_KEY": app.config["SECRET_KEY"], "RATE_LIMITS_ENABLED": "0",
                    "WECHAT_API_BASE_URL": sandbox.url, "WECHAT_PAY_BASE_URL": sandbox.url,
                    "WECOM_API_BASE_URL": f"{sandbox.url}cgi-bin/", **(env or {})}

    def gunicorn(self, name: str, workers: int = 1, threads: int = 4) -> Process:
        """`gunicorn -c gunicorn.conf.py "app:create_app()"` on a free port (its base URL in `.url`)."""
        url = f"http://127.0.0.1:{free_port()}"
        env = {**self.env, "BIND": url.removeprefix("http://"), "WEB_CONCURRENCY": str(workers),
               "PROMETHEUS_MULTIPROC_DIR": str(self.folder / f"{name}-metrics"),  # each instance empties its own
               "THREADS": str(threads), "WECHAT_NOTIFY_URL": f"{url}/api/v1/payments/wechat/notify",
               "WECHAT_REFUND_NOTIFY_URL": f"{url}/api/v1/payments/wechat/refund-notify"}
        process = self._start(name, [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py",
                                     "app:create_app()"], env)
        process.url = url
        return process

    def worker(self, name: str, *options: str) -> Process:
        """`flask worker [options]`."""
        return self._start(name, [sys.executable, "-m", "flask", "--app", "app", "worker", *options], self.env)

    def _start(self, name, command, env) -> Process:
        process = Process(name, command, env, self.folder / f"{name}.log")
        self.processes.append(process)
        return process

    def wait_until_ready(self, seconds: float = 60.0):
        """Every instance answers /healthz and every worker has registered with RQ."""
        for process in self.processes:
            assert until(lambda: self.ready(process) or process.popen.poll() is not None, seconds), self.logs()
            assert process.popen.poll() is None, self.logs()

    def ready(self, process: Process) -> bool:
        if hasattr(process, "url"):
            try:
                return requests.get(f"{process.url}/healthz", timeout=2).status_code == 200
            except requests.RequestException:  # not listening yet, or its workers still loading the app
                return False
        return process.pid in worker_pids()

    def running(self, job) -> Process:
        """The worker process running `job`, once RQ says it has started it."""
        assert until(lambda: job.refresh() or (job.get_status() == "started" and job.worker_name)), self.logs()
        pid = Worker.find_by_key(Worker.redis_worker_namespace_prefix + job.worker_name,
                                 connection=jobs.queue().connection).pid
        return next(process for process in self.workers if process.pid == pid)

    def stop(self):
        for process in self.processes:
            process.send(signal.SIGTERM)
        for process in self.processes:
            process.stop()

    def logs(self) -> str:
        return "\n".join(process.tail() for process in self.processes)


def worker_pids() -> set[int]:
    """The pids of the RQ workers registered on the jobs queue (in the current app's Redis)."""
    return {worker.pid for worker in Worker.all(queue=jobs.queue())}


def deployed(app, sandbox, folder: Path, webs: dict, workers: tuple, worker_options: tuple, env: dict | None = None):
    """A fixture's body: start `webs` ({name: (workers, threads)}) and `workers` (names), each worker with
    `worker_options`, wait until all are ready, yield the Deployment (`.webs`, `.workers`), stop them all.
    `env`: settings of their environment beyond the test app's."""
    deployment = Deployment(app, sandbox, folder, env)
    try:
        deployment.webs = [deployment.gunicorn(name, *shape) for name, shape in webs.items()]
        deployment.workers = [deployment.worker(name, *worker_options) for name in workers]
        with app.app_context():
            deployment.wait_until_ready()
        yield deployment
    finally:
        deployment.stop()


def due_lots(make_member, lots: int, per_member: int = 100) -> list[int]:
    """Members holding `lots` points lots past their expiry (3 points each): work for `points.expire_due`,
    a real job, long enough (one transaction a lot) to be caught in the middle. Their ids."""
    members = [make_member()["member"]["id"] for _ in range(lots // per_member)]
    past = clock.now() - timedelta(days=1)
    with transaction():
        for member_id in members:
            for _ in range(per_member):
                points.earn(member_id, 3, reason="test", business_key=unique("lot"), expires_at=past)
    return members
