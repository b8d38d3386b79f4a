"""Fixtures: one app per test session on a real database, a real Redis and the WeChat sandbox.

DATABASE_URL / REDIS_URL point the suite at PostgreSQL and a Redis server (CI's second pass);
without them it runs on a SQLite file and an embedded redis-server in a temporary instance folder.
"""
import ast
import itertools
import os
import sys
import types
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from app import create_app
from models import db
from sandbox.server import SandboxServer
from services.leaderboards import standings
from services.ledger import audit, growth, points
from services.members import operators
from services.platform import embedded_redis
from services.platform.db import transaction
from services.platform.redis_client import get_redis

# pytest loads this file as `conftest` and the tests import it as `tests.conftest`: two module copies.
# They share one counter (kept in sys.modules), or unique() could hand out a name twice.
_shared = sys.modules.setdefault("loyalty_tests_shared", types.ModuleType("loyalty_tests_shared"))
_serial = _shared.__dict__.setdefault("serial", itertools.count(1))


@pytest.fixture(scope="session")
def sandbox():
    with SandboxServer() as server:
        yield server


@pytest.fixture(scope="session")
def app(sandbox):
    # Not tmp_path_factory: pytest deletes older sessions' folders, and with them the database and
    # the Redis socket of a suite still running beside this one.
    with tempfile.TemporaryDirectory(prefix="loyalty-tests-") as folder:
        yield from _app_in(Path(folder), sandbox)


def _app_in(instance, sandbox, overrides: dict | None = None):
    config = {
        "TESTING": True,
        "RATE_LIMITS_ENABLED": False,  # hundreds of logins from 127.0.0.1; tests of the limits turn them on
        "WECHAT_API_BASE_URL": sandbox.url,
        "WECHAT_PAY_BASE_URL": sandbox.url,
        "WECOM_API_BASE_URL": f"{sandbox.url}cgi-bin/",
    }
    if not os.environ.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'test.sqlite3'}"
    config.update(overrides or {})
    app = create_app(config, instance_path=str(instance))
    with app.app_context():
        upgrade(directory="migrations", revision="heads")
        get_redis().flushdb()
    yield app
    try:
        with app.app_context():
            problems = audit.check_books()["problems"]
            db.session.remove()
            db.engine.dispose()
        assert not problems, "audit-ledger after the suite:\n" + "\n".join(problems)
    finally:
        if not os.environ.get("REDIS_URL"):
            embedded_redis.stop(str(instance))


def app_of_its_own(sandbox, label: str, redis_db_below: int):
    """An app on a database and a Redis of its own (for tests that must share them with nobody): a new
    PostgreSQL database beside the suite's (dropped afterwards), or a SQLite file; with REDIS_URL, the
    Redis database `redis_db_below` below the suite's."""
    overrides, server_url = {}, os.environ.get("DATABASE_URL")
    if server_url:
        url = make_url(server_url)
        name = f"{url.database}_{unique(label).replace('-', '_')}"
        admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        overrides["DATABASE_URL"] = url.set(database=name).render_as_string(hide_password=False)
    if redis_url := os.environ.get("REDIS_URL"):
        base, _, number = redis_url.rpartition("/")
        overrides["REDIS_URL"] = f"{base}/{(int(number or 0) - redis_db_below) % 16}"
    try:
        with tempfile.TemporaryDirectory(prefix=f"loyalty-{label}-") as folder:
            yield from _app_in(Path(folder), sandbox, overrides)
    finally:
        if server_url:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def _fresh_context(app):
    """Each test starts at real time, inside an app context whose session it leaves clean."""
    clock = app.extensions["clock"]
    clock.reset()
    with app.app_context():
        yield
    clock.reset()


