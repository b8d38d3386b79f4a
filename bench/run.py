"""The benchmark: requests per second of hot endpoints as a ratio of a bare JSON endpoint, same run.

    .venv/bin/python bench/run.py [--seconds 10] [--members 8000] [--rounds 3]

The default mode (issue 24): the project and a hand-written reference of the same work
(bench/reference.py) as two gunicorn servers, 1 worker x 8 threads each, pinned to CPU 0 (taskset), wrk
pinned to CPU 1, 32 connections; each endpoint measured in turns with bare on both, --rounds rounds,
the median of the rounds reported. The answers of the two are compared before measuring (exit 1 if
they differ). `--classic` (or --only naming tasks, member_code, guide_scan or flash_sale) runs the
modes below, against the project alone:

    .venv/bin/python bench/run.py --classic [--seconds 10] [--members 20000] [--board-size 1000000]

Starts gunicorn (the project's gunicorn.conf.py) on a free 127.0.0.1 port against DATABASE_URL
(default: a fresh PostgreSQL database on 127.0.0.1:5432, user postgres, dropped afterwards) and
REDIS_URL (default redis://127.0.0.1:6379/11, flushed before and after), migrates, creates members
with tokens through the services, loads the points_week board, then drives each endpoint for a
fixed number of seconds with wrk (or, without wrk, Python threads on keep-alive connections).
An endpoint that answers 404 (not written yet) is skipped. Everything stops and is cleaned up by itself.

    .venv/bin/python bench/run.py --only bare member_code guide_scan --seconds 10 --members 5000

GET /me/member-code (signed-in members) and POST /guide/scan (one guide; every scan a fresh code of a
distinct member, computed in this process just before each slice, each sent once).

    .venv/bin/python bench/run.py --only flash_sale [--flash-attempts 2000] [--flash-stock 100] [--flash-cash]

The flash sale (only with --only): --flash-attempts distinct members each try once, at the same time,
to redeem goods with --flash-stock units; checked in SQL afterwards (exit status 1 if oversold or unsold).
"""
import argparse
import contextlib
import json
import os
import random
import re
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
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import load

GOALS = {"signin": 0.5, "calendar": 0.8, "leaderboard": 0.8}
# issue 24: the project's req/s over the reference's, each endpoint
REFERENCE_GOALS = {"signin": 0.7, "calendar": 0.8, "calendar_past": 0.8, "me": 0.8, "leaderboard": 0.8,
                   "mall_goods": 0.8}
COMPARED = ("bare", "signin", "calendar", "calendar_past", "me", "leaderboard", "mall_goods")
CLASSIC_ONLY = ("tasks", "member_code", "guide_scan", "flash_sale")
CHECK_MEMBERS = 4  # the last members: two signed in by the checks (project, reference), two frozen
SYNTHETIC_ID_BASE = 100_000_000  # board members that are not in SQL: ids no real member has
SEEDED = ("signin", "calendar", "calendar_past", "leaderboard", "me", "tasks")  # what the board and the task events are for
FLASH = "flash_sale"  # a mode of its own, only with --only: not a wrk endpoint
MALL_GOODS = 20  # goods on sale for GET /mall/goods
FLASH_POINTS, PRICE_POINTS, FLASH_CASH_FEN = 1000, 100, 990  # credited to each flash member; one unit's price
FLASH_WARM = 20  # extra members who warm the order path up on goods of their own before the sale
ORDERS_PATH = "/api/v1/mall/orders"
SCAN = "guide_scan"  # measured in turns with bare like the rest, but on bodies of its own (codes used once)
SCAN_FAILURES = 0.01  # the share of scans not answered 200 above which the run fails
ADDRESS = {"userName": "张三", "telNumber": "13800000000", "provinceName": "上海市", "cityName": "上海市",
           "countyName": "浦东新区", "detailInfo": "世纪大道 1 号"}


def main():
    args = _parse()
    if args.mode == "compare":
        return compare_main(args)
    secret = secrets.token_hex(32)
    results, sales, failures = {}, [], []
    try:
        with _database(args.database_url) as database_url, _sandbox(args) as sandbox_url:
            os.environ.update(DATABASE_URL=database_url, REDIS_URL=args.redis_url, SECRET_KEY=secret)
            prepared = _prepare(args, sandbox_url)
            with _gunicorn(_free_port(), args, sandbox_url) as base:
                if _regular(args):
                    results = _measure(base, prepared, args, failures)
                if _wanted(args, FLASH):
                    sales.append(_flash_sale(base, prepared, args, database_url, cash=False))
                    if args.flash_cash:
                        sales.append(_flash_sale(base, prepared, args, database_url, cash=True))
    finally:
        _flush_redis(args.redis_url)
    if results:
        _report(results, args)
    for sale in sales:
        _report_flash(sale)
        failures += sale["failures"]
    if failures:
        print("\n==> FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)


def _wanted(args, name) -> bool:
    """The flash sale only when named; every other endpoint also when --only is not given. In the compare
    mode, only its endpoints (and what they need: the calendars need the board's sign-ins seeded)."""
    if getattr(args, "mode", "classic") == "compare":
        return name in COMPARED and (not args.only or name in args.only or name == "bare")
    return name in args.only if args.only else name != FLASH


def _regular(args) -> bool:
    """Whether any endpoint of the wrk measurement (bare and the rest) is to be measured."""
    return any(_wanted(args, name) for name in _endpoints())


def _parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=10, help="length of each measurement (of each side, each round)")
    p.add_argument("--members", type=int, default=8_000, help="real members (distinct sign-ins)")
    p.add_argument("--classic", action="store_true", help="the project alone (the modes before issue 24)")
    p.add_argument("--rounds", type=int, default=3, help="compare mode: rounds, the median reported")
    p.add_argument("--signin-members", type=int, default=0,
                   help="compare mode: extra members for sign-in only (each side gets half of them)")
    p.add_argument("--server-cpu", default="0", help="compare mode: taskset CPU list of both gunicorns")
    p.add_argument("--load-cpu", default="1", help="compare mode: taskset CPU list of wrk")
    p.add_argument("--server-threads", type=int, default=8, help="compare mode: gunicorn threads (1 worker)")
    p.add_argument("--board-size", type=int, default=1_000_000, help="synthetic members on points_week")
    p.add_argument("--slices", type=int, default=None,
                   help="turns of bare and endpoint within --seconds (default 5; 2 in the compare mode)")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="load generator threads")
    p.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py)")
    p.add_argument("--only", nargs="*", help="bare signin calendar leaderboard me tasks mall_goods member_code "
                                              "guide_scan flash_sale (flash_sale runs only when named here)")
    p.add_argument("--task-members", type=int, default=200, help="members with TASK_EVENTS events each (GET /tasks)")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11"))
    p.add_argument("--python-load", action="store_true", help="use the Python load generator even if wrk exists")
    p.add_argument("--cold", action="store_true", help="measure reads without a warm-up pass (cold Redis index)")
    p.add_argument("--flash-attempts", type=int, default=2000, help="flash sale: distinct members, one attempt each")
    p.add_argument("--flash-stock", type=int, default=100, help="flash sale: units of the goods")
    p.add_argument("--flash-concurrency", type=int, default=500,
                   help="flash sale: attempts in flight at once (each on a connection of its own)")
    p.add_argument("--flash-cash", action="store_true",
                   help="flash sale: also a points + cash round (JSAPI orders at the WeChat sandbox)")
    args = p.parse_args()
    args.mode = "classic" if args.classic or set(args.only or ()) & set(CLASSIC_ONLY) else "compare"
    args.slices = args.slices or (5 if args.mode == "classic" else 2)
    if args.mode == "compare":
        unknown = set(args.only or ()) - set(COMPARED)
        if unknown:
            p.error(f"--only: the compare mode measures {', '.join(COMPARED)} (--classic for the others)")
        return args
    unknown = set(args.only or ()) - set(_endpoints()) - {FLASH}
    if unknown:
        p.error(f"--only: no endpoint {', '.join(sorted(unknown))}")
    if _wanted(args, FLASH) and args.members < args.flash_attempts:
        p.error(f"--members ({args.members}) must be at least --flash-attempts ({args.flash_attempts})")
    if _wanted(args, SCAN) and args.seconds // args.slices > 50:
        p.error("guide_scan: a slice (--seconds / --slices) must be at most 50 s: its codes live 60 to 120 s")
    return args


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


