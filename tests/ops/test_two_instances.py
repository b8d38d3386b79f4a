"""Two of everything (issue 25): two gunicorn instances and two `flask worker`s on one PostgreSQL and one
Redis, traffic spread over both, and what must hold afterwards: no double credit, no oversell, every
message sent once, audit-ledger clean; each periodic job queued once per period however many workers
tick, and harmless when run twice at once; a worker killed in the middle of a job, whose job then runs
on the other and takes effect once."""
import random
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry
from sqlalchemy import func, select

from models import (Goods, GuideScan, LotteryDraw, LotteryPrize, MallOrder, Member, Payment, PointsEntry, PointsLot,
                    Refund, db)
from models.message import MessageAttempt, OutboxMessage
from models.signin import SigninRecord
from services.ledger import points
from services.platform import jobs
from services.platform.areas import wiring
from services.platform.db import transaction
from tests.support.api import bearer, unique
from tests.support.apps import app_of_its_own
from tests.support.audit import audit
from tests.support.mall import ADDRESS, add_goods
from tests.support.payments import SUCCESS, store_with_rule
from tests.support.db import count, fresh
from tests.support.processes import deployed, due_lots, needs_postgresql, until
from tests.support.races import race

pytestmark = needs_postgresql

MEMBERS = 12
FLASH_STOCK = 4
DRAW_LIMIT = 2
ABANDONED_SECONDS = 8  # the workers' --abandoned-seconds: a killed worker's job runs again within seconds
LOTS = 1500  # due points lots: expiring them takes the worker long enough to be caught in the middle


@pytest.fixture(scope="module")
def app(sandbox):
    yield from app_of_its_own(sandbox, "twoinst", redis_db_below=5)


@pytest.fixture(scope="module")
def two(app, sandbox, tmp_path_factory):
    """web-a (1 worker × 4 threads), web-b (2 workers × 2 threads), worker-1 and worker-2 ticking twice a second."""
    yield from deployed(app, sandbox, tmp_path_factory.mktemp("two"), webs={"web-a": (1, 4), "web-b": (2, 2)},
                        workers=("worker-1", "worker-2"),
                        worker_options=("--tick-seconds", "0.5", "--abandoned-seconds", str(ABANDONED_SECONDS)))


def call(method: str, base: str, path: str, headers=None, **kwargs) -> requests.Response:
    return requests.request(method, f"{base}{path}", headers=headers, timeout=60, **kwargs)


def spread(tasks) -> list:
    """Every task from a pool of threads, in a shuffled order; their results in the given order."""
    order = random.sample(range(len(tasks)), len(tasks))
    with ThreadPoolExecutor(max_workers=12) as pool:
        done = dict(zip(order, pool.map(lambda i: tasks[i](), order)))
    return [done[i] for i in range(len(tasks))]


def statuses(answers) -> Counter:
    return Counter(res.status_code for res in answers)


# -- the traffic -------------------------------------------------------------------------------

def members_at(webs, wx, tpl) -> list[dict]:
    """New members, each signed in through one instance or the other, who accepted pay_success twice."""
    def join(i):
        base = webs[i % 2].url
        code = wx.post("login-code", user=unique("twin"))["code"]
        res = call("POST", base, "/api/v1/auth/login", json={"code": code})
        assert res.status_code == 200, res.text
        member = {**res.json(), "headers": bearer(res.json()["token"]), "home": base}
        res = call("POST", base, "/api/v1/me/subscriptions", member["headers"], json={"accepted": [tpl, tpl]})
        assert res.status_code == 200, res.text
        return member
    members = spread([lambda i=i: join(i) for i in range(MEMBERS)])
    with transaction():
        for member in members:
            points.earn(member["member"]["id"], 500, reason="test", business_key=unique("seed"))
    return members


