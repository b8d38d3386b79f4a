"""Schemathesis against /api/v1/openapi.json: no server error, and every answer is what the document says.

Every operation in the document is fuzzed in-process (WSGI, no server) with a bounded number of requests:
the cases of schemathesis's coverage phase (the boundaries and wrong values the schema implies: a fixed
set per operation) plus MAX_EXAMPLES drawn by Hypothesis from a fixed seed, so every run sends the same
requests. Member endpoints get a member's token, /api/v1/admin endpoints an admin operator's, /api/v1/guide
endpoints a store guide's, and the endpoints the document leaves open (the logins, WeChat's XML webhooks)
none. Nothing is skipped.

The checks are schemathesis's own, chosen in the config below: not_a_server_error, status_code_conformance,
content_type_conformance, response_headers_conformance and response_schema_conformance. A 503 is the
database saying "not now" and is allowed, as long as its body is the documented error envelope
(response_schema_conformance checks that). A 500 always fails, and so does a 502: the sandbox answers
every call here, so a 502 is input we passed on to WeChat that WeChat refused (broken XML and the like).

The fuzzer gets its own app and database (a SQLite file, or a new PostgreSQL database next to the suite's
when DATABASE_URL is set) and its own embedded Redis. It must not share the session's: it freezes members,
revokes tokens, adds levels, sign-in rules and payment rules, and trips the operator-login limit for
127.0.0.1, and all of that would leak into the tests that run after it. Its books must still balance at
the end (audit.check_books, the same check the session fixture runs).

A failure names its operation and prints a curl line (Authorization filtered); run
`scripts/test tests/platform/test_fuzz.py -p no:randomly` to replay exactly the same requests.
"""
import os
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import schemathesis
from flask_migrate import upgrade
from psycopg import sql

from app import create_app
from models import db
from services.ledger import audit
from services.members import operators
from services.platform import embedded_redis
from services.platform.redis_client import get_redis
from tests.support.api import bearer, unique

SEED = 20261118  # each operation draws from this seed plus its own name
MAX_EXAMPLES = 20  # Hypothesis examples per operation, on top of the coverage phase's fixed cases
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance")
# A 2xx from one of these can sign out the member, operator or guide the test is using, or freeze the
# member (any 401 "revoked" also counts, see Credentials.answered).
SIGNS_OUT = ("/logout", "/revoke-tokens")
FREEZES = ("PATCH", "/api/v1/admin/members/{member_id}")
ADMIN_API, GUIDE_API = "/api/v1/admin/", "/api/v1/guide/"


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,  # Hypothesis' derandomize: still deterministic if the seed is dropped
            "database": "none",  # no example database: nothing is replayed from .hypothesis/ or written to it
            # The test sends real tokens (Credentials); random Authorization values would only get 401s.
            "with-security-parameters": False,
        },
        # How fast data is generated depends on the machine's load, not on the API, so no health check
        # should fail because of it.
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large", "large_base_example"],
        "checks": {
            "enabled": False,  # only the checks named in CHECKS, below
            **{name: {"enabled": True} for name in CHECKS},
            "not_a_server_error": {"enabled": True, "expected-statuses": ["2xx", "3xx", "4xx", "503"]},
        },
    })


@pytest.fixture(scope="module")
def fuzz_app(sandbox):
    with tempfile.TemporaryDirectory(prefix="loyalty-fuzz-") as folder, _Database(Path(folder)) as url:
        app = create_app({
            "TESTING": True,
            "DATABASE_URL": url,
            "REDIS_URL": None,  # its own embedded redis-server, even when the suite uses a Redis server
            "WECHAT_API_BASE_URL": sandbox.url,
            "WECHAT_PAY_BASE_URL": sandbox.url,
        }, instance_path=folder)
        try:
            with app.app_context():
                upgrade(directory="migrations", revision="heads")
                get_redis().flushdb()
            yield app
            with app.app_context():
                problems = audit.check_books()["problems"]
            assert not problems, "audit-ledger after the fuzz:\n" + "\n".join(problems)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            embedded_redis.stop(folder)


class _Database:
    """The fuzzer's database: a SQLite file in `folder`, or, when DATABASE_URL points at PostgreSQL, a new
    database on the same server, dropped afterwards."""

    def __init__(self, folder: Path):
        self.folder, self.server, self.name = folder, None, None

    def __enter__(self) -> str:
        url = os.environ.get("DATABASE_URL")
        if not url:
            return f"sqlite:///{self.folder / 'fuzz.sqlite3'}"
        parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
        self.name = f"{parts.path.lstrip('/')}_fuzz_{os.getpid()}"[-63:]
        self.server = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        return urlunsplit(parts._replace(path=f"/{self.name}"))

    def __exit__(self, *exc):
        if self.server:
            with psycopg.connect(self.server, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app, config=_config())


