"""Fixtures: one app per test session on a real database, a real Redis and the WeChat sandbox.

DATABASE_URL / REDIS_URL point the suite at PostgreSQL and a Redis server (CI's second pass);
without them it runs on a SQLite file and an embedded redis-server in a temporary instance folder.
"""
import tempfile
from pathlib import Path

import pytest
import requests

from sandbox.server import SandboxServer
from services.leaderboards import standings
from services.ledger import growth, points
from services.members import operators
from services.platform.db import transaction
from tests.support.api import bearer, unique
from tests.support.apps import app_in, serving


@pytest.fixture(scope="session")
def sandbox():
    with SandboxServer() as server:
        yield server


@pytest.fixture(scope="session")
def app(sandbox):
    # Not tmp_path_factory: pytest deletes older sessions' folders, and with them the database and
    # the Redis socket of a suite still running beside this one.
    with tempfile.TemporaryDirectory(prefix="loyalty-tests-") as folder:
        yield from app_in(Path(folder), sandbox)






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
def rate_limits(app, monkeypatch, clock):
    """Rate limits on, the clock stopped: no window boundary falls inside the test (a slow run once
    crossed a 15-minute one between the guesses and the login they were to refuse)."""
    monkeypatch.setitem(app.config, "RATE_LIMITS_ENABLED", True)
    clock.freeze(clock.now())


@pytest.fixture
def long_tokens(app, monkeypatch):
    """For tests that travel years ahead (`pytestmark = pytest.mark.usefixtures("long_tokens")`): tokens
    outlive the trip."""
    for name in ("MEMBER_TOKEN_TTL", "OPERATOR_TOKEN_TTL"):
        monkeypatch.setitem(app.config, name, 200 * 365 * 24 * 3600)


@pytest.fixture
def live_server(app):
    """The app behind a real threaded HTTP server on loopback, for races of real requests."""
    with serving(app) as url:
        yield url










