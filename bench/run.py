"""The benchmark: requests per second of hot endpoints as a ratio of a bare JSON endpoint, same run.

    .venv/bin/python bench/run.py [--seconds 10] [--members 20000] [--board-size 1000000]

Starts gunicorn (the project's gunicorn.conf.py) on a free 127.0.0.1 port against DATABASE_URL
(default: a fresh PostgreSQL database on 127.0.0.1:5432, user postgres, dropped afterwards) and
REDIS_URL (default redis://127.0.0.1:6379/11, flushed before and after), migrates, creates members
with tokens through the services, loads the points_week board, then drives each endpoint for a
fixed number of seconds with wrk (or, without wrk, Python threads on keep-alive connections).
An endpoint that answers 404 (not written yet) is skipped. Everything stops and is cleaned up by itself.
"""
import argparse
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import load  # noqa: E402  (bench/load.py)

GOALS = {"signin": 0.5, "calendar": 0.8, "leaderboard": 0.8}
SYNTHETIC_ID_BASE = 100_000_000  # board members that are not in SQL: ids no real member has


def main():
    args = _parse()
    secret = secrets.token_hex(32)
    try:
        with _database(args.database_url) as database_url:
            os.environ.update(DATABASE_URL=database_url, REDIS_URL=args.redis_url, SECRET_KEY=secret)
            tokens = _prepare(args)
            with _gunicorn(_free_port(), args) as base:
                results = _measure(base, tokens, args)
    finally:
        _flush_redis(args.redis_url)
    _report(results, args)


def _parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=10, help="length of each measurement")
    p.add_argument("--members", type=int, default=20_000, help="real members (distinct sign-ins)")
    p.add_argument("--board-size", type=int, default=1_000_000, help="synthetic members on points_week")
    p.add_argument("--slices", type=int, default=5, help="turns of bare and endpoint within --seconds")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="load generator threads")
    p.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py)")
    p.add_argument("--only", nargs="*", help="bare signin calendar leaderboard me tasks")
    p.add_argument("--task-members", type=int, default=200, help="members with TASK_EVENTS events each (GET /tasks)")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11"))
    p.add_argument("--python-load", action="store_true", help="use the Python load generator even if wrk exists")
    p.add_argument("--cold", action="store_true", help="measure reads without a warm-up pass (cold Redis index)")
    return p.parse_args()


@contextlib.contextmanager
def _database(url):
    """The given database, or a fresh PostgreSQL database on 127.0.0.1 dropped afterwards."""
    if url:
        yield url
        return
    import psycopg
    name = f"bench_{os.getpid()}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    print(f"==> database {name} created on 127.0.0.1:5432")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"==> database {name} dropped")


def _prepare(args) -> list[str]:
    """Migrate, create the members and their tokens, load the leaderboard; returns the tokens."""
    from flask_migrate import upgrade

    from app import create_app
    from models import db
    from services.index import redis_rebuild
    from services.leaderboards import leaderboards
    from services.members import members
    from services.platform import tokens
    from services.platform.db import transaction
    from services.platform.redis_client import get_redis

    instance = tempfile.mkdtemp(prefix="bench-instance-")
    app = create_app(instance_path=instance)
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="heads")
            get_redis().flushdb()
            started, ids = time.monotonic(), []
            for start in range(0, args.members, 1000):
                with transaction():
                    batch = [members.create_member(f"bench-{os.getpid()}-{n}")
                             for n in range(start, min(start + 1000, args.members))]
                ids += [m.id for m in batch]
                db.session.remove()
            print(f"==> {len(ids)} members in {time.monotonic() - started:.1f}s")
            started = time.monotonic()
            cards = redis_rebuild.rebuild_all()["member_cards"][0]
            print(f"==> rebuild-redis: {cards} member cards in {time.monotonic() - started:.1f}s")
            started = time.monotonic()
            now, rng = leaderboards.clock.now(), random.Random(42)
            rows = [(SYNTHETIC_ID_BASE + n, rng.randint(1, 5000), now - timedelta(seconds=rng.randint(0, 3600)))
                    for n in range(args.board_size)]
            rows += [(mid, rng.randint(1, 5000), now) for mid in ids]
            written = leaderboards.write_board(leaderboards.BOARDS["points_week"], rows)
            print(f"==> points_week: {written} members in {time.monotonic() - started:.1f}s "
                  f"({get_redis().zcard(leaderboards.key(leaderboards.BOARDS['points_week'])) - 1} in Redis)")
            _seed_tasks(ids[:args.task_members])
            return [tokens.issue("member", mid, 0) for mid in ids]
    finally:
        shutil.rmtree(instance, ignore_errors=True)