@contextlib.contextmanager
def _app():
    """An app context of the bench process (its own throwaway instance folder; its connections closed after)."""
    from app import create_app
    from models import db

    instance = tempfile.mkdtemp(prefix="bench-instance-")
    try:
        app = create_app(instance_path=instance)
        with app.app_context():
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def _prepare(args, sandbox_url=None) -> SimpleNamespace:
    """Migrate, create the members and their tokens, load the leaderboard and what the selected
    endpoints need (mall goods; the flash sale's points); returns the tokens."""
    from flask_migrate import upgrade

    from models import db
    from services.index import redis_rebuild
    from services.leaderboards import leaderboards
    from services.members import members
    from services.platform import tokens
    from services.platform.db import transaction
    from services.platform.redis_client import get_redis

    flash, seeded = _wanted(args, FLASH), any(_wanted(args, name) for name in SEEDED)
    extra = args.signin_members if args.mode == "compare" else 0
    names = [f"bench-{os.getpid()}-{n}" for n in range(args.members + extra)]
    names += [f"bench-{os.getpid()}-warm-{n}" for n in range(FLASH_WARM if flash else 0)]
    # the WeChat sandbox places JSAPI orders only for openids it handed out (a wx.login of each member)
    openids = _sandbox_openids(sandbox_url, names) if sandbox_url else names
    with _app():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        get_redis().flushdb()
        started, ids = time.monotonic(), []
        for start in range(0, len(openids), 1000):
            with transaction():
                batch = [members.create_member(openid) for openid in openids[start:start + 1000]]
            ids += [m.id for m in batch]
            db.session.remove()
        ids, signin_ids, warm_ids = ids[:args.members], ids[args.members:args.members + extra], ids[args.members + extra:]
        print(f"==> {len(ids) + len(signin_ids) + len(warm_ids)} members in {time.monotonic() - started:.1f}s")
        operator_id = _operator() if flash or _wanted(args, "mall_goods") or _wanted(args, SCAN) else None
        if _wanted(args, "mall_goods"):
            _seed_goods(operator_id)
        guide_id, guide_token = _seed_guide(operator_id, ids) if _wanted(args, SCAN) else (None, None)
        if flash:
            _credit(ids[:args.flash_attempts] + warm_ids, FLASH_POINTS)
        if args.mode == "compare":
            _past_signins(ids)
        started = time.monotonic()
        cards = redis_rebuild.rebuild_all()["member_cards"][0]
        print(f"==> rebuild-redis: {cards} member cards in {time.monotonic() - started:.1f}s")
        if seeded:
            started = time.monotonic()
            now, rng = leaderboards.clock.now(), random.Random(42)
            rows = [(SYNTHETIC_ID_BASE + n, rng.randint(1, 5000), now - timedelta(seconds=rng.randint(0, 3600)))
                    for n in range(args.board_size)]
            rows += [(mid, rng.randint(1, 5000), now) for mid in ids]
            written = leaderboards.write_board(leaderboards.BOARDS["points_week"], rows)
            print(f"==> points_week: {written} members in {time.monotonic() - started:.1f}s "
                  f"({get_redis().zcard(leaderboards.key(leaderboards.BOARDS['points_week'])) - 1} in Redis)")
            if args.mode == "classic" and _wanted(args, "tasks"):
                _seed_tasks(ids[:args.task_members])
        member_tokens = [tokens.issue("member", mid, 0) for mid in ids]
        return SimpleNamespace(tokens=member_tokens, ids=ids, flash_tokens=member_tokens[:args.flash_attempts],
                               signin_tokens=[tokens.issue("member", mid, 0) for mid in signin_ids],
                               warm_tokens=[tokens.issue("member", mid, 0) for mid in warm_ids],
                               operator_id=operator_id, guide_id=guide_id, guide_token=guide_token)


def _operator() -> int:
    """An admin operator for the goods (create_goods records its id in the audit log)."""
    from services.members import operators
    return operators.create_operator(username=f"bench-{os.getpid()}", password=secrets.token_hex(16),
                                     role="admin").id


def _goods_fields(name, **fields) -> dict:
    """Goods as an operator sends them (blueprints/admin/mall.py OperatorGoodsSchema), physical, pure points."""
    return {"name": name, "kind": "physical", "price_points": PRICE_POINTS, "price_fen": 0, "stock": 1000,
            "per_order_limit": 1, "per_member_limit": 5, "description": "", "images": [], "category": "bench",
            "level_discount": True, "status": "on_sale", **fields}


def _seed_guide(operator_id, member_ids) -> tuple[int, str]:
    """A store and a guide of it (through the services), the guide's token, and every member's code
    secret (as after each had opened GET /me/member-code once)."""
    from models import Operator, db
    from services.guides import guides
    from services.payments import stores
    from services.platform import tokens

    store = stores.create_store(name=f"bench store {os.getpid()}")
    guide = guides.create_guide(db.session.get(Operator, operator_id), {
        "store_id": store.id, "name": "bench guide", "phone": "13900000000", "password": secrets.token_hex(16),
        "wecom_userid": None, "qr_image_url": None})
    store_id, guide_id, token = store.id, guide.id, tokens.issue("guide", guide.id, guide.token_version)
    started = time.monotonic()
    _codes_now(member_ids)
    print(f"==> store {store_id}, guide {guide_id}; code secrets of {len(member_ids)} members "
          f"in {time.monotonic() - started:.1f}s")
    return guide_id, token


