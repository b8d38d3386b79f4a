"""gunicorn settings for the reference (bench/reference.py), the project's gunicorn.conf.py's knobs:
`gunicorn -c bench/reference_gunicorn.py bench.reference:app` with BIND, WEB_CONCURRENCY, THREADS, ACCESS_LOG.
No embedded Redis and no deployment checks: the reference needs DATABASE_URL, REDIS_URL and SECRET_KEY set."""
import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8701")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "4"))
accesslog = os.environ.get("ACCESS_LOG", "-")
timeout = 30
