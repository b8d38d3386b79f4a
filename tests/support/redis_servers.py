"""Debian's redis-server and redis-sentinel on loopback for the failover tests: a primary, a replica
and three Sentinels in a folder of their own, on free ports, ended when the block ends."""
import shutil
import signal
import subprocess
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import redis

from tests.support.processes import free_port, until

MASTER = "loyalty"
DOWN_AFTER_MS = 1000  # a primary that has not answered this long is down, for each Sentinel
FAILOVER_TIMEOUT_MS = 3000  # a failover attempt that did not finish is tried again after twice this
INSTALL = "apt-get install -y redis-server redis-sentinel (Debian's packages; scripts/test does it as root)"


def require_binaries() -> None:
    """Fail (never skip) with how to install them when Debian's binaries are missing."""
    missing = [name for name in ("redis-server", "redis-sentinel") if shutil.which(name) is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found: {INSTALL}", pytrace=False)


def answers(port: int) -> bool:
    try:
        return redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


class SentinelGroup:
    """The servers of one test: `sentinels` [(host, port)]; `primary()` the port the Sentinels name."""

    def __init__(self, folder: Path, stack: ExitStack):
        self.folder, self._stack, self.processes = folder, stack, {}
        self.ports = {"primary": free_port(), "replica": free_port()}
        self.sentinels = [("127.0.0.1", free_port()) for _ in range(3)]

    def start(self) -> "SentinelGroup":
        primary = self.ports["primary"]
        self._server("primary", primary, "")
        self._server("replica", self.ports["replica"], f"replicaof 127.0.0.1 {primary}\n")
        for n, (_, port) in enumerate(self.sentinels):
            self._sentinel(n, port, primary)
        assert until(self._settled, 30), "the Sentinels did not find each other and the replica:\n" + self.logs()
        return self

    def primary(self) -> int:
        """The primary's port, as a Sentinel that answers says."""
        for host, port in self.sentinels:
            try:
                return int(redis.Redis(host=host, port=port, socket_timeout=1)
                           .sentinel_get_master_addr_by_name(MASTER)[1])
            except (redis.RedisError, TypeError):
                continue
        raise AssertionError("no Sentinel answers")

    def client(self, role: str) -> redis.Redis:
        return redis.Redis(port=self.ports[role], socket_timeout=5)

    def kill_primary(self) -> float:
        """SIGKILL the primary (no chance to save or to tell anyone); the instant, time.monotonic()."""
        self.processes["primary"].send_signal(signal.SIGKILL)
        killed = time.monotonic()
        self.processes["primary"].wait(10)
        return killed

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n" + "\n".join(path.read_text().splitlines()[-15:])
                         for path in sorted(self.folder.glob("*.log")))

    def _settled(self) -> bool:
        """Each Sentinel knows the other two and a replica that is up and linked to the primary."""
        try:
            for host, port in self.sentinels:
                asked = redis.Redis(host=host, port=port, socket_timeout=1)
                replicas = asked.sentinel_slaves(MASTER)
                if len(asked.sentinel_sentinels(MASTER)) != 2 or not replicas or \
                        any(r["is_sdown"] or r["master-link-status"] != "ok" for r in replicas):
                    return False
            return True
        except redis.RedisError:
            return False

    def _server(self, name: str, port: int, extra: str) -> None:
        self._run(name, ["redis-server"], port, f"save \"\"\nappendonly no\n{extra}")
        assert until(lambda: answers(port), 10), self.logs()

    def _sentinel(self, n: int, port: int, primary: int) -> None:
        self._run(f"sentinel{n}", ["redis-sentinel"], port,
                  f"sentinel monitor {MASTER} 127.0.0.1 {primary} 2\n"
                  f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
                  f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}\n"
                  f"sentinel parallel-syncs {MASTER} 1\n")

    def _run(self, name: str, command: list[str], port: int, settings: str) -> None:
        conf = self.folder / f"{name}.conf"  # a Sentinel rewrites its file: one each, writable
        conf.write_text(f"port {port}\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\n"
                        f"dir {self.folder}\ndbfilename {name}.rdb\nlogfile {self.folder / f'{name}.log'}\n{settings}")
        process = subprocess.Popen([*command, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.processes[name] = process
        self._stack.callback(_end, process)


def _end(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(10)


@contextmanager
def sentinel_group(folder: Path):
    """A primary, its replica and three Sentinels watching it as MASTER, settled; all killed afterwards."""
    require_binaries()
    with ExitStack() as stack:
        yield SentinelGroup(folder, stack).start()