def _codes_now(member_ids) -> list[str]:
    """Each member's code now, as GET /me/member-code computes it (services.guides.member_codes.current_code,
    in an app context of this process: SECRET_KEY is in the environment gunicorn inherits), without
    drawing its QR (~3.6 ms a code, and not what is measured). A code is good for this 60 s step and the next."""
    from unittest import mock

    from models import db
    from services.guides import member_codes
    with mock.patch.object(member_codes, "qr_svg", lambda code: ""):
        codes = [member_codes.current_code(mid)["code"] for mid in member_ids]
    db.session.remove()  # no transaction left open beside the measurement
    return codes


def _seed_goods(operator_id) -> None:
    from models import Operator, db
    from services.mall import goods
    operator = db.session.get(Operator, operator_id)
    for n in range(MALL_GOODS):
        goods.create_goods(operator, _goods_fields(f"bench goods {n}", price_points=100 + n))
    print(f"==> {MALL_GOODS} goods on sale")


def _credit(member_ids, amount) -> None:
    """`amount` points for each member, through the ledger (earn), 500 members a transaction."""
    from models import db
    from services.ledger import points
    from services.platform.db import transaction
    started = time.monotonic()
    for start in range(0, len(member_ids), 500):
        with transaction():
            for mid in member_ids[start:start + 500]:
                points.earn(mid, amount, reason="bench", business_key=f"bench:flash:{mid}")
        db.session.remove()
    print(f"==> {amount} points for each of {len(member_ids)} members in {time.monotonic() - started:.1f}s")


def _sandbox_openids(sandbox_url, users) -> list[str]:
    """One wx.login code per user at the sandbox: the openids it knows (and will place orders for)."""
    from concurrent.futures import ThreadPoolExecutor

    def mint(user):
        request = urllib.request.Request(f"{sandbox_url}sandbox/login-code", data=json.dumps({"user": user}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as res:
            return json.load(res)["openid"]
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        openids = list(pool.map(mint, users))
    print(f"==> {len(openids)} openids from the WeChat sandbox in {time.monotonic() - started:.1f}s")
    return openids


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
def _sandbox(args):
    """The WeChat sandbox (`python -m sandbox`, as scripts/run starts it) for the points + cash flash
    sale, on a free port; its URL, or None when not needed."""
    if not (args.flash_cash and _wanted(args, FLASH)):
        yield None
        return
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port)], cwd=ROOT,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            if _status(f"{url}sandbox/sent") is not None:
                break
            if proc.poll() is not None:
                raise SystemExit("the WeChat sandbox exited during start-up")
            time.sleep(0.1)
        else:
            raise SystemExit("the WeChat sandbox did not answer in 10 s")
        print(f"==> WeChat sandbox on {url}")
        yield url
    finally:
        _stop(proc)
        print("==> WeChat sandbox stopped")


def _stop(proc) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def _gunicorn(port, args, sandbox_url=None, *, pin=(), reference=False):
    """gunicorn with the project's gunicorn.conf.py (or, `reference`, bench/reference.py with
    bench/reference_gunicorn.py), started under `pin` (e.g. taskset -c 0); the compare mode gives both
    1 worker x --server-threads threads."""
    # every request comes from 127.0.0.1 (RATE_LIMITS_ENABLED=1 in the environment keeps the limits on)
    env = dict(os.environ, BIND=f"127.0.0.1:{port}", ACCESS_LOG="/dev/null",
               RATE_LIMITS_ENABLED=os.environ.get("RATE_LIMITS_ENABLED", "0"))
    if sandbox_url:
        env.update(WECHAT_API_BASE_URL=sandbox_url, WECHAT_PAY_BASE_URL=sandbox_url)
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    if args.mode == "compare":
        env.update(WEB_CONCURRENCY=str(args.workers or 1), THREADS=str(args.server_threads))
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = (["-c", "bench/reference_gunicorn.py", "bench.reference:app"] if reference
               else ["-c", "gunicorn.conf.py", "app:create_app()"])
    label = "reference" if reference else "gunicorn"
    proc = subprocess.Popen([*pin, str(gunicorn), *command], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            if _status(f"{base}/bench/bare" if reference else f"{base}/healthz") == 200:
                break
            if proc.poll() is not None:
                raise SystemExit(f"{label} exited during start-up")
            time.sleep(0.2)
        else:
            raise SystemExit(f"{label} did not become healthy in 30 s")
        print(f"==> {label} on {base}{' (' + ' '.join(pin) + ')' if pin else ''}, workers: "
              f"{env.get('WEB_CONCURRENCY', 'gunicorn.conf.py default')}, threads: {env.get('THREADS', 'default')}")
        yield base
    finally:
        _stop(proc)
        print(f"==> {label} stopped")


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
            # the task list of a member with TASKS tasks and TASK_EVENTS events: 3 statements whatever the events
            "tasks": ("GET", "/api/v1/tasks"),
            # a page of MALL_GOODS goods on sale as a signed-in member sees them (points, level, units ordered)
            "mall_goods": ("GET", f"/api/v1/mall/goods?limit={MALL_GOODS}"),
            # the member's code for a guide to scan (18 digits and its QR as SVG)
            "member_code": ("GET", "/api/v1/me/member-code"),
            # a guide scans a member's code (used up): the member card; every request a distinct member
            SCAN: ("POST", "/api/v1/guide/scan")}


def _get_json(url, token, body=None):
    """GET (or, with a body, POST it as JSON): the status and the JSON answer (an error's too)."""
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as res:
            return res.status, json.load(res)
    except urllib.error.HTTPError as exc:
        with contextlib.suppress(ValueError):
            return exc.code, json.load(exc)
        return exc.code, None


def _measure(base, prepared, args, failures) -> dict:
    runner = load.Wrk if shutil.which("wrk") and not args.python_load else load.PythonLoad
    print(f"==> load generator: {runner.__name__}, {args.connections} connections, {args.seconds}s each")
    results, tokens = {}, prepared.tokens
    for name, (method, path) in _endpoints().items():
        if not _wanted(args, name) and name != "bare":
            continue
        if name == SCAN:
            if (result := _scans(runner, base, prepared, args, failures)) is not None:
                results[name] = result
            continue
        probe = tokens[-1]  # the probe's sign-in uses a member the measurement does not
        members = tokens[:args.task_members] + [probe] if name == "tasks" else tokens
        status = _status(base + path, method, probe)
        if status == 404:
            print(f"--- {name}: {method} {path} answers 404: not there yet, skipped")
            continue
        if status not in (200, 201):
            print(f"--- {name}: {method} {path} answers {status} to a probe; measuring anyway")
        if name == "mall_goods":
            status, page = _get_json(base + path, probe)
            items = len(page["items"]) if page else None
            print(f"    {path}: {status}, {items} items")
            if (status, items) != (200, MALL_GOODS):
                failures.append(f"mall_goods: {path} answered {status} with {items} items, not 200 with {MALL_GOODS}")
        if name == "member_code":
            status, answer = _get_json(base + path, probe)
            code, svg = (answer or {}).get("code"), (answer or {}).get("qr_svg")
            print(f"    {path}: {status}, code {code}, expires_in {(answer or {}).get('expires_in')}, "
                  f"qr_svg {len(svg or '')} characters")
            if status != 200 or not re.fullmatch(r"\d{18}", code or "") or not (svg or "").startswith("<svg"):
                failures.append(f"member_code: {path} answered {status} {answer!r:.200}, not 200 with an 18-digit "
                                f"code and an SVG")
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