class Credentials:
    """The headers each case is sent with: a member's token on the member API, an admin operator's on
    /api/v1/admin, a guide's on /api/v1/guide, nothing where the document requires no auth, and a fresh
    Idempotency-Key.

    The fuzzer signs people out, revokes tokens, freezes members and disables guides, and it can hit the
    test's own member, operator and guide, because their ids are small numbers. So when a side's token may
    have stopped working, that side's next case gets a new member, operator or guide, logged in the same
    way conftest's `login` and `operator` fixtures and the guide tests' `store` fixture do it.
    """

    def __init__(self, app, wx):
        self.app, self.wx = app, wx
        self.client = app.test_client()
        # The fuzzer's failed logins trip the per-address limits for 127.0.0.1. The test logs in from
        # another address, so its own logins are never refused.
        self.client.environ_base["REMOTE_ADDR"] = "127.0.0.2"
        self.tokens = {}

    def _login(self, side: str) -> dict:
        if side == "member":
            code = self.wx.post("login-code", user=unique("fuzz-user"))["code"]
            res = self.client.post("/api/v1/auth/login", json={"code": code})
        elif side == "operator":
            username, password = unique("fuzz-op"), "correct horse battery"
            with self.app.app_context():
                operators.create_operator(username=username, password=password, role="admin")
            res = self.client.post("/api/v1/admin/auth/login", json={"username": username, "password": password})
        else:
            res = self.client.post("/api/v1/guide/auth/login", json=self._new_guide())
        assert res.status_code == 200, res.get_json()
        return bearer(res.get_json()["token"])

    def _new_guide(self) -> dict:
        """A guide of a new store, made by a new operator; the guide's login."""
        admin, phone = self._login("operator"), f"139{int(unique('fuzz-guide').rsplit('-', 1)[1]):08d}"
        store = self.client.post("/api/v1/admin/stores", headers=admin, json={"name": unique("fuzz-store")})
        assert store.status_code == 201, store.get_json()
        login = {"phone": phone, "password": "guide-password"}
        guide = self.client.post("/api/v1/admin/guides", headers=admin, json={
            "store_id": store.get_json()["id"], "name": "fuzz", **login})
        assert guide.status_code == 201, guide.get_json()
        return login

    @staticmethod
    def side(case) -> str | None:
        operation = case.operation
        if not operation.definition.raw.get("security", operation.schema.raw_schema.get("security")):
            return None  # the logins and WeChat's webhooks
        return _side_of(operation.path)

    def headers_for(self, case) -> dict:
        headers = {}
        side = self.side(case)
        if side:
            if side not in self.tokens:
                self.tokens[side] = self._login(side)
            headers.update(self.tokens[side])
        # POSTs that move money need an Idempotency-Key. If the fuzzer repeated a key, the app would
        # replay an earlier case's answer, so a valid generated key is swapped for a fresh one. A missing
        # or invalid key belongs to a negative case and is sent as generated.
        key = (case.headers or {}).get("Idempotency-Key")
        if isinstance(key, str) and len(key) <= 128:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        return headers

    def answered(self, case, response) -> None:
        method, path = case.operation.method.upper(), case.operation.path
        if response.status_code < 300 and (path.endswith(SIGNS_OUT) or (method, path) == FREEZES):
            # Paths under /admin/members/ act on members; the other admin paths act on operators.
            side = _side_of(path)
            self.tokens.pop("member" if side == "operator" and "/members/" in path else side, None)
        elif response.status_code == 401 and self.side(case) and _error_reason(response) == "revoked":
            self.tokens.pop(self.side(case), None)


def _side_of(path: str) -> str:
    """Whose token an endpoint that requires one is sent: an operator's, a guide's or a member's."""
    if path.startswith(ADMIN_API):
        return "operator"
    return "guide" if path.startswith(GUIDE_API) else "member"


def _error_reason(response):
    try:
        return response.json()["error"]["details"].get("reason")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


@pytest.fixture
def credentials(fuzz_app, wx):
    wx.delete("faults")  # WeChat behaves normally, whatever faults an earlier test left set
    return Credentials(fuzz_app, wx)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """schemathesis 4.32.5 reads and writes `node._nodeid` when it loads a schema from a fixture, but
    pytest 9.2 renamed that attribute (Node.nodeid is now built from `_id`). Give schemathesis the attribute
    it expects. The report loses only the per-operation test ids; each failure still names its operation."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
def test_api_matches_its_document(case, credentials):
    headers = credentials.headers_for(case)
    response = case.call(headers=headers)
    credentials.answered(case, response)
    # The checks are the ones the config enables (CHECKS); the headers go along for those that re-send.
    case.validate_response(response, headers=headers, transport_kwargs={"headers": headers})