def traffic(webs, wx, members, goods, lottery, guide, store_id) -> dict:
    """Sign-ins, a flash sale, lottery draws, guide scans and payments with their notifies, each over
    both instances at once; returns each kind's answers."""
    a, b = (web.url for web in webs)
    started = [call("POST", m["home"], "/api/v1/payments", m["headers"], json={
        "amount_fen": 10000, "description": "门店消费", "store_id": store_id}) for m in members]
    assert statuses(started) == {201: MEMBERS}, [res.text for res in started]
    codes = [call("GET", m["home"], "/api/v1/me/member-code", m["headers"]).json()["code"] for m in members]
    tasks = {"signin": [], "flash": [], "draw": [], "scan": [], "notify": []}
    for i, member in enumerate(members):
        headers, other = member["headers"], (b, a)[i % 2]
        tasks["signin"] += [lambda h=headers, u=u: call("POST", u, "/api/v1/signin", h) for u in (a, b, a, b)]
        tasks["flash"].append(lambda h=headers, u=other: call("POST", u, "/api/v1/mall/orders", h, json={
            "goods_id": goods["id"], "quantity": 1, "address": ADDRESS}))
        tasks["draw"] += [lambda h=headers, u=u: call("POST", u, f"/api/v1/lottery/{lottery['id']}/draw", h)
                          for u in (a, b, a)]
        tasks["scan"].append(lambda code=codes[i]: race([
            lambda u=u: call("POST", u, "/api/v1/guide/scan", guide["headers"], json={"member_code": code})
            for u in (a, b)]))
        tasks["notify"].append(lambda i=i, otn=started[i].json()["payment"]["out_trade_no"]: notify_over_both(
            wx, otn, a, b, twice=i % 3 == 0, sandbox_sends=i % 4 == 0))
    kinds = list(tasks)
    flat = [(kind, task) for kind in kinds for task in tasks[kind]]
    answers = spread([task for _, task in flat])
    result = {kind: [] for kind in kinds}
    for (kind, _), answer in zip(flat, answers):
        result[kind] += answer if isinstance(answer, list) else [answer]
    result["payments"] = [res.json()["payment"] for res in started]
    return result


def notify_over_both(wx, out_trade_no, a, b, *, twice: bool, sandbox_sends: bool) -> list:
    """WeChat Pay's notify for a paid order, posted to both instances at once (and again to one, `twice`);
    `sandbox_sends`: the sandbox also delivers it itself, to the instance that started the payment."""
    xml = wx.post(f"pay/{out_trade_no}/pay", send=sandbox_sends)
    if sandbox_sends:
        assert xml["return_code"] == "SUCCESS", xml
        xml = wx.get(f"pay/{out_trade_no}/notify-xml")
    posts = [lambda u=u: call("POST", u, "/api/v1/payments/wechat/notify", data=xml["xml"].encode(),
                              headers={"Content-Type": "text/xml"}) for u in ((a, b, a) if twice else (a, b))]
    return race(posts)


def refunds_over_both(webs, wx, admin, payments) -> list:
    """An operator's refund of each payment sent to both instances at once with one Idempotency-Key, then
    WeChat's refund notify to both."""
    a, b = (web.url for web in webs)

    def refund(payment):
        headers = {**admin, "Idempotency-Key": unique("refund")}
        answers = race([lambda u=u: call("POST", u, f"/api/v1/admin/payments/{payment['id']}/refund", headers,
                                         json={"amount_fen": 10000, "reason": "退货"}) for u in (a, b)])
        done = [res.json() for res in answers if res.status_code == 200]
        assert done, [res.text for res in answers]
        xml = wx.post(f"refunds/{done[0]['out_refund_no']}/notify", send=False)["xml"]
        notifies = race([lambda u=u: call("POST", u, "/api/v1/payments/wechat/refund-notify", data=xml.encode(),
                                          headers={"Content-Type": "text/xml"}) for u in (a, b)])
        return answers, notifies
    return spread([lambda p=p: refund(p) for p in payments])