def _scans(runner, base, prepared, args, failures) -> dict | None:
    """POST /guide/scan in turns with bare (bare before each slice and once after the last). Just before
    each slice, the codes of the members no slice reached yet are computed in this process; each wrk
    thread walks its own stride of them and sends each code once, so every scan is a first scan of a
    distinct member (and, the members being unbound, binds them to the guide). The next slice starts
    past the furthest code any thread reached. Every answer is tallied: more than SCAN_FAILURES of them
    not 200 fails the run."""
    method, path = _endpoints()[SCAN]
    probe, walk = prepared.ids[-1], prepared.ids[:-1]  # the probe member is not in the walk
    code = _in_app(_codes_now, [probe])[0]
    status, card = _get_json(base + path, prepared.guide_token, {"member_code": code})
    if status == 404:
        print(f"--- {SCAN}: {method} {path} answers 404: not there yet, skipped")
        return None
    again, error = _get_json(base + path, prepared.guide_token, {"member_code": code})
    member = (card or {}).get("member") or {}
    print(f"    {path}: {status}, member {member.get('id')}, guide_id {(card or {}).get('guide_id')}; "
          f"the same code again: {again} {((error or {}).get('error') or {}).get('code')}")
    if status != 200 or member.get("id") != probe or card.get("guide_id") != prepared.guide_id:
        failures.append(f"{SCAN}: the probe scan answered {status} {card!r:.200}, not 200 with member {probe} "
                        f"bound to guide {prepared.guide_id}")
    if (again, ((error or {}).get("error") or {}).get("code")) != (409, "code_expired"):
        failures.append(f"{SCAN}: a second scan of the same code answered {again} {error!r:.200}, not 409 code_expired")
    if os.environ.get("RATE_LIMITS_ENABLED", "0").strip().lower() not in ("0", "false", "no", "off"):
        print("    (RATE_LIMITS_ENABLED is on: a guide may scan 30 codes a minute, the rest are 429s)")
    seconds, bare_path = max(1, args.seconds // args.slices), _endpoints()["bare"]
    slices, bare, used, statuses, exhausted, coding = [], [], 0, {}, None, 0.0
    for _ in range(args.slices):
        bare.append(_load(runner, base, *bare_path, prepared.tokens, args, seconds))
        started = time.monotonic()
        # the codes this slice may reach: every member left, or after a slice 4 times what it reached
        # (this host's speed drifts by half, not fourfold) and a request per connection besides
        batch = walk[used:] if not slices else walk[used:used + 4 * max(p["next"] for p in slices)
                                                    + 2 * args.threads * args.connections]
        if not batch:
            exhausted = exhausted or (0, 0)
            break
        bodies = [json.dumps({"member_code": c}) for c in _in_app(_codes_now, batch)]
        coding += time.monotonic() - started
        part = runner(base, method, path, [prepared.guide_token], seconds=seconds, connections=args.connections,
                      threads=args.threads, bodies=bodies).run()
        slices.append(part)
        if part["next"] > len(bodies):
            exhausted = exhausted or (len(bodies), len(walk) - used)
        used = min(used + part["next"], len(walk))
        for key, n in part["statuses"].items():
            statuses[key] = statuses.get(key, 0) + n
    bare.append(_load(runner, base, *bare_path, prepared.tokens, args, seconds))
    total = sum(part["requests"] for part in slices)
    answered = sum(statuses.values())
    # the answers other than 200, and the requests never answered (wrk's socket errors: timeouts, resets)
    not_ok = answered - statuses.get("200", 0) + sum(part.get("socket_errors", 0) for part in slices)
    p50s = sorted(part.get("p50_ms") or 0 for part in slices)
    result = {"rps": sum(part["rps"] for part in slices) / len(slices), "requests": total, "errors": not_ok,
              "p50_ms": p50s[len(p50s) // 2], "p99_ms": max(part.get("p99_ms") or 0 for part in slices),
              "bare_rps": sum(part["rps"] for part in bare) / len(bare), "members_used": used,
              "statuses": dict(sorted(statuses.items())), "codes_s": round(coding, 1)}
    print(f"--- {SCAN}: {result['rps']:.0f} scans/s, {total} scans (the walk {used} members in), answers "
          f"{result['statuses']}, {not_ok} not 200, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms "
          f"(codes computed in {coding:.1f}s between the slices)")
    if exhausted:
        batch, left = exhausted
        failures.append(f"{SCAN}: a slice ran past its {batch} codes" + (
            f" (all that the {len(walk)} members had left): raise --members" if batch == left else " (its batch)"))
    if not_ok > SCAN_FAILURES * max(total, 1):
        failures.append(f"{SCAN}: {not_ok} of {total} scans not answered 200 ({result['statuses']})")
    return result


def _in_app(fn, *args):
    with _app():
        return fn(*args)


def _report(results, args):
    print("\n==> results (ratio = endpoint req/s ÷ bare req/s measured in turns with it, same run)")
    for name, result in results.items():
        bare = result.get("bare_rps", result["rps"])
        ratio = result["rps"] / bare
        goal = GOALS.get(name)
        verdict = "" if goal is None else f"  goal ≥ {goal}: {'met' if ratio >= goal else 'NOT met'}"
        print(f"  {name:12} {result['rps']:9.0f} req/s  p50 {result.get('p50_ms') or 0:7.1f} ms  "
              f"p99 {result.get('p99_ms') or 0:7.1f} ms  bare {bare:6.0f}  ratio {ratio:5.2f}{verdict}")
    print(json.dumps({"seconds": args.seconds, "board_size": args.board_size,
                      **{k: round(v["rps"], 1) for k, v in results.items()},
                      "bare_beside": {k: round(v["bare_rps"], 1) for k, v in results.items() if "bare_rps" in v},
                      "p99_ms": {k: v.get("p99_ms") for k, v in results.items()},
                      **{f"{k}_answers": v["statuses"] for k, v in results.items() if "statuses" in v}}))


def _flash_sale(base, prepared, args, database_url, *, cash) -> dict:
    """--flash-attempts distinct members, one attempt each and --flash-concurrency in flight, on one goods
    with --flash-stock units (pure points, or points + cash: a JSAPI order at the sandbox for each
    winner); then SQL must show exactly --flash-stock orders and no stock left."""
    from models import Operator, db
    from services.mall import goods

    label = "flash_sale (points + cash)" if cash else "flash_sale (pure points)"
    price = {"price_fen": FLASH_CASH_FEN} if cash else {}
    with _app():
        operator = db.session.get(Operator, prepared.operator_id)
        warm_id = goods.create_goods(operator, _goods_fields("bench warm-up", stock=FLASH_WARM, **price)).id
        goods_id = goods.create_goods(operator, _goods_fields("bench flash sale", stock=args.flash_stock,
                                                              **price)).id
    print(f"==> {label}: goods {goods_id}, {args.flash_stock} units at {PRICE_POINTS} points"
          f"{f' + {FLASH_CASH_FEN} fen' if cash else ''}; {len(prepared.flash_tokens)} members, one attempt each, "
          f"{args.flash_concurrency} in flight")
    sale = {"label": label, "failures": []}
    status = _status(f"{base}/api/v1/mall/goods/{goods_id}", token=prepared.flash_tokens[0])
    if status == 404:
        print(f"--- {label}: GET /api/v1/mall/goods/{goods_id} answers 404: not there yet, skipped")
        return sale

    def body(gid):
        return json.dumps({"goods_id": gid, "quantity": 1, "address": ADDRESS}).encode()

    # the order path once in every worker, winning and losing, by members of its own on goods of its own
    for round_ in ("win", "lose"):
        answers, _ = load.burst(base, "POST", ORDERS_PATH, prepared.warm_tokens, body(warm_id), concurrency=4)
        print(f"    warm-up ({round_}): {_counts(answers)}")
    # the floor: the same burst (the members' tokens, one connection each, as many in flight) on the bare
    # endpoint, which does no work at all
    floor, floor_wall = load.burst(base, "GET", _endpoints()["bare"][1], prepared.flash_tokens, b"",
                                   concurrency=args.flash_concurrency)
    floor_ms = sorted(a["ms"] for a in floor)
    sale["bare_burst"] = {"rps": len(floor) / floor_wall, "p50_ms": _pick(floor_ms, 0.5), "p99_ms": _pick(floor_ms, 0.99),
                          "max_ms": floor_ms[-1], "ok": sum(1 for a in floor if a["status"] == 200)}
    cpu = time.process_time()
    answers, wall = load.burst(base, "POST", ORDERS_PATH, prepared.flash_tokens, body(goods_id),
                               concurrency=args.flash_concurrency)
    cpu = time.process_time() - cpu
    winners = sorted(a["ms"] for a in answers if a["status"] == 201)
    losers = sorted(a["ms"] for a in answers if (a["status"], a["code"]) == (409, "out_of_stock"))
    every = sorted(a["ms"] for a in answers)
    sale.update(attempts=len(answers), wall_s=wall, rps=len(answers) / wall, p50_ms=_pick(every, 0.5),
                p99_ms=_pick(every, 0.99), max_ms=every[-1], winners=len(winners), winners_p50_ms=_pick(winners, 0.5),
                winners_p99_ms=_pick(winners, 0.99), winners_max_ms=winners[-1] if winners else None,
                losers=len(losers), losers_p50_ms=_pick(losers, 0.5), losers_p99_ms=_pick(losers, 0.99),
                losers_max_ms=losers[-1] if losers else None, counts=_counts(answers), client_cpu_s=cpu,
                # out of stock at the goods row's conditional update (details without "stock"): the
                # whole order was done, waited on the winners' row lock and was rolled back; the others
                # were answered by the plain read before any lock
                losers_at_update=sum(1 for a in answers if (a["status"], a["code"]) == (409, "out_of_stock")
                                     and "stock" not in (a["details"] or {})),
                sold_out_s=max((a["done_s"] for a in answers if a["status"] == 201), default=None))
    sale["sql"] = _check_sale(database_url, goods_id, args.flash_stock, cash, sale["failures"])
    if len(winners) != args.flash_stock:
        sale["failures"].append(f"{label}: {len(winners)} attempts answered 201, not {args.flash_stock}")
    if len(winners) + len(losers) != len(answers):
        sale["failures"].append(f"{label}: answers other than 201 and 409 out_of_stock: {sale['counts']}")
    return sale


def _counts(answers) -> dict:
    counts = {}
    for a in answers:
        key = f"{a['status']} {a['code']}" if a["code"] else str(a["status"])
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def _pick(ordered, q):
    return round(ordered[min(int(q * len(ordered)), len(ordered) - 1)], 1) if ordered else None


def _check_sale(database_url, goods_id, stock, cash, failures) -> dict:
    """What SQL says after the sale: orders of the goods, its stock movements, and (cash) the payments
    with a JSAPI order placed."""
    import psycopg
    with psycopg.connect(database_url) as conn:
        orders, members, statuses, points = conn.execute(
            "SELECT count(*), count(DISTINCT member_id), array_agg(DISTINCT status), coalesce(sum(points), 0) "
            "FROM mall_order WHERE goods_id = %s", (goods_id,)).fetchone()
        left, reserved, sold, total = conn.execute(
            "SELECT stock, reserved, sold, total FROM goods WHERE id = %s", (goods_id,)).fetchone()
        prepaid = conn.execute(
            "SELECT count(*) FROM mall_order o JOIN payment p ON p.id = o.payment_id "
            "WHERE o.goods_id = %s AND p.prepay_id IS NOT NULL", (goods_id,)).fetchone()[0]
    sql = {"orders": orders, "members": members, "statuses": statuses, "points": points, "stock": left,
           "reserved": reserved, "sold": sold, "total": total, "prepaid": prepaid}
    print(f"    SQL: {sql}")
    taken = reserved if cash else sold
    expected_status = ["pending_payment"] if cash else ["paid"]
    if orders != stock or members != stock:
        failures.append(f"goods {goods_id}: {orders} orders of {members} members, not {stock}")
    if left != 0 or taken != stock:
        failures.append(f"goods {goods_id}: stock {left}, reserved {reserved}, sold {sold} after the sale")
    if orders and statuses != expected_status:
        failures.append(f"goods {goods_id}: orders {statuses}, not {expected_status}")
    if points != stock * PRICE_POINTS:
        failures.append(f"goods {goods_id}: orders for {points} points, not {stock * PRICE_POINTS}")
    if cash and prepaid != stock:
        failures.append(f"goods {goods_id}: {prepaid} JSAPI orders placed, not {stock}")
    return sql


def _report_flash(sale) -> None:
    print(f"\n==> {sale['label']}")
    if "attempts" not in sale:
        print("  skipped")
        return
    print(f"  {sale['attempts']} attempts in {sale['wall_s']:.2f}s: {sale['rps']:.0f} attempts/s; "
          f"all: p50 {sale['p50_ms']} ms, p99 {sale['p99_ms']} ms, max {sale['max_ms']:.1f} ms")
    print(f"  winners (201): {sale['winners']}, p50 {sale['winners_p50_ms']} ms, p99 {sale['winners_p99_ms']} ms, "
          f"max {sale['winners_max_ms'] and round(sale['winners_max_ms'], 1)} ms; the last one answered "
          f"{sale['sold_out_s'] and round(sale['sold_out_s'], 2)}s after the start")
    print(f"  losers (409 out_of_stock): {sale['losers']}, p50 {sale['losers_p50_ms']} ms, "
          f"p99 {sale['losers_p99_ms']} ms, the last one waited {sale['losers_max_ms'] and round(sale['losers_max_ms'], 1)} ms;"
          f" {sale['losers_at_update']} of them turned away at the stock update (after the whole order, rolled back)")
    print(f"  the load generator's own CPU: {sale['client_cpu_s']:.2f}s (same 2 cores as the server)")
    floor = sale["bare_burst"]
    print(f"  the same burst on the bare endpoint (the floor: no work at all): {floor['rps']:.0f} attempts/s, "
          f"p50 {floor['p50_ms']} ms, p99 {floor['p99_ms']} ms, max {floor['max_ms']:.1f} ms ({floor['ok']} answered 200)")
    print(f"  answers: {sale['counts']}")
    print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in sale.items() if k != "failures"},
                     ensure_ascii=False))


