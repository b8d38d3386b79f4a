"""Redis failover through Sentinel: a primary, a replica and three Sentinels (Debian's redis-server and
redis-sentinel on loopback); an app served on a real HTTP server and a real `flask worker` both follow
the primary through the Sentinels. The primary is SIGKILLed while members sign in and read; the app's
Redis answers again within the failover time, SQL has every sign-in answered once, the index is right
again (the replica's missing writes included: the new server run is rebuilt from SQL), the queue works.
"""
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from models import PointsEntry, RedisRepair, db
from models.signin import SigninRecord
from services.index import redis_rebuild
from services.leaderboards import leaderboards
from services.platform import clock, jobs
from services.platform.redis_client import get_redis
from services.signin import signin_index
from tests.support.api import bearer, unique
from tests.support.apps import app_of_its_own, serving
from tests.support.audit import audit
from tests.support.processes import until
from tests.support.redis_servers import DOWN_AFTER_MS, FAILOVER_TIMEOUT_MS, MASTER, sentinel_group

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = 30
KILL_AFTER = 10  # sign-ins answered before the primary is killed
# Sentinels see the primary down after DOWN_AFTER_MS, elect a leader and promote the replica; an
# attempt that failed is tried again after twice the failover timeout. Then the app's next connection asks.
FAILOVER_BOUND = (DOWN_AFTER_MS + 2 * FAILOVER_TIMEOUT_MS) / 1000 + 3
CHECK = "redis.new_server"
DESCRIBE = "services.platform.areas.describe"


@pytest.fixture
def group():
    with tempfile.TemporaryDirectory(prefix="loyalty-sentinel-") as folder:
        with sentinel_group(Path(folder)) as servers:
            yield servers


@pytest.fixture
def sentinel_app(sandbox, group):
    yield from app_of_its_own(sandbox, "sentinel", 1, {"REDIS_SENTINELS": group.sentinels,
                                                       "REDIS_SENTINEL_MASTER": MASTER})