@pytest.fixture
def clock(app):
    return app.extensions["clock"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def wx(sandbox):
    """The sandbox's control API: wx.post("login-code", user=…)."""
    class Control:
        def post(self, path, **payload):
            res = requests.post(f"{sandbox.url}sandbox/{path}", json=payload, timeout=10)
            res.raise_for_status()
            return res.json()

        def delete(self, path):
            requests.delete(f"{sandbox.url}sandbox/{path}", timeout=10).raise_for_status()

        def get(self, path, **params):
            res = requests.get(f"{sandbox.url}sandbox/{path}", params=params, timeout=10)
            res.raise_for_status()
            return res.json()

    return Control()


def imported_modules(path: Path):
    """The modules a source file imports by absolute name, read with ast (nothing is imported)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_serial)}"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def login(client, wx):
    """Log a (new, by default) WeChat user in through the sandbox: returns the login answer."""
    def _login(user: str | None = None):
        code = wx.post("login-code", user=user or unique("user"))["code"]
        res = client.post("/api/v1/auth/login", json={"code": code})
        assert res.status_code == 200, res.get_json()
        body = res.get_json()
        body["headers"] = bearer(body["token"])
        return body
    return _login


@pytest.fixture
def named(client, login):
    """Members with distinct nicknames whose masks differ (first letters A, B, C…)."""
    def _named(*letters):
        made = {}
        for letter in letters:
            member = login()
            nickname = letter + unique("x")
            res = client.patch("/api/v1/me", json={"nickname": nickname}, headers=member["headers"])
            assert res.status_code == 200, res.get_json()
            member["nickname"] = standings.mask(nickname)
            made[letter] = member
        return made
    return _named


@pytest.fixture
def make_member(login):
    """A member logged in through the sandbox, with points and growth credited through the ledgers."""
    def _make(points_: int = 0, growth_: int = 0):
        member = login()
        with transaction():
            if points_:
                points.earn(member["member"]["id"], points_, reason="test", business_key=unique("seed-points"))
            if growth_:
                growth.earn(member["member"]["id"], growth_, reason="test", business_key=unique("seed-growth"))
        return member
    return _make


@pytest.fixture
def operator(client):
    """A fresh admin operator and its auth headers."""
    def _operator(role: str = "admin"):
        username, password = unique("op"), "correct horse battery"
        operators.create_operator(username=username, password=password, role=role)
        res = client.post("/api/v1/admin/auth/login", json={"username": username, "password": password})
        assert res.status_code == 200, res.get_json()
        return bearer(res.get_json()["token"])
    return _operator


@pytest.fixture
def store(client, operator):
    """A store of its own and a way to add guides to it (signed in: headers in `guide["headers"]`)."""
    admin = operator()
    store = client.post("/api/v1/admin/stores", headers=admin, json={"name": unique("store")}).get_json()

    def add_guide(**fields):
        phone = f"139{int(unique('p').rsplit('-', 1)[1]) + 10**7:08d}"[-11:]
        res = client.post("/api/v1/admin/guides", headers=admin, json={
            "store_id": store["id"], "name": "小王", "phone": phone, "password": "guide-password", **fields})
        assert res.status_code == 201, res.get_json()
        guide = res.get_json()
        login = client.post("/api/v1/guide/auth/login", json={"phone": phone, "password": "guide-password"})
        assert login.status_code == 200, login.get_json()
        return {**guide, "headers": bearer(login.get_json()["token"]), "phone": phone}

    return {**store, "admin": admin, "add_guide": add_guide}


@pytest.fixture
def long_tokens(app, monkeypatch):
    """For tests that travel years ahead (`pytestmark = pytest.mark.usefixtures("long_tokens")`): tokens
    outlive the trip."""
    for name in ("MEMBER_TOKEN_TTL", "OPERATOR_TOKEN_TTL"):
        monkeypatch.setitem(app.config, name, 200 * 365 * 24 * 3600)


@pytest.fixture
def live_server(app):
    """The app behind a real threaded HTTP server on loopback, for races of real requests."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def race(calls) -> list:
    """Every call at once (each thread waits for the others before it sends); their answers, in order."""
    start = threading.Barrier(len(calls))

    def run(call):
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def send(client, method: str, path: str, body, headers: dict):
    """A request whose body is JSON, or raw text sent as JSON (to test malformed bodies)."""
    kwargs = {"headers": dict(headers)}
    if isinstance(body, str):
        kwargs["data"], kwargs["content_type"] = body, "application/json"
    elif body is not None:
        kwargs["json"] = body
    return getattr(client, method)(path, **kwargs)


def assert_error(res, status: int) -> dict:
    """The answer is `status` with the contract's error envelope; returns the error."""
    assert res.status_code == status, res.get_data(as_text=True)
    error = res.get_json()["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] and error["message"]
    return error


def row_counts(*models) -> dict:
    """How many rows each table has, read in a fresh transaction."""
    db.session.rollback()
    return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) for model in models}


def at(text: str) -> datetime:
    """An instant from ISO text with offset, e.g. at('2026-11-23T23:59:00+08:00')."""
    return datetime.fromisoformat(text).astimezone(UTC)