def _flush_redis(url):
    import redis
    redis.Redis.from_url(url).flushdb()
    print("==> redis flushed")


# -- the compare mode (issue 24): the project and the reference, same run, same settings ----------

def _past_month() -> tuple[str, datetime]:
    """The month before this one (TIMEZONE) and noon on its 10th, as an aware instant."""
    from zoneinfo import ZoneInfo
    zone = ZoneInfo(os.environ.get("TIMEZONE", "Asia/Shanghai"))
    first = datetime.now(zone).date().replace(day=1)
    last_month = (first - timedelta(days=1)).replace(day=10)
    return last_month.strftime("%Y-%m"), datetime(last_month.year, last_month.month, 10, 12, tzinfo=zone)


def _past_signins(member_ids) -> None:
    """Every member signs in once on the 10th of last month, through the project's service with the app's
    clock moved there (services.platform.clock, as tests/ and demo/history.py move it): the past-month
    calendar has a day to show, and the ledgers stay consistent (a points entry, lot, growth entry…)."""
    from flask import current_app

    from models import db
    from services.signin import signin
    month, at = _past_month()
    clock = current_app.extensions["clock"]
    started = time.monotonic()
    clock.freeze(at)
    try:
        for mid in member_ids:
            signin.sign_in(mid)
            db.session.remove()
    finally:
        clock.reset()
    print(f"==> {len(member_ids)} sign-ins on {at.date()} (the past month {month}) through the service "
          f"in {time.monotonic() - started:.1f}s")


