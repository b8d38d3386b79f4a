"""gunicorn settings for `gunicorn -c gunicorn.conf.py "app:create_app()"`.

Without REDIS_URL, the master starts the instance's embedded redis-server once, before forking,
and hands its URL to every worker: one Redis per instance folder, never one per worker.
"""
import multiprocessing
import os

from services.platform import embedded_redis

bind = os.environ.get("BIND", "127.0.0.1:8700")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("THREADS", 4))
accesslog = os.environ.get("ACCESS_LOG", "-")
timeout = 30
INSTANCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "instance")
_started_redis = False


def on_starting(server):
    global _started_redis
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = embedded_redis.ensure_running(INSTANCE)
        _started_redis = True
        server.log.info("embedded redis-server at %s", os.environ["REDIS_URL"])


def on_exit(server):
    if _started_redis and not os.environ.get("KEEP_EMBEDDED_REDIS"):
        embedded_redis.stop(INSTANCE)
