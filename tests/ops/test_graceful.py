"""Graceful restarts (issue 25): under load, one gunicorn instance reloads (SIGHUP), the other is stopped
(SIGTERM) and started again, and both workers are stopped in the middle of a job: one as systemd's
KillMode=mixed stops it (SIGTERM to the worker alone: it finishes its job), the other as its default
KillMode=control-group does (SIGTERM to every process, the work horse too: the job is queued again and
runs once a worker is back). No 5xx, every 2xx's effect in SQL, nothing half-done, no job lost."""
import random
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from models import MallOrder, PointsEntry, PointsLot
from models.signin import SigninRecord
from services.platform import jobs
from tests.support.apps import app_of_its_own
from tests.support.audit import audit
from tests.support.db import count, fresh
from tests.support.mall import ADDRESS, add_goods
from tests.support.processes import deployed, descendants, due_lots, needs_postgresql, until

pytestmark = needs_postgresql

MEMBERS = 60
LOAD_THREADS = 6
LOTS = 1500


@pytest.fixture(scope="module")
def app(sandbox):
    yield from app_of_its_own(sandbox, "graceful", redis_db_below=6)


@pytest.fixture(scope="module")
def two(app, sandbox, tmp_path_factory):
    yield from deployed(app, sandbox, tmp_path_factory.mktemp("graceful"), webs={"web-a": (2, 2), "web-b": (1, 4)},
                        workers=("worker-1", "worker-2"),
                        worker_options=("--tick-seconds", "1", "--abandoned-seconds", "8"))


class Load:
    """Threads sending sign-ins and points orders of random members to both instances until stopped;
    every answer (or the connection error in its place) is kept."""

    def __init__(self, bases, members, goods_id):
        self.bases, self.members, self.goods_id = bases, members, goods_id
        self.answers, self.stopping, self.refused = [], threading.Event(), Counter()
        self.pool = ThreadPoolExecutor(max_workers=LOAD_THREADS)
        self.running = [self.pool.submit(self.send) for _ in range(LOAD_THREADS)]

    def send(self):
        session = requests.Session()  # kept-alive connections, as a load balancer keeps them
        while not self.stopping.is_set():
            member, base = random.choice(self.members), random.choice(self.bases)
            kind = random.choice(("signin", "order", "order"))
            path, body = (("/api/v1/signin", None) if kind == "signin" else
                          ("/api/v1/mall/orders", {"goods_id": self.goods_id, "quantity": 1, "address": ADDRESS}))
            try:
                res = session.post(f"{base}{path}", json=body, headers=member["headers"], timeout=60)
                self.answers.append((kind, member, res.status_code, res.json()))
            except requests.ConnectionError as error:
                self.answers.append((kind, member, None, str(error)))
                self.refused[base, "refused" if "refused" in str(error) else "dropped"] += 1
                session = requests.Session()
                self.stopping.wait(0.05)  # as a load balancer would, before trying a server again

    def stop(self):
        self.stopping.set()
        for future in self.running:
            future.result()
        self.pool.shutdown()

    def statuses(self) -> Counter:
        return Counter(status for _, _, status, _ in self.answers)


def test_restarts_under_load_lose_nothing_and_half_do_nothing(app, two, client, operator, make_member):
    goods = add_goods(client, operator(), stock=100_000, price_points=1)
    members = [make_member(points_=10_000) for _ in range(MEMBERS)]
    lot_members = due_lots(make_member, LOTS)
    web_a, web_b = two.webs
    worker_warm, worker_cold = two.workers
    load = Load([web_a.url, web_b.url], members, goods["id"])
    try:
        assert until(lambda: len(load.answers) >= 30), two.logs()
        in_flight = [jobs.enqueue("services.ledger.points.expire_due") for _ in range(2)]
        runners = {two.running(job).name: job for job in in_flight}
        assert set(runners) == {worker_warm.name, worker_cold.name}, two.logs()
        old_workers = set(descendants(web_a.pid))
        signalled = time.monotonic()
        web_a.send(signal.SIGHUP)
        web_b.send(signal.SIGTERM)
        worker_warm.send(signal.SIGTERM)
        worker_cold.send(signal.SIGTERM, with_children=True)

        took = {}
        for process in (web_b, worker_cold, worker_warm):
            assert process.exited() == 0, two.logs()
            took[process.name] = time.monotonic() - signalled
        assert runners[worker_cold.name].get_status(refresh=True) == "queued"  # its horse died: queued again
        assert runners[worker_warm.name].get_status(refresh=True) == "finished"  # finished before it exited
        assert until(lambda: not old_workers & set(descendants(web_a.pid))), two.logs()  # web-a's workers replaced
        print("exited after the signal: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in took.items()))
        for process in (web_b, worker_warm, worker_cold):
            process.restart()
        with app.app_context():
            two.wait_until_ready()
        served = len(load.answers)
        assert until(lambda: len(load.answers) >= served + 30), two.logs()
    finally:
        load.stop()

    statuses = load.statuses()
    refused = {f"{web.name} {how}": load.refused[web.url, how] for web in two.webs for how in ("refused", "dropped")}
    print(f"answers: {dict(statuses)}; connection errors: {refused}")
    assert not [status for status in statuses if status is not None and status >= 500], two.logs()
    # a reload keeps the listening socket, and old workers close kept-alive connections between requests
    assert refused["web-a refused"] == refused["web-a dropped"] == 0
    assert until(lambda: runners[worker_cold.name].get_status(refresh=True) == "finished", 60), two.logs()
    assert_every_success_landed(load.answers)
    assert count(PointsLot, PointsLot.member_id.in_(lot_members), PointsLot.remaining > 0) == 0
    assert count(PointsEntry, PointsEntry.member_id.in_(lot_members), PointsEntry.kind == "expire") == LOTS
    code, output = audit(app)
    assert code == 0, output


def assert_every_success_landed(answers):
    """Each 2xx's effect is in SQL; without an answer (a closed connection) the work was done or not, never
    in part (audit-ledger, run after this, sees the points); nothing happened that nobody asked for."""
    orders = {row.id: row for row, in fresh(select(MallOrder).where(
        MallOrder.member_id.in_({member["member"]["id"] for _, member, _, _ in answers})))}
    placed = [body["order"]["id"] for kind, _, status, body in answers if kind == "order" and status == 201]
    assert set(placed) <= set(orders) and all(orders[i].status == "paid" for i in placed)
    unanswered = Counter(kind for kind, _, status, _ in answers if status is None)
    assert len(placed) <= len(orders) <= len(placed) + unanswered["order"]
    signed = {member["member"]["id"] for kind, member, status, _ in answers if kind == "signin" and status == 200}
    recorded = {member_id for member_id, in fresh(select(SigninRecord.member_id).where(
        SigninRecord.member_id.in_({member["member"]["id"] for _, member, _, _ in answers})))}
    assert signed <= recorded and len(recorded) <= len(signed) + unanswered["signin"]