def _compare_endpoints() -> dict:
    paths = _endpoints()
    month, _ = _past_month()
    return {"bare": paths["bare"], "signin": paths["signin"], "calendar": paths["calendar"],
            "calendar_past": ("GET", f"/api/v1/signin/calendar?month={month}"), "me": paths["me"],
            "leaderboard": paths["leaderboard"], "mall_goods": paths["mall_goods"]}


def compare_main(args) -> None:
    secret = secrets.token_hex(32)
    failures, results = [], {}
    if not shutil.which("taskset"):
        raise SystemExit("the compare mode pins the servers and wrk with taskset (util-linux)")
    try:
        with _database(args.database_url) as database_url:
            os.environ.update(DATABASE_URL=database_url, REDIS_URL=args.redis_url, SECRET_KEY=secret)
            prepared = _prepare(args)
            server = ["taskset", "-c", args.server_cpu]
            with _gunicorn(_free_port(), args, pin=server) as project, \
                    _gunicorn(_free_port(), args, pin=server, reference=True) as reference:
                checked = _check_same(project, reference, prepared, args, database_url, failures)
                if failures and checked:
                    print("\n==> the reference does not answer as the project: not measured")
                else:
                    results = _compare(project, reference, prepared, args, failures)
    finally:
        _flush_redis(args.redis_url)
    if results:
        _report_compare(results, args)
    if failures:
        print("\n==> FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)


def _request(base, method, path, token, body=None):
    """The status and the JSON answer (an error's too) of one request."""
    if method == "POST" and body is None:
        body = {}
    return _get_json(base + path, token, body)


def _check_same(project, reference, prepared, args, database_url, failures) -> bool:
    """Before measuring: the same answers from both for the same member and state, and the same rows and
    Redis keys written by a sign-in of each (members in the same state). Appends to `failures`."""
    paths = _compare_endpoints()
    a, b, frozen_p, frozen_r = prepared.ids[-CHECK_MEMBERS:]
    ta, tb, tfp, tfr = prepared.tokens[-CHECK_MEMBERS:]
    reads = [name for name in ("calendar", "calendar_past", "me", "leaderboard", "mall_goods") if _wanted(args, name)]
    print("==> checking the reference's answers against the project's")

    def compare_reads(stage):
        for member, token, first in ((a, ta, (project, "project")), (b, tb, (reference, "reference"))):
            for name in reads:
                if name == "leaderboard" and first[1] == "reference":
                    _drop_cached_tops()  # the reference renders the top itself, not the project's cached one
                second = (reference, "reference") if first[1] == "project" else (project, "project")
                answers = {}
                for base, side in (first, second):
                    answers[side] = _request(base, *paths[name], token)
                ok = answers["project"] == answers["reference"] and answers["project"][0] == 200
                print(f"    {name:13} member {member} ({stage}, {first[1]} first): "
                      f"{'same' if ok else 'DIFFERENT'} ({answers['project'][0]} / {answers['reference'][0]})")
                if not ok:
                    failures.append(f"{name}: member {member} ({stage}): the project answered "
                                    f"{json.dumps(answers['project'], ensure_ascii=False)[:600]}, the reference "
                                    f"{json.dumps(answers['reference'], ensure_ascii=False)[:600]}")

    compare_reads("before signing in")
    if _wanted(args, "signin"):
        before = _rows_of(database_url, [a, b])
        keys_before = _redis_of(args.redis_url, [a, b])
        sp, answer_p = _request(project, *paths["signin"], ta)
        sr, answer_r = _request(reference, *paths["signin"], tb)
        same = (sp, answer_p) == (sr, answer_r) and sp == 200
        print(f"    signin        project (member {a}) {sp}, reference (member {b}) {sr}: "
              f"{'same answer' if same else 'DIFFERENT'}: {json.dumps(answer_r, ensure_ascii=False)}")
        if not same:
            failures.append(f"signin: the project answered {sp} {answer_p}, the reference {sr} {answer_r}")
        shape = {"day", "kind", "streak", "coupons", "points", "growth", "bonus", "badges", "cost_points", "paid_with"}
        if not isinstance(answer_r, dict) or set(answer_r) != shape:
            failures.append(f"signin: the reference's answer has the keys {sorted(answer_r or {})}, not {sorted(shape)}")
        after = _rows_of(database_url, [a, b])
        written = {m: {t: _minus(after[m][t], before[m].get(t, [])) for t in after[m]} for m in (a, b)}
        for table in sorted(set(written[a]) | set(written[b])):
            wa, wb = written[a].get(table, []), written[b].get(table, [])
            if wa or wb:
                print(f"      {table:16} project wrote {len(wa)} row(s), the reference {len(wb)}: "
                      f"{'same' if sorted(map(repr, wa)) == sorted(map(repr, wb)) else 'DIFFERENT'}")
            if sorted(map(repr, wa)) != sorted(map(repr, wb)):
                failures.append(f"signin rows of {table}: project {wa}, reference {wb}")
        keys_after = _redis_of(args.redis_url, [a, b])
        for what in keys_after[a]:
            seen = {}
            for m in (a, b):  # a board's value: what the sign-in added (the board was seeded at random)
                was, now = keys_before[m][what], keys_after[m][what]
                seen[m] = f"+{now - (was or 0)}" if what in BOARD_VALUES and now is not None else now
            same = seen[a] == seen[b]
            print(f"      redis {what:13} {seen[a]!r:45} / {seen[b]!r:45} {'same' if same else 'DIFFERENT'}")
            if not same:
                failures.append(f"signin: Redis {what} after the project's sign-in {seen[a]!r}, after "
                                f"the reference's {seen[b]!r}")
        for base, side, token in ((project, "project", ta), (reference, "reference", tb)):
            status, error = _request(base, *paths["signin"], token)
            code = ((error or {}).get("error") or {}).get("code")
            print(f"    signin again  {side}: {status} {code}")
            if (status, code) != (409, "already_signed_in"):
                failures.append(f"signin: a second sign-in the same day at the {side} answered {status} {error}")
        _freeze(database_url, [frozen_p, frozen_r])
        answers = {side: _request(base, *paths["signin"], token) for base, side, token in
                   ((project, "project", tfp), (reference, "reference", tfr))}
        print(f"    signin frozen project {answers['project'][0]} "
              f"{((answers['project'][1] or {}).get('error') or {}).get('code')}, reference {answers['reference'][0]} "
              f"{((answers['reference'][1] or {}).get('error') or {}).get('code')}")
        if answers["project"] != answers["reference"] or answers["reference"][0] != 409:
            failures.append(f"signin of a frozen member: project {answers['project']}, reference {answers['reference']}")
        compare_reads("signed in today")
    revoked = _token_of(prepared, a, version=7)
    for base, side in ((project, "project"), (reference, "reference")):
        status, _ = _request(base, *paths["me"], revoked)
        if status != 401:
            failures.append(f"me: a token of another version answered {status} at the {side}, not 401")
    print(f"==> checks: {'all the same' if not failures else f'{len(failures)} differences'}")
    return True


BOARD_VALUES = ("points_week", "points_month")


def _minus(rows, earlier):
    """The rows not in `earlier`, as multisets (a sign-in may write a row equal to an older one)."""
    left = list(rows)
    for row in earlier:
        if row in left:
            left.remove(row)
    return left


def _token_of(prepared, member_id, *, version):
    with _app():
        from services.platform import tokens
        return tokens.issue("member", member_id, version)


def _drop_cached_tops():
    from services.leaderboards import leaderboards
    import redis
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    with _app():
        client.delete(leaderboards.board_keys(leaderboards.BOARDS["points_week"])[1])


def _freeze(database_url, member_ids):
    import psycopg
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE member SET status = 'frozen' WHERE id = ANY(%s)", (member_ids,))


IGNORED_COLUMNS = {"id", "entry_id", "record_id", "created_at", "updated_at", "occurred_at", "earned_at", "openid"}


def _rows_of(database_url, member_ids) -> dict:
    """Every row of every table with a member_id column (and the member row), per member, without ids and
    timestamps, the member's id in texts replaced by {m}: comparable between two members."""
    import psycopg
    out = {m: {} for m in member_ids}
    with psycopg.connect(database_url, options="-c timezone=UTC") as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'member_id' "
            "AND table_schema = 'public' ORDER BY table_name")]
        for table in ["member", *tables]:
            column = "id" if table == "member" else "member_id"
            for m in member_ids:
                cur = conn.execute(f'SELECT * FROM "{table}" WHERE {column} = %s', (m,))
                names = [d.name for d in cur.description]
                out[m][table] = [{k: (v.replace(str(m), "{m}") if isinstance(v, str) else v)
                                  for k, v in zip(names, row) if k not in IGNORED_COLUMNS and k != column}
                                 for row in cur.fetchall()]
    return out