def test_traffic_over_two_instances_lands_once(app, two, client, wx, operator, store):
    admin, webs = operator(), two.webs
    shop = store_with_rule(client, admin, min_amount_fen=5000, coupon={
        "name": "满50减10", "kind": "cash_off", "amount_fen": 1000, "min_spend_fen": 5000, "valid_days": 30})
    goods = add_goods(client, admin, stock=FLASH_STOCK, price_points=100)
    lottery = client.post("/api/v1/admin/lotteries", headers=admin, json={
        "name": "幸运抽奖", "cost_points": 10, "daily_limit": DRAW_LIMIT, "prizes": [
            {"name": "谢谢参与", "kind": "none", "weight": 1},
            {"name": "5 积分", "kind": "points", "points": 5, "weight": 3, "stock": 5}]}).get_json()
    members = members_at(webs, wx, app.config["WECHAT_TEMPLATES"]["pay_success"])
    done = traffic(webs, wx, members, goods, lottery, store["add_guide"](), shop["store_id"])
    refunded = done["payments"][::3]
    refunds = refunds_over_both(webs, wx, admin, refunded)

    assert statuses(done["signin"]) == {200: MEMBERS, 409: 3 * MEMBERS}
    assert statuses(done["flash"]) == {201: FLASH_STOCK, 409: MEMBERS - FLASH_STOCK}
    assert statuses(done["draw"]) == {200: DRAW_LIMIT * MEMBERS, 409: MEMBERS}
    assert statuses(done["scan"]) == {200: MEMBERS, 409: MEMBERS}
    assert all(res.status_code == 200 and SUCCESS in res.text for res in done["notify"])
    assert all(statuses(answers)[200] >= 1 and set(statuses(answers)) <= {200, 409} for answers, _ in refunds)
    assert all(res.status_code == 200 and SUCCESS in res.text for _, notifies in refunds for res in notifies)

    ids = [m["member"]["id"] for m in members]
    # sign-in: one record and one credit per member-day
    assert fresh(select(SigninRecord.member_id, func.count()).where(SigninRecord.member_id.in_(ids))
                 .group_by(SigninRecord.member_id).having(func.count() > 1)) == []
    assert count(SigninRecord, SigninRecord.member_id.in_(ids)) == MEMBERS
    assert count(PointsEntry, PointsEntry.member_id.in_(ids), PointsEntry.business_key.like("signin:%")) == MEMBERS
    # the flash sale: as many orders as units, none left, none below zero
    assert count(MallOrder, MallOrder.goods_id == goods["id"]) == FLASH_STOCK
    assert fresh(select(Goods.stock, Goods.sold).where(Goods.id == goods["id"])) == [(0, FLASH_STOCK)]
    # draws: each recorded once, within the daily limit and the prize's stock
    assert count(LotteryDraw, LotteryDraw.lottery_id == lottery["id"]) == DRAW_LIMIT * MEMBERS
    assert all(stock is None or stock >= 0 for (stock,) in fresh(
        select(LotteryPrize.stock).where(LotteryPrize.lottery_id == lottery["id"])))
    # scans: each code used once
    assert count(GuideScan, GuideScan.member_id.in_(ids)) == MEMBERS
    # payments: paid once, credited once, refunded once
    numbers = [p["out_trade_no"] for p in done["payments"]]
    assert count(PointsEntry, PointsEntry.business_key.in_([f"pay:{n}" for n in numbers])) == MEMBERS
    assert dict(fresh(select(Payment.status, func.count()).where(Payment.out_trade_no.in_(numbers))
                      .group_by(Payment.status))) == {"paid": MEMBERS - len(refunded), "refunded": len(refunded)}
    assert dict(fresh(select(Refund.status, func.count()).where(Refund.payment_id.in_([p["id"] for p in refunded]))
                      .group_by(Refund.status))) == {"succeeded": len(refunded)}
    assert_every_message_sent_once(wx, ids, MEMBERS)
    code, output = audit(app)
    assert code == 0, output


def assert_every_message_sent_once(wx, member_ids, expected: int):
    """Each member's pay_success message sent by one worker or the other, once: in SQL and at WeChat."""
    mine = OutboxMessage.member_id.in_(member_ids)
    assert until(lambda: count(OutboxMessage, mine, OutboxMessage.status != "sent") == 0, 30)
    assert count(OutboxMessage, mine) == expected
    attempts = fresh(select(MessageAttempt.outcome, func.count()).join(OutboxMessage).where(mine)
                     .group_by(MessageAttempt.outcome))
    assert dict(attempts) == {"sent": expected}
    by_openid = dict(fresh(select(Member.openid, Member.id).where(Member.id.in_(member_ids))))
    sent = Counter(by_openid.get(item["touser"]) for item in wx.get("sent", kind="subscribe")["items"])
    assert {member: sent[member] for member in member_ids} == {member: 1 for member in member_ids}


# -- periodic jobs -----------------------------------------------------------------------------

def runs_of(targets) -> Counter:
    """Jobs of each target that RQ has run (finished or failed), from its registries."""
    queue = jobs.queue()
    ids = FinishedJobRegistry(queue=queue).get_job_ids() + FailedJobRegistry(queue=queue).get_job_ids()
    found = Counter()
    for job in Job.fetch_many(ids, connection=queue.connection):
        if job is not None and job.args and job.args[0] in targets:
            found[job.args[0]] += 1
    return found


def settled() -> bool:
    queue = jobs.queue()
    return queue.count == 0 and queue.started_job_registry.count == 0