@pytest.fixture
def worker(sentinel_app, group):
    """`flask worker --tick-seconds 1` on the app's database, following the primary through the Sentinels."""
    config = sentinel_app.config
    env = {**os.environ, "DATABASE_URL": config["DATABASE_URL"], "SECRET_KEY": config["SECRET_KEY"],
           "REDIS_SENTINELS": ",".join(f"{host}:{port}" for host, port in group.sentinels),
           "REDIS_SENTINEL_MASTER": MASTER, "LOG_FORMAT": "text"}
    env.pop("REDIS_URL", None)
    if config.get("REDIS_URL"):
        env["REDIS_URL"] = config["REDIS_URL"]
    log_path = group.folder / "worker.log"
    flask = [sys.executable, "-m", "flask", "--app", f"app:create_app(instance_path={sentinel_app.instance_path!r})"]
    with open(log_path, "w") as log:
        process = subprocess.Popen([*flask, "worker", "--tick-seconds", "1"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    process.log = lambda: "worker log, last lines:\n" + "\n".join(log_path.read_text().splitlines()[-40:])
    yield process
    if process.poll() is None:
        process.kill()
        process.wait(10)


class Traffic(threading.Thread):
    """Members sign in one after another (each until answered 200, or 409 for a sign-in that got through
    unanswered), reading their calendar and a board after each; then reads until stopped. /healthz is
    probed between requests, so the outage of the app's Redis is seen to the request."""

    def __init__(self, base: str, members: list[dict]):
        super().__init__(daemon=True)
        self.base, self.members, self.stop = base, members, threading.Event()
        self.signed: dict[int, int] = {}  # member id → the points its 200 answer said
        self.answers: list[tuple[float, str, int]] = []  # (time.monotonic(), what, status; 0: no answer)
        self.health: list[tuple[float, bool]] = []  # (time.monotonic() it was asked, the app's Redis answered)
        self.done_signing = threading.Event()

    def run(self):
        for member in self.members:
            while not self.stop.is_set() and not self._sign_in(member):
                time.sleep(0.05)
            self._reads(member)
        self.done_signing.set()
        while not self.stop.is_set():
            for member in self.members[:5]:
                self._reads(member)

    def _sign_in(self, member) -> bool:
        res = self._send("post", "/api/v1/signin", member)
        if res is not None and res.status_code == 200:
            self.signed[member["member"]["id"]] = res.json()["points"]
        return res is not None and res.status_code in (200, 409)

    def _reads(self, member):
        self._send("get", "/api/v1/signin/calendar", member)
        self._send("get", "/api/v1/leaderboards/streak", member)

    def _send(self, method, path, member):
        try:
            res = requests.request(method, self.base + path, headers=member["headers"], timeout=10)
        except requests.RequestException:
            res = None
        self.answers.append((time.monotonic(), f"{method.upper()} {path}", res.status_code if res is not None else 0))
        self._probe()
        return res

    def _probe(self):
        asked = time.monotonic()  # when it was asked: a probe under way at the kill says nothing of after it
        try:
            ok = requests.get(self.base + "/healthz", timeout=10).json()["redis"] == "ok"
        except (requests.RequestException, ValueError, KeyError):
            ok = False
        self.health.append((asked, ok))


def _members(base: str, wx) -> list[dict]:
    made = []
    for _ in range(MEMBERS):
        code = wx.post("login-code", user=unique("failover"))["code"]
        res = requests.post(f"{base}/api/v1/auth/login", json={"code": code}, timeout=10)
        assert res.status_code == 200, res.text
        made.append({**res.json(), "headers": bearer(res.json()["token"])})
    return made


def _lose_writes_on_replica(group, member_id: int) -> None:
    """As asynchronous replication may: the replica lacks the member's sign-in of today (its calendar bit,
    its place on the streak board), which the primary has."""
    replica, today = group.client("replica"), clock.today()
    replica.config_set("replica-read-only", "no")
    replica.setbit(signin_index.month_key(member_id, signin_index.month_of(today)), today.day - 1, 0)
    replica.zrem(leaderboards.key(leaderboards.BOARDS["streak"]), member_id)


def _index_matches_sql(client, members: list[int]) -> bool:
    """Every board of this period as SQL scores it, and today's bit of each member signed in."""
    for b in leaderboards.BOARDS.values():
        db.session.rollback()
        expected = {str(mid): leaderboards.score(b, value, reached)
                    for mid, value, reached in leaderboards.rows_from_sql(b)}
        stored = {m.decode(): int(s) for m, s in client.zrange(leaderboards.key(b), 0, -1, withscores=True)}
        if stored.pop(leaderboards.SENTINEL, None) is None or stored != expected:
            return False
    today = clock.today()
    return all(client.getbit(signin_index.month_key(mid, signin_index.month_of(today)), today.day - 1)
               for mid in members)


def _back(traffic: Traffic, killed: float) -> float | None:
    """When the first probe after the kill found the app's Redis answering, if one has."""
    return next((at for at, ok in list(traffic.health) if at > killed and ok), None)


def _outage(traffic: Traffic, killed: float) -> float:
    """Seconds from the kill to the first probe after it that found the app's Redis answering."""
    back = _back(traffic, killed)
    assert back is not None, "the app's Redis never answered again"
    return back - killed


def test_the_service_follows_a_failover_under_traffic(sentinel_app, group, worker, wx):
    with serving(sentinel_app) as base, sentinel_app.app_context():
        app_redis = get_redis()  # the app's own client, through the Sentinels
        first_run = group.client("primary").info("server")["run_id"]
        # the worker's first tick finds an index built on no server yet: it is rebuilt, the server noted
        assert until(lambda: app_redis.get(redis_rebuild.BUILT_ON_KEY) == first_run.encode(), 30), worker.log()
        members = _members(base, wx)
        traffic = Traffic(base, members)
        traffic.start()
        assert until(lambda: len(traffic.signed) >= KILL_AFTER, 30)
        lost = next(iter(traffic.signed))
        _lose_writes_on_replica(group, lost)
        killed = group.kill_primary()
        assert until(lambda: group.primary() == group.ports["replica"], FAILOVER_BOUND), group.logs()
        assert traffic.done_signing.wait(60), traffic.answers[-5:]
        # the reads and probes go on until one after the kill finds the app's Redis again: the members may
        # all have signed before the failover ended (a fast run), and stopping then would see no recovery
        until(lambda: _back(traffic, killed) is not None, max(killed + FAILOVER_BOUND - time.monotonic(), 0))
        traffic.stop.set()
        traffic.join(30)
        outage = _outage(traffic, killed)
        after = [answer for answer in traffic.answers if answer[0] > killed]
        print(f"\nprimary SIGKILLed: the app's Redis answered again after {outage:.2f} s (bound "
              f"{FAILOVER_BOUND:.0f} s); {sum(a[2] != 200 for a in after)} of {len(after)} requests after it not 200")
        assert outage < FAILOVER_BOUND, group.logs()
        assert not [a for a in traffic.answers if a[0] > killed + outage and a[2] != 200], \
            "requests after the failover must all answer 200"

        # SQL is the record: every sign-in answered 200 is there, each once, credited once
        db.session.rollback()
        ids = [m["member"]["id"] for m in members]
        records = dict(db.session.execute(select(SigninRecord.member_id, func.count()).where(
            SigninRecord.member_id.in_(ids)).group_by(SigninRecord.member_id)).all())
        credits = {mid: (n, total) for mid, n, total in db.session.execute(
            select(PointsEntry.member_id, func.count(), func.sum(PointsEntry.delta))
            .where(PointsEntry.member_id.in_(ids), PointsEntry.reason == "signin").group_by(PointsEntry.member_id))}
        assert records == {mid: 1 for mid in ids}
        assert all(credits.get(mid, (1, 0))[0] == 1 for mid in ids), credits
        assert all(credits.get(mid, (1, 0))[1] == points for mid, points in traffic.signed.items()), credits

        # the new server run is rebuilt from SQL once the worker's check runs (its period, 30 s, started
        # before the kill: the test rings it now rather than wait)
        new_run = group.client("replica").info("server")["run_id"]
        group.client("replica").delete(jobs.PERIODIC_KEY.format(name=CHECK))
        assert until(lambda: app_redis.get(redis_rebuild.BUILT_ON_KEY) == new_run.encode(), 30), worker.log()
        assert until(lambda: _index_matches_sql(app_redis, ids), 30), worker.log()
        assert until(lambda: not db.session.rollback() and db.session.scalar(select(func.count(RedisRepair.id))) == 0,
                     30), worker.log()

        # the queue works on the new primary: a job now, and a delayed one the worker's scheduler moves
        assert _finished(jobs.enqueue(DESCRIBE)), worker.log()
        assert _finished(jobs.enqueue(DESCRIBE, at=clock.now() + timedelta(seconds=1))), worker.log()
        assert worker.poll() is None, worker.log()
    worker.terminate()  # RQ's warm shutdown, its connections to the new primary
    try:
        assert worker.wait(30) == 0, worker.log()
    except subprocess.TimeoutExpired:
        pytest.fail("the worker did not stop within 30 s of SIGTERM\n" + worker.log())
    code, output = audit(sentinel_app)
    assert code == 0, output


def _finished(job) -> bool:
    return until(lambda: job.get_status(refresh=True) == "finished", 30)
