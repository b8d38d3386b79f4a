"""Who may call what: the auth matrix over member and operator endpoints."""
from datetime import timedelta

import pytest

from tests.support.api import bearer, unique

MEMBER_ENDPOINTS = [("get", "/api/v1/me"), ("get", "/api/v1/points/ledger"), ("post", "/api/v1/auth/logout")]
OPERATOR_ENDPOINTS = [("get", "/api/v1/admin/members"), ("get", "/api/v1/admin/levels"),
                      ("post", "/api/v1/admin/members/1/points")]


def _call(client, method, path, headers=None):
    return getattr(client, method)(path, headers=headers or {}, json={} if method == "post" else None)


def _error(res, status, code):
    assert res.status_code == status, res.get_json()
    body = res.get_json()
    assert body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.mark.parametrize("method,path", MEMBER_ENDPOINTS + OPERATOR_ENDPOINTS)
def test_no_token_is_401(client, method, path):
    _error(_call(client, method, path), 401, "unauthorized")


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer not.a.token", "bearer "])
def test_malformed_authorization_is_401(client, header):
    _error(client.get("/api/v1/me", headers={"Authorization": header}), 401, "unauthorized")


def test_expired_member_token_is_401(client, login, clock, app):
    me = login()
    clock.advance(timedelta(seconds=app.config["MEMBER_TOKEN_TTL"] + 1))
    error = _error(client.get("/api/v1/me", headers=me["headers"]), 401, "unauthorized")
    assert error["details"]["reason"] == "expired"


def test_a_token_in_use_still_expires_and_its_altered_copies_stay_invalid(client, login, clock, app):
    me = login()
    assert client.get("/api/v1/me", headers=me["headers"]).status_code == 200  # checked, and remembered
    token = me["headers"]["Authorization"].split()[1]
    # a character of the signed part (the signature's last character may only carry padding bits)
    altered = ("A" if token[0] != "A" else "B") + token[1:]
    error = _error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {altered}"}), 401, "unauthorized")
    assert error["details"]["reason"] == "invalid"
    clock.advance(timedelta(seconds=app.config["MEMBER_TOKEN_TTL"] + 1))
    error = _error(client.get("/api/v1/me", headers=me["headers"]), 401, "unauthorized")
    assert error["details"]["reason"] == "expired"


def test_token_still_valid_just_before_expiry(client, login, clock, app):
    me = login()
    clock.advance(timedelta(seconds=app.config["MEMBER_TOKEN_TTL"] - 5))
    assert client.get("/api/v1/me", headers=me["headers"]).status_code == 200


def test_logout_revokes_every_token(client, login):
    me = login()
    second = login(None)  # another member is unaffected
    assert client.post("/api/v1/auth/logout", headers=me["headers"]).status_code == 204
    error = _error(client.get("/api/v1/me", headers=me["headers"]), 401, "unauthorized")
    assert error["details"]["reason"] == "revoked"
    assert client.get("/api/v1/me", headers=second["headers"]).status_code == 200


def test_operator_revokes_member_tokens(client, login, operator):
    me, admin = login(), operator()
    res = client.post(f"/api/v1/admin/members/{me['member']['id']}/revoke-tokens", headers=admin)
    assert res.status_code == 204
    _error(client.get("/api/v1/me", headers=me["headers"]), 401, "unauthorized")


def test_forged_token_is_401(client, login, app):
    me = login()
    payload, stamp, signature = me["token"].split(".")
    forged = ".".join([payload[:-1] + ("A" if payload[-1] != "A" else "B"), stamp, signature])
    _error(client.get("/api/v1/me", headers=bearer(forged)), 401, "unauthorized")
    from itsdangerous import URLSafeTimedSerializer
    other_key = URLSafeTimedSerializer("not-our-secret", salt="bearer-token").dumps(["member", me["member"]["id"], 0])
    _error(client.get("/api/v1/me", headers=bearer(other_key)), 401, "unauthorized")


@pytest.mark.parametrize("method,path", OPERATOR_ENDPOINTS)
def test_member_on_operator_endpoint_is_403(client, login, method, path):
    _error(_call(client, method, path, login()["headers"]), 403, "forbidden")


@pytest.mark.parametrize("method,path", MEMBER_ENDPOINTS)
def test_operator_on_member_endpoint_is_403(client, operator, method, path):
    _error(_call(client, method, path, operator()), 403, "forbidden")


def test_viewer_operator_reads_but_cannot_write(client, operator, login):
    viewer, me = operator("viewer"), login()
    assert client.get("/api/v1/admin/levels", headers=viewer).status_code == 200
    res = client.post(f"/api/v1/admin/members/{me['member']['id']}/points", headers=viewer,
                      json={"delta": 5, "reason": "goodwill"})
    _error(res, 403, "forbidden")


def test_operator_login_wrong_password_is_401_then_rate_limited(client, operator, rate_limits):
    operator()  # make sure an operator exists
    username = unique("nobody")
    for _ in range(5):
        res = client.post("/api/v1/admin/auth/login", json={"username": username, "password": "wrong"})
        _error(res, 401, "unauthorized")
    res = client.post("/api/v1/admin/auth/login", json={"username": username, "password": "wrong"})
    _error(res, 429, "rate_limited")
    assert int(res.headers["Retry-After"]) > 0