def _redis_of(redis_url, member_ids) -> dict:
    """The member's sign-in index keys (totals, this month's bitmap) and values on the streak and points boards."""
    import redis
    from services.leaderboards import leaderboards
    client, out = redis.Redis.from_url(redis_url), {}
    month = time.strftime("%Y-%m")
    with _app():
        from services.platform import clock
        month = clock.today().strftime("%Y-%m")
        boards = {name: leaderboards.key(leaderboards.BOARDS[name]) for name in ("streak", "points_week", "points_month")}
    for m in member_ids:
        out[m] = {"totals": client.get(f"signin:{{m:{m}}}:totals"), "month": client.get(f"signin:{{m:{m}}}:{month}")}
        for name, k in boards.items():
            score = client.zscore(k, str(m))
            out[m][name] = None if score is None else int(score) >> leaderboards.BOARDS[name].bits
    return out


def _compare(project, reference, prepared, args, failures) -> dict:
    """Each endpoint, --rounds rounds: in each, --slices turns of [bare, endpoint] on one server then the
    other (which goes first alternates by round). Sign-in: disjoint members for the two sides."""
    runner = load.Wrk if shutil.which("wrk") and not args.python_load else load.PythonLoad
    prefix = ["taskset", "-c", args.load_cpu] if runner is load.Wrk else []
    print(f"==> load generator: {runner.__name__}{' pinned to CPU ' + args.load_cpu if prefix else ''}, "
          f"{args.connections} connections, {args.threads} threads; {args.rounds} rounds of {args.slices} turns, "
          f"{max(1, args.seconds // args.slices)}s a slice")
    tokens = prepared.tokens[:-CHECK_MEMBERS]
    half = len(tokens) // 2
    extra = prepared.signin_tokens
    signin_tokens = {"project": tokens[:half] + extra[:len(extra) // 2],
                     "reference": tokens[half:] + extra[len(extra) // 2:]}
    used = {"project": 0, "reference": 0}
    servers = {"project": project, "reference": reference}
    paths = _compare_endpoints()
    names = [n for n in paths if n != "bare" and _wanted(args, n)]
    for name in names:
        method, path = paths[name]
        if method == "GET" and not args.cold:
            started = time.monotonic()
            ok = {side: load.warm(base, method, path, tokens, connections=args.connections)
                  for side, base in servers.items()}
            print(f"    {name}: warm-up, every member once on each ({ok}) in {time.monotonic() - started:.1f}s")
    seconds = max(1, args.seconds // args.slices)

    def run(base, method, path, toks):
        return runner(base, method, path, toks, seconds=seconds, connections=args.connections,
                      threads=args.threads, prefix=prefix).run()

    rounds = {name: [] for name in names}
    for r in range(args.rounds):
        order = ("project", "reference") if r % 2 == 0 else ("reference", "project")
        for name in names:
            method, path = paths[name]
            parts = {side: [] for side in order}
            bares = {side: [] for side in order}
            for _ in range(args.slices):
                for side in order:
                    bares[side].append(run(servers[side], *paths["bare"], tokens))
                    if method == "POST":
                        part = run(servers[side], method, path, signin_tokens[side][used[side]:])
                        # wrk reports the first token no thread reached (else: a bound for uneven threads)
                        reached = part.get("next", (part["requests"] + args.connections) * args.threads)
                        used[side] = min(used[side] + reached, len(signin_tokens[side]))
                    else:
                        part = run(servers[side], method, path, tokens)
                    parts[side].append(part)
            figures = {}
            for side in order:
                ps = parts[side]
                figures[side] = {"rps": sum(p["rps"] for p in ps) / len(ps),
                                 "bare_rps": sum(p["rps"] for p in bares[side]) / len(bares[side]),
                                 "errors": sum(p["errors"] for p in ps), "requests": sum(p["requests"] for p in ps),
                                 "p50_ms": sorted(p.get("p50_ms") or 0 for p in ps)[len(ps) // 2],
                                 "p99_ms": max(p.get("p99_ms") or 0 for p in ps),
                                 "max_ms": max(p.get("max_ms") or 0 for p in ps)}
            rounds[name].append(figures)
            print(f"    round {r + 1} {name:13} project {figures['project']['rps']:7.0f} req/s "
                  f"(bare {figures['project']['bare_rps']:5.0f}, errors {figures['project']['errors']}), "
                  f"reference {figures['reference']['rps']:7.0f} req/s (bare {figures['reference']['bare_rps']:5.0f}, "
                  f"errors {figures['reference']['errors']})")
    results = {}
    for name, per_round in rounds.items():
        results[name] = _median_of_rounds(per_round)
        errors = {side: sum(f[side]["errors"] for f in per_round) for side in ("project", "reference")}
        if name == "signin":
            for side in ("project", "reference"):
                results[name][f"{side}_members_used"] = used[side]
                results[name][f"{side}_members"] = len(signin_tokens[side])
                if used[side] >= len(signin_tokens[side]) or errors[side]:
                    results[name]["ran_out"] = True
                    failures.append(f"signin: the {side} ran out of members never signed in ({used[side]} of "
                                    f"{len(signin_tokens[side])} used, {errors[side]} answers not 2xx): raise "
                                    f"--members or --signin-members")
        elif any(errors.values()):
            failures.append(f"{name}: answers not 2xx during the measurement: {errors}")
    return results


def _median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def _median_of_rounds(per_round) -> dict:
    """Medians over the rounds of each side's req/s, of bare's (both servers' bare slices pooled), and of
    the per-round ratios; latencies: the median of the rounds' p50 and p99, the largest max."""
    out = {"rounds": per_round}
    for side in ("project", "reference"):
        out[f"{side}_rps"] = _median([f[side]["rps"] for f in per_round])
        out[f"{side}_bare_rps"] = _median([f[side]["bare_rps"] for f in per_round])
        for key in ("p50_ms", "p99_ms"):
            out[f"{side}_{key}"] = _median([f[side][key] for f in per_round])
        out[f"{side}_max_ms"] = max(f[side]["max_ms"] for f in per_round)
    bare = [(f["project"]["bare_rps"] + f["reference"]["bare_rps"]) / 2 for f in per_round]
    out["bare_rps"] = _median(bare)
    out["project_over_bare"] = _median([f["project"]["rps"] / b for f, b in zip(per_round, bare)])
    out["reference_over_bare"] = _median([f["reference"]["rps"] / b for f, b in zip(per_round, bare)])
    out["project_over_reference"] = _median([f["project"]["rps"] / f["reference"]["rps"] for f in per_round])
    return out


def _report_compare(results, args) -> None:
    print(f"\n==> project vs reference: gunicorn 1 worker x {args.server_threads} threads each on CPU "
          f"{args.server_cpu}, wrk on CPU {args.load_cpu}, {args.connections} connections, {args.members} members, "
          f"median of {args.rounds} rounds ({args.slices} turns of {max(1, args.seconds // args.slices)}s a side each)")
    head = ("| endpoint | project req/s | reference req/s | bare req/s | project/bare | reference/bare | "
            "project/reference | project p50/p99/max ms | reference p50/p99/max ms | goal |")
    print(head)
    print("|" + " --- |" * 10)
    for name, r in results.items():
        goal = REFERENCE_GOALS.get(name)
        verdict = "" if goal is None else (f"≥ {goal}: " + ("met" if r["project_over_reference"] >= goal else "NOT met"))
        if r.get("ran_out"):
            verdict += " (ran out of members: repeats answered 409, figures not valid)"
        lat = {side: f"{r[f'{side}_p50_ms']:.1f} / {r[f'{side}_p99_ms']:.1f} / {r[f'{side}_max_ms']:.1f}"
               for side in ("project", "reference")}
        print(f"| {name} | {r['project_rps']:.0f} | {r['reference_rps']:.0f} | {r['bare_rps']:.0f} | "
              f"{r['project_over_bare']:.2f} | {r['reference_over_bare']:.2f} | {r['project_over_reference']:.2f} | "
              f"{lat['project']} | {lat['reference']} | {verdict} |")
    if "signin" in results:
        r = results["signin"]
        print(f"sign-in members used: project {r['project_members_used']} of {r['project_members']}, "
              f"reference {r['reference_members_used']} of {r['reference_members']}")
    print(json.dumps({"mode": "compare", "seconds": args.seconds, "rounds": args.rounds, "slices": args.slices,
                      "members": args.members, "connections": args.connections, "threads": args.server_threads,
                      "results": {name: {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()
                                         if k != "rounds"} | {"rounds": r["rounds"]} for name, r in results.items()}},
                     default=lambda v: round(v, 3)))


if __name__ == "__main__":
    main()
