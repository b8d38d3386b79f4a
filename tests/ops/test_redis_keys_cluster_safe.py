"""Keys a command touches together share a hash tag, so the structures run on Redis Cluster: a MONITOR
connection records every command the app sends to its real Redis while representative flows run; each
multi-key command (the server names its keys: COMMAND GETKEYS), each MULTI…EXEC block and each script's
own commands must stay in one slot. RQ's keys are exempt: the queue needs a single primary."""
import codecs
import re
import threading

import pytest
import redis
from redis.cluster import key_slot

from services.index import redis_rebuild
from services.platform.redis_client import get_redis
from tests.support.guides import code_of, scan
from tests.support.mall import add_goods, order, placed
from tests.support.processes import until

LINE = re.compile(r'^[\d.]+ \[(\d+) ([^\]]+)\] (.*)$')
ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')
EXEMPT = (b"rq:",)


class Monitor(threading.Thread):
    """Every command the server runs on the app's database, as (client, [args as bytes])."""

    def __init__(self, client: redis.Redis):
        super().__init__(daemon=True)
        self.db = client.connection_pool.connection_kwargs.get("db", 0)
        self.connection = client.connection_pool.make_connection()
        self.connection.socket_timeout = None  # a quiet moment is no error
        self.connection.connect()
        self.connection.send_command("MONITOR")
        assert self.connection.read_response() in (b"OK", "OK")
        self.seen: list[tuple[str, list[bytes]]] = []

    def run(self):
        try:
            while line := self.connection.read_response():
                if (m := LINE.match(line.decode() if isinstance(line, bytes) else line)) and int(m[1]) == self.db:
                    self.seen.append((m[2], [codecs.escape_decode(arg.encode())[0] for arg in ARG.findall(m[3])]))
        except (redis.RedisError, OSError):
            pass  # disconnected: the test is done


def _keys(client: redis.Redis, args: list[bytes], asked: dict) -> list[bytes]:
    """The keys of a command, as the server names them."""
    if tuple(args) not in asked:
        try:
            asked[tuple(args)] = [k.encode() if isinstance(k, str) else k for k in client.command_getkeys(*args)]
        except redis.ResponseError:  # no key arguments
            asked[tuple(args)] = []
    return asked[tuple(args)]


def _groups(seen):
    """Commands that must share one slot: each command alone, a client's MULTI…EXEC block, a script's
    own commands (a run of `lua` lines: a script is atomic, so its commands come together)."""
    blocks, open_multi, script = [], {}, []
    for client, args in seen:
        name = args[0].upper() if args else b""
        if client == "lua":
            script.append(args)
            continue
        if script:
            blocks.append(("script", script))
            script = []
        if name == b"MULTI":
            open_multi[client] = []
        elif name == b"EXEC" and client in open_multi:
            blocks.append(("MULTI", open_multi.pop(client)))
        elif client in open_multi:
            open_multi[client].append(args)
        else:
            blocks.append((name.decode(), [args]))
    return blocks + ([("script", script)] if script else [])


@pytest.fixture
def monitored(app):
    client = get_redis()
    monitor = Monitor(client)
    monitor.start()
    yield monitor
    monitor.connection.disconnect()
    monitor.join(5)


def test_commands_that_touch_several_keys_stay_in_one_slot(app, client, monitored, make_member, named, operator,
                                                           store, rate_limits):
    admin = operator()
    member = make_member(points_=1000)
    assert client.post("/api/v1/signin", headers=member["headers"]).status_code == 200
    assert client.get("/api/v1/signin/calendar", headers=member["headers"]).status_code == 200
    named("A", "B")  # profile changes: names and the boards' cached tops
    for board in ("points_week", "streak"):
        assert client.get(f"/api/v1/leaderboards/{board}", headers=member["headers"]).status_code == 200
    goods = add_goods(client, admin, stock=1)
    placed(order(client, member, goods["id"]))  # the last unit: the sold-out mark
    guide = store["add_guide"]()
    assert scan(client, guide, code_of(client, member)["code"]).status_code == 200
    for _ in range(2):  # a wrong password counts towards the login limits
        client.post("/api/v1/admin/auth/login", json={"username": "nobody", "password": "wrong password"})
    redis_rebuild.rebuild_all()
    get_redis().ping()  # the last command: MONITOR has seen everything before it once this arrives
    assert _until_seen(monitored, b"PING")

    checker, asked, checked, problems = get_redis(), {}, 0, []
    for kind, commands in _groups(list(monitored.seen)):
        keys = [key for args in commands for key in _keys(checker, args, asked)]
        if len(keys) < 2 or any(key.startswith(EXEMPT) for key in keys):
            continue
        checked += 1
        if len({key_slot(key) for key in keys}) > 1:
            problems.append(f"{kind}: {[args[:4] for args in commands]} touches {keys}")
    assert checked, "no multi-key command was seen"
    assert not problems, "\n".join(problems)


def _until_seen(monitor, name: bytes, seconds: float = 5) -> bool:
    return until(lambda: any(args and args[0].upper() == name for _, args in monitor.seen[-50:]), seconds)