TASKS = 20  # open tasks every member sees
TASK_EVENTS = 1000  # events of each task member, over the last 60 days
TASK_EVENT_TYPES = ("signin", "share", "view_article", "browse_goods", "payment_paid")


def _seed_tasks(member_ids):
    """TASKS tasks of every kind and TASK_EVENTS events for each of `member_ids` (written in bulk)."""
    from models import MemberEvent, db
    from services.platform import clock
    from services.platform.db import transaction
    from services.tasks import definitions

    started, kinds = time.monotonic(), ("daily", "weekly", "monthly", "achievement")
    for n in range(TASKS):
        definitions.create_task(None, {"code": f"bench_{n}", "title": f"bench {n}", "kind": kinds[n % 4],
                                       "event": TASK_EVENT_TYPES[n % 5], "target": 1 + n, "reward_points": 1,
                                       "condition": {"min_amount_fen": 100} if n % 5 == 4 else None})
    now, rng = clock.now(), random.Random(7)
    for member_id in member_ids:
        rows = [{"member_id": member_id, "type": TASK_EVENT_TYPES[n % 5], "business_key": f"bench:{member_id}:{n}",
                 "reference": None, "payload": {"amount_fen": rng.randint(1, 50000)} if n % 5 == 4 else None,
                 "occurred_at": now - timedelta(seconds=rng.randint(0, 60 * 86400))} for n in range(TASK_EVENTS)]
        with transaction():
            db.session.execute(MemberEvent.__table__.insert(), rows)
    print(f"==> {TASKS} tasks, {len(member_ids) * TASK_EVENTS} events for {len(member_ids)} members "
          f"in {time.monotonic() - started:.1f}s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _gunicorn(port, args):
    env = dict(os.environ, BIND=f"127.0.0.1:{port}", ACCESS_LOG="/dev/null")
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py", "app:create_app()"], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            if _status(f"{base}/healthz") == 200:
                break
            if proc.poll() is not None:
                raise SystemExit("gunicorn exited during start-up")
            time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not become healthy in 30 s")
        print(f"==> gunicorn on {base}, workers: {env.get('WEB_CONCURRENCY', 'gunicorn.conf.py default')}")
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        print("==> gunicorn stopped")


def _status(url, method="GET", token=None) -> int | None:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=5) as res:
            return res.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _endpoints():
    from datetime import datetime
    from zoneinfo import ZoneInfo
    month = datetime.now(ZoneInfo(os.environ.get("TIMEZONE", "Asia/Shanghai"))).strftime("%Y-%m")
    return {"bare": ("GET", "/bench/bare"),
            "signin": ("POST", "/api/v1/signin"),
            "calendar": ("GET", f"/api/v1/signin/calendar?month={month}"),
            "leaderboard": ("GET", "/api/v1/leaderboards/points_week"),
            # no goal, for context: a signed-in read through the ORM (the member, level and points: 5 queries)
            "me": ("GET", "/api/v1/me"),
            # the task list of a member with TASKS tasks and TASK_EVENTS events: 4 statements whatever the events
            "tasks": ("GET", "/api/v1/tasks")}


