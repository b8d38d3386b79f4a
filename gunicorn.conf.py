"""gunicorn settings for `gunicorn -c gunicorn.conf.py "app:create_app()"`.

Without REDIS_URL (nor REDIS_SENTINELS), the master starts the instance's embedded redis-server once, before forking,
and hands its URL to every worker: one Redis per instance folder, never one per worker. It also
starts a watcher that starts the server again if it dies, and stops both on exit.

The master never imports the app (`flask deploy-check` runs in a process of its own), so the workers a
reload (HUP) starts load the code as it is then.

Metrics: every worker counts into PROMETHEUS_MULTIPROC_DIR (default `instance/prometheus`, emptied at
start), which /metrics adds up (services/platform/metrics.py). Logs: with LOG_FORMAT json (the default)
gunicorn's own lines and the app's are JSON objects on stderr; the app writes each request's access line
itself (with its id, route and principal), so gunicorn's access log is off unless ACCESS_LOG names a file.
"""
import gc
import multiprocessing
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
INSTANCE = os.path.join(ROOT, "instance")
# before anything imports prometheus_client: it picks its multiprocess mode when first imported
METRICS_DIR = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(INSTANCE, "prometheus"))

from gunicorn.glogging import Logger  # noqa: E402
from pythonjsonlogger.json import JsonFormatter  # noqa: E402

bind = os.environ.get("BIND", "127.0.0.1:8700")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "4"))
accesslog = os.environ.get("ACCESS_LOG") or None
timeout = 30
# SIGTERM and SIGHUP (reload): requests in flight finish within this; none runs longer than `timeout`,
# so every one does. A supervisor's stop timeout (systemd's TimeoutStopSec) must be longer.
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", timeout))


class JsonErrorLog(Logger):
    """gunicorn's own lines (starts, stops, worker timeouts) as JSON objects, like the app's; set up again
    by every reload. Its access log stays off (accesslog unset): the app writes the access lines."""

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
                                               rename_fields={"asctime": "time", "levelname": "level",
                                                              "name": "logger"}))


if os.environ.get("LOG_FORMAT", "json") == "json":
    logger_class = JsonErrorLog

_started_redis = False
_watcher = None


def on_starting(server):
    global _started_redis, _watcher
    shutil.rmtree(METRICS_DIR, ignore_errors=True)  # the counts of a previous run's processes are not ours
    os.makedirs(METRICS_DIR, exist_ok=True)
    _refuse_unsafe_deployment(server.log)
    if not os.environ.get("REDIS_URL") and not os.environ.get("REDIS_SENTINELS"):
        from services.platform import embedded_redis  # only then: the master imports no code of the app's
        os.environ["REDIS_URL"] = embedded_redis.ensure_running(INSTANCE)
        _started_redis = True
        server.log.info("embedded redis-server at %s", os.environ["REDIS_URL"])
        # a process, not a thread: the master forks its workers
        _watcher = subprocess.Popen([sys.executable, "-m", "services.platform.embedded_redis", "watch", INSTANCE],
                                    cwd=ROOT)


def _refuse_unsafe_deployment(log):
    """`flask deploy-check` (services/platform/deploy_checks.py), in a process of its own: the master never
    imports the app, so the workers a reload (HUP) starts import the code as it is then. What it says is
    logged as gunicorn's own lines."""
    checked = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "deploy-check"], cwd=ROOT,
                             capture_output=True, text=True)
    for line in (checked.stdout + checked.stderr).splitlines():
        (log.info if checked.returncode == 0 else log.error)("deploy-check: %s", line)
    if checked.returncode != 0:
        raise SystemExit(f"refusing to serve: flask deploy-check exited {checked.returncode}")


def post_worker_init(worker):
    """The app is loaded: its modules, schemas and prebuilt statements live as long as the worker, so
    the collector need not walk them again (gen-2 collections that stop every thread for tens of ms
    are what a request's p99 saw)."""
    gc.freeze()


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)  # its live gauges go; its counts stay in the sums


def on_exit(server):
    if _watcher is not None:
        _watcher.terminate()  # before the server stops, or the watcher would start it again
        _watcher.wait(10)
    if _started_redis and not os.environ.get("KEEP_EMBEDDED_REDIS"):
        from services.platform import embedded_redis
        embedded_redis.stop(INSTANCE)
