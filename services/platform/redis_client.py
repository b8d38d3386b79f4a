"""The shared Redis connection: REDIS_URL, or the instance's embedded redis-server."""
import os
import threading
from collections.abc import Callable

import redis
from flask import current_app

from services.platform import embedded_redis


def init_app(app):
    app.extensions["redis"] = None  # connected on first use: nothing is touched in create_app


def get_redis() -> redis.Redis:
    """The app's Redis client (a connection pool shared by the process's threads)."""
    client = current_app.extensions.get("redis")
    if client is None:
        url = current_app.config.get("REDIS_URL") or embedded_redis.ensure_running(current_app.instance_path)
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30)
        current_app.extensions["redis"] = client
    return client


def cached(key: str, seconds: int, make: Callable[[], bytes | str]) -> bytes:
    """Cache-aside: the value kept under `key`, else `make()`, kept for `seconds`. With Redis away
    only the cache is lost: the value is made each time."""
    try:
        if (value := get_redis().get(key)) is not None:
            return value
    except redis.RedisError:
        pass
    value = make()
    try:
        get_redis().set(key, value, ex=seconds)
    except redis.RedisError:
        pass
    return value.encode() if isinstance(value, str) else value


_threads = threading.local()
os.register_at_fork(after_in_child=lambda: _threads.__dict__.clear())  # a child never shares the parent's socket


def thread_client() -> redis.Redis:
    """This thread's own connection to the app's Redis, for the single commands of hot reads.

    A command through the shared pool checks out a connection first, and the pool checks the
    process id and polls the socket for stale data: two syscalls, as dear as the command itself here.
    """
    shared = get_redis()
    own = getattr(_threads, "client", None)
    if own is None or own[0] is not shared:  # first use in this thread, or the app's client changed
        own = _threads.client = (shared, redis.Redis(connection_pool=shared.connection_pool,
                                                     single_connection_client=True))
    return own[1]
