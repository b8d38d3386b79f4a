"""gunicorn settings for `gunicorn -c gunicorn.conf.py "app:create_app()"`.

Without REDIS_URL (nor REDIS_SENTINELS), the master starts the instance's embedded redis-server once, before forking,
and hands its URL to every worker: one Redis per instance folder, never one per worker. It also
starts a watcher that starts the server again if it dies, and stops both on exit.
"""
import gc
import multiprocessing
import os
import subprocess
import sys

from services.platform import embedded_redis

bind = os.environ.get("BIND", "127.0.0.1:8700")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "4"))
accesslog = os.environ.get("ACCESS_LOG", "-")
timeout = 30
ROOT = os.path.dirname(os.path.abspath(__file__))
INSTANCE = os.path.join(ROOT, "instance")
_started_redis = False
_watcher = None


def on_starting(server):
    global _started_redis, _watcher
    _refuse_unsafe_deployment()
    if not os.environ.get("REDIS_URL") and not os.environ.get("REDIS_SENTINELS"):
        os.environ["REDIS_URL"] = embedded_redis.ensure_running(INSTANCE)
        _started_redis = True
        server.log.info("embedded redis-server at %s", os.environ["REDIS_URL"])
        # a process, not a thread: the master forks its workers
        _watcher = subprocess.Popen([sys.executable, "-m", "services.platform.embedded_redis", "watch", INSTANCE],
                                    cwd=ROOT)


def _refuse_unsafe_deployment():
    """Build the app once in the master to check it may serve (services/platform/deploy_checks.py):
    create_app refuses the sandbox's secrets with a real app id, and the check here the demo operator."""
    from app import create_app
    from models import db
    from services.platform import deploy_checks

    app = create_app()
    with app.app_context():
        deploy_checks.refuse_demo_operator(app.config)
        db.engine.dispose()  # the workers fork from here: they must not share its connections


def post_worker_init(worker):
    """The app is loaded: its modules, schemas and prebuilt statements live as long as the worker, so
    the collector need not walk them again (gen-2 collections that stop every thread for tens of ms
    are what a request's p99 saw)."""
    gc.freeze()


def on_exit(server):
    if _watcher is not None:
        _watcher.terminate()  # before the server stops, or the watcher would start it again
        _watcher.wait(10)
    if _started_redis and not os.environ.get("KEEP_EMBEDDED_REDIS"):
        embedded_redis.stop(INSTANCE)
