"""The shared Redis connection: through Redis Sentinel (REDIS_SENTINELS), REDIS_URL, or the instance's
embedded redis-server."""
import os
import threading
from collections.abc import Callable

import redis
from flask import current_app
from redis.sentinel import Sentinel

from services.platform import embedded_redis

# The same for every connection, whoever made it: a command waits 5 s at most, a connect 2 s
TIMEOUTS = {"socket_timeout": 5, "socket_connect_timeout": 2, "health_check_interval": 30}


def init_app(app):
    app.extensions["redis"] = None  # connected on first use: nothing is touched in create_app


def get_redis() -> redis.Redis:
    """The app's Redis client (a connection pool shared by the process's threads)."""
    client = current_app.extensions.get("redis")
    if client is None:
        client = current_app.extensions["redis"] = new_client()
    return client


def new_client() -> redis.Redis:
    """A client of the app's Redis with a connection pool of its own (a worker's, whose socket timeout RQ
    stretches). With REDIS_SENTINELS it follows the primary the Sentinels name: each new connection asks
    them, and a connection to a primary since demoted fails once, so the next command finds the new one."""
    config = current_app.config
    if sentinels := config.get("REDIS_SENTINELS"):
        # REDIS_URL, if any, gives the database number and the password; the Sentinels give the address
        url = redis.connection.parse_url(config["REDIS_URL"]) if config.get("REDIS_URL") else {}
        auth = {name: url[name] for name in ("db", "username", "password") if url.get(name) is not None}
        asking = {"socket_timeout": 2, "socket_connect_timeout": 2}  # a Sentinel that hangs: ask the next
        return Sentinel(sentinels, sentinel_kwargs=asking, **TIMEOUTS).master_for(config["REDIS_SENTINEL_MASTER"],
                                                                                  **auth)
    url = config.get("REDIS_URL") or embedded_redis.ensure_running(current_app.instance_path)
    return redis.Redis.from_url(url, **TIMEOUTS)


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