def test_each_periodic_job_is_queued_once_per_period_across_both_workers(app, two):
    """Both workers tick every half second; a period ends (its key gone) three times: each job runs once a time."""
    periodic = wiring().periodic
    keys = [jobs.PERIODIC_KEY.format(name=name) for name in periodic]
    targets = {job.target for job in periodic.values()}
    redis = jobs.queue().connection
    assert until(lambda: redis.exists(*keys) == len(keys))  # the first period: since the workers started
    assert until(settled)
    before = runs_of(targets)
    for _ in range(3):
        redis.delete(*keys)
        assert until(lambda: redis.exists(*keys) == len(keys), 10), two.logs()
        time.sleep(1)  # two more ticks of each worker within the period: nothing more is queued
    assert until(settled), two.logs()
    ran = runs_of(targets)
    assert {target: ran[target] - before[target] for target in targets} == {target: 3 for target in targets}


def ran_by(job) -> str:
    """The name of the worker whose run of `job` ended last."""
    return job.latest_result().worker_name


RECORDS_OF_RUNS = {"audit_run"}  # the nightly audit records each run it makes, by design


def fingerprint() -> dict:
    """Rows per table: what a second run of a job would add to."""
    db.session.rollback()
    tables = [table for table in db.metadata.sorted_tables if table.name not in RECORDS_OF_RUNS]
    return {table.name: db.session.scalar(select(func.count()).select_from(table)) for table in tables}


def test_every_periodic_job_is_harmless_twice_at_once(app, two):
    """Each periodic job queued twice, taken by both workers at the same time, then once more: every run
    finishes, the books stay clean, and the last run finds nothing left to do."""
    targets = sorted({job.target for job in wiring().periodic.values()})
    twice = [jobs.enqueue(target) for target in targets for _ in range(2)]
    assert until(lambda: all(job.get_status(refresh=True) in ("finished", "failed") for job in twice), 60), two.logs()
    assert [job.args[0] for job in twice if job.get_status() != "finished"] == []
    assert [job.args[0] for job in twice if job.retries_left != jobs.RETRIES] == []  # each at its first run
    assert len({ran_by(job) for job in twice}) == 2  # both workers took part
    after_twice = fingerprint()
    once_more = [jobs.enqueue(target) for target in targets]
    assert until(lambda: all(job.get_status(refresh=True) == "finished" for job in once_more), 60), two.logs()
    assert fingerprint() == after_twice
    code, output = audit(app)
    assert code == 0, output


# -- a worker killed in the middle of a job ------------------------------------------------------

def test_a_worker_killed_mid_job_has_its_job_run_again_by_the_other_once(app, two, make_member):
    members = due_lots(make_member, LOTS)
    lots = PointsLot.member_id.in_(members)
    expired = PointsEntry.member_id.in_(members), PointsEntry.kind == "expire"
    job = jobs.enqueue("services.ledger.points.expire_due")
    assert until(lambda: count(PointsEntry, *expired) >= 50, 30), two.logs()
    victim, victim_name = two.running(job), job.worker_name
    victim.send(signal.SIGKILL, with_children=True)
    killed_at, at_kill = time.monotonic(), count(PointsEntry, *expired)
    assert at_kill < LOTS, "the job ended before it could be killed: give it more lots"
    assert until(lambda: job.refresh() or job.get_status() == "finished" or (
        job.get_status() == "started" and job.worker_name not in (None, victim_name)), 30), two.logs()
    again_after = time.monotonic() - killed_at
    assert until(lambda: job.get_status(refresh=True) == "finished", 60), two.logs()
    finished_after = time.monotonic() - killed_at
    assert ran_by(job) != victim_name  # the other one ran it again
    assert job.retries_left == jobs.RETRIES - 1  # RQ's Retry: the registry cleanup found it abandoned
    assert count(PointsEntry, *expired) == LOTS and count(PointsLot, lots, PointsLot.remaining > 0) == 0
    # each lot expired once, by one entry of its whole amount
    assert fresh(select(PointsEntry.reference, func.count()).where(*expired).group_by(PointsEntry.reference)
                 .having(func.count() > 1)) == []
    print(f"killed with {at_kill}/{LOTS} lots expired; running again on the other worker {again_after:.1f} s "
          f"later, finished {finished_after:.1f} s after the kill")
    victim.restart()
    code, output = audit(app)
    assert code == 0, output
