"""Mixed load on a running service (scripts/run, or DEPLOYMENT.md's processes) for looking at /metrics and
the logs under it: members log in through the sandbox, then sign in, read /me, the calendar, the goods page
and a board, and pay through the sandbox, from 16 threads. Not a benchmark (bench/run.py is).

    python bench/ops_load.py [seconds]
"""
import random
import sys
import threading
import time
import uuid
from collections import Counter

import requests

API, SANDBOX = "http://127.0.0.1:8700/api/v1", "http://127.0.0.1:8701"
DURATION, MEMBERS = float(sys.argv[1]) if len(sys.argv) > 1 else 30, 60
statuses, lock = Counter(), threading.Lock()

def login(user):
    code = requests.post(f"{SANDBOX}/sandbox/login-code", json={"user": user}).json()["code"]
    return {"Authorization": "Bearer " + requests.post(f"{API}/auth/login", json={"code": code}).json()["token"]}

members = [login(f"load-{uuid.uuid4().hex[:8]}") for _ in range(MEMBERS)]
for headers in members:  # accept the first template: paid payments send pay_success messages
    template = requests.get(f"{API}/me/subscriptions", headers=headers).json()["templates"][0]["template_id"]
    requests.post(f"{API}/me/subscriptions", headers=headers, json={"accepted": [template]})

def one(session, headers):
    pick = random.random()
    rid = {"X-Request-Id": f"load-{uuid.uuid4().hex[:12]}"}
    if pick < 0.15:
        return session.post(f"{API}/signin", headers={**headers, **rid})
    if pick < 0.20:
        res = session.post(f"{API}/payments", headers={**headers, **rid, "Idempotency-Key": uuid.uuid4().hex},
                           json={"amount_fen": random.choice([990, 5800, 8800]), "description": "load"})
        if res.status_code == 201:  # the sandbox pays it and notifies us
            requests.post(f"{SANDBOX}/sandbox/pay/{res.json()['payment']['out_trade_no']}/pay", json={})
        return res
    path = random.choice(["/me", "/signin/calendar", "/mall/goods", "/leaderboards/points_week"])
    return session.get(f"{API}{path}", headers={**headers, **rid})

def run():
    session, end = requests.Session(), time.monotonic() + DURATION
    while time.monotonic() < end:
        res = one(session, random.choice(members))
        with lock:
            statuses[res.status_code] += 1

threads = [threading.Thread(target=run) for _ in range(16)]
started = time.monotonic()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
took = time.monotonic() - started
print(f"{sum(statuses.values())} requests in {took:.1f} s ({sum(statuses.values()) / took:.0f}/s): {dict(statuses)}")