def _measure(base, tokens, args) -> dict:
    runner = load.Wrk if shutil.which("wrk") and not args.python_load else load.PythonLoad
    print(f"==> load generator: {runner.__name__}, {args.connections} connections, {args.seconds}s each")
    results = {}
    for name, (method, path) in _endpoints().items():
        if args.only and name not in args.only and name != "bare":
            continue
        probe = tokens[-1]  # the probe's sign-in uses a member the measurement does not
        members = tokens[:args.task_members] + [probe] if name == "tasks" else tokens
        status = _status(base + path, method, probe)
        if status == 404:
            print(f"--- {name}: {method} {path} answers 404: not there yet, skipped")
            continue
        if status not in (200, 201):
            print(f"--- {name}: {method} {path} answers {status} to a probe; measuring anyway")
        if method == "GET" and not args.cold:
            started = time.monotonic()
            ok = load.warm(base, method, path, members[:-1], connections=args.connections)
            print(f"    warm-up: every member once ({ok} answered 2xx) in {time.monotonic() - started:.1f}s")
        result = _load(runner, base, method, path, members, args) if name == "bare" else _interleaved(
            runner, base, method, path, members, args)
        results[name] = result
        print(f"--- {name}: {result['rps']:.0f} req/s, {result['requests']} requests, "
              f"{result['errors']} not 2xx, p50 {result.get('p50_ms', '?')} ms, p99 {result.get('p99_ms', '?')} ms")
        if name == "signin" and result["requests"] > len(tokens) - 1:
            print(f"    (more requests than members: {result['requests'] - len(tokens) + 1} repeats were 409s;"
                  f" raise --members)")
    return results


def _load(runner, base, method, path, tokens, args, seconds=None) -> dict:
    return runner(base, method, path, tokens[:-1], seconds=seconds or args.seconds, connections=args.connections,
                  threads=args.threads).run()


def _interleaved(runner, base, method, path, tokens, args) -> dict:
    """The endpoint and bare in turns, `--slices` of each: this machine's speed drifts by half within
    a minute (a shared host), and alternating short slices lets the drift weigh on both alike. Each
    slice of the endpoint starts past the members the slices before it used (sign-in: one each)."""
    seconds = max(1, args.seconds // args.slices)
    slices, bare, used = [], [], 0
    for _ in range(args.slices):
        bare.append(_load(runner, base, *_endpoints()["bare"], tokens, args, seconds))
        slices.append(_load(runner, base, method, path, tokens[used:], args, seconds))
        # each wrk thread walks its own stride: one may have gone `threads` times as far as the count says;
        # reads may use the same members again
        if method == "POST":
            used = min(used + (slices[-1]["requests"] + args.connections) * args.threads, len(tokens) - 2)
    total = sum(part["requests"] for part in slices)
    p50s = sorted(part.get("p50_ms") or 0 for part in slices)
    return {"rps": sum(part["rps"] for part in slices) / len(slices), "requests": total,
            "errors": sum(part["errors"] for part in slices), "p50_ms": p50s[len(p50s) // 2],
            "p99_ms": max(part.get("p99_ms") or 0 for part in slices),
            "bare_rps": sum(part["rps"] for part in bare) / len(bare), "members_used": used}


def _report(results, args):
    print("\n==> results (ratio = endpoint req/s ÷ bare req/s measured in turns with it, same run)")
    for name, result in results.items():
        bare = result.get("bare_rps", result["rps"])
        ratio = result["rps"] / bare
        goal = GOALS.get(name)
        verdict = "" if goal is None else f"  goal ≥ {goal}: {'met' if ratio >= goal else 'NOT met'}"
        print(f"  {name:12} {result['rps']:9.0f} req/s  bare {bare:6.0f}  ratio {ratio:5.2f}{verdict}")
    print(json.dumps({"seconds": args.seconds, "board_size": args.board_size,
                      **{k: round(v["rps"], 1) for k, v in results.items()},
                      "bare_beside": {k: round(v["bare_rps"], 1) for k, v in results.items() if "bare_rps" in v}}))


def _flush_redis(url):
    import redis
    redis.Redis.from_url(url).flushdb()
    print("==> redis flushed")


if __name__ == "__main__":
    main()
