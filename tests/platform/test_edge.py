"""The edge: nothing a client sends answers 500; bodies and request rates are limited; secrets stay
out of the logs; the database away is a 503."""
import base64
import logging

import pytest
import redis
from flask_migrate import upgrade

from app import create_app
from models import Member
from services.members import members, operators
from services.payments import payments
from services.platform import deploy_checks, ratelimit, tokens
from services.platform.log_scrub import scrub
from tests.support.api import assert_error, bearer, send, unique

DEEP = "[" * 5000 + "]" * 5000


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", ["/api/v1/payments/2147483648", "/api/v1/payments/9223372036854775808",
                                  "/api/v1/payments/" + "9" * 5000])
def test_an_id_past_the_databases_range_is_not_found(client, login, path):
    assert_error(client.get(path, headers=login()["headers"]), 404)


@pytest.mark.parametrize("cursor", [_cursor("id:2147483648"), _cursor("id:99999999999999999999"),
                                    _cursor("id:-1"), _cursor("id:0")])
def test_a_crafted_cursor_is_400(client, login, cursor):
    res = client.get("/api/v1/points/ledger", headers=login()["headers"], query_string={"cursor": cursor})
    assert_error(res, 400)


@pytest.mark.parametrize("body,reason", [
    ('{"code": "\\ud800x"}', "surrogate"),
    ('{"code": "a\\u0000b"}', "NUL"),
    ('{"\\udfff": "x", "code": "c"}', "surrogate"),
    ('{"code": ' + "9" * 5000 + "}", "digits"),
    ('{"code": NaN}', "NaN"),
    (DEEP, "deep"),
    ("{bad", "Expecting"),
])
def test_malformed_json_is_400_with_the_envelope(client, body, reason):
    error = assert_error(send(client, "post", "/api/v1/auth/login", body, {}), 400)
    assert isinstance(error["details"], dict) and reason in str(error["details"])


@pytest.mark.parametrize("path,query", [("/api/v1/admin/members", {"q": "a\x00b"}),
                                        ("/api/v1/admin/payments%00", {})])
def test_nul_in_the_query_or_path_is_400(client, operator, path, query):
    assert_error(client.get(path, headers=operator(), query_string=query), 400)


@pytest.mark.parametrize("body", ["[" * 5000 + "]" * 5000, '{"csv": "A\\u0000B"}', '{"csv": "\\ud83d"}'])
def test_a_body_read_outside_the_schema_parser_is_as_strict(client, operator, body):
    """The virtual codes' upload reads its JSON body itself (it also takes text/csv): the same rules hold."""
    assert_error(send(client, "post", "/api/v1/admin/goods/1/codes", body, operator()), 400)


def test_a_nickname_with_a_lone_surrogate_changes_nothing(client, login):
    member = login()
    res = send(client, "patch", "/api/v1/me", '{"nickname": "\\ud83d"}', member["headers"])
    assert_error(res, 400)
    assert client.get("/api/v1/me", headers=member["headers"]).get_json()["nickname"] == ""


@pytest.mark.parametrize("path,content_type", [("/api/v1/auth/login", "application/json"),
                                               ("/api/v1/payments/wechat/notify", "text/xml"),
                                               ("/api/v1/payments/wechat/refund-notify", "text/xml")])
def test_a_body_past_the_limit_is_413(app, client, path, content_type):
    body = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    assert assert_error(client.post(path, data=body, content_type=content_type), 413)["code"] == "payload_too_large"


def test_a_description_that_would_break_wechats_xml_is_cleaned_and_cut(client, wx, login):
    description = "门店\r\n消费]]><x/>\x01\x07" + "长" * 100
    res = client.post("/api/v1/payments", headers=login()["headers"],
                      json={"amount_fen": 100, "description": description})
    assert res.status_code == 201, res.get_json()  # was 502: WeChat could not parse or verify the XML
    body = wx.get(f"orders/{res.get_json()['payment']['out_trade_no']}")["body"]
    assert body.startswith("门店 消费]] ><x/>") and len(body.encode()) <= 128
    assert "\r" not in body and "]]>" not in body


def test_operator_login_answers_while_redis_is_down(app, client, operator, monkeypatch):
    headers = operator()  # an operator exists; its login does not need Redis
    monkeypatch.setitem(app.config, "RATE_LIMITS_ENABLED", True)
    monkeypatch.setitem(app.extensions, "redis", redis.Redis(port=1, socket_connect_timeout=0.5))
    res = client.post("/api/v1/admin/auth/login", json={"username": "nobody", "password": "wrong"})
    assert_error(res, 401)  # was 500, the limiter's error
    assert headers


def test_operator_successes_never_count_and_failures_count_per_address(client, rate_limits):
    username, password = unique("op"), "correct horse battery"
    operators.create_operator(username=username, password=password)
    for _ in range(12):  # was 429 after ten logins, successes included
        assert client.post("/api/v1/admin/auth/login", json={"username": username, "password": password}
                           ).status_code == 200
    other = {"REMOTE_ADDR": "10.0.0.7"}
    for _ in range(5):
        assert_error(client.post("/api/v1/admin/auth/login", json={"username": username, "password": "wrong"},
                                 environ_base=other), 401)
    res = client.post("/api/v1/admin/auth/login", json={"username": username, "password": password},
                      environ_base=other)
    assert_error(res, 429)
    assert int(res.headers["Retry-After"]) > 0
    # the guesser at 10.0.0.7 has not locked the operator out
    assert client.post("/api/v1/admin/auth/login", json={"username": username, "password": password}
                       ).status_code == 200


def test_operator_login_failures_are_limited_per_address_and_per_account_too(client, monkeypatch, rate_limits):
    """One address guessing many accounts is stopped, and so is one account guessed from many addresses
    (for the window: LOGIN_FAILURES' limits are far above a person's typing)."""
    monkeypatch.setattr(ratelimit, "LOGIN_FAILURES", (("pair", 5), ("address", 3), ("account", 4)))
    login = lambda username, password, address: client.post(  # noqa: E731
        "/api/v1/admin/auth/login", json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address})
    guesser = "10.1.0.1"
    for _ in range(3):
        assert_error(login(unique("nobody"), "wrong", guesser), 401)
    assert_error(login(unique("nobody"), "wrong", guesser), 429)  # a fourth account from the same address
    username, password = unique("op"), "correct horse battery"
    operators.create_operator(username=username, password=password)
    for n in range(4):
        assert_error(login(username, "wrong", f"10.2.0.{n}"), 401)
    assert_error(login(username, password, "10.2.0.9"), 429)  # the account itself is over its limit


def test_member_login_and_payment_creation_are_rate_limited(app, client, wx, login, monkeypatch, rate_limits):
    member = login()
    monkeypatch.setattr(members, "LOGIN_PER_ADDRESS", 2)
    monkeypatch.setattr(payments, "CREATES_PER_MEMBER", 2)
    address = {"REMOTE_ADDR": "10.9.8.7"}
    codes = [wx.post("login-code", user=unique("user"))["code"] for _ in range(3)]
    answers = [client.post("/api/v1/auth/login", json={"code": code}, environ_base=address) for code in codes]
    assert [res.status_code for res in answers] == [200, 200, 429]
    assert answers[2].headers["Retry-After"]
    made = [client.post("/api/v1/payments", headers=member["headers"], json={"amount_fen": 100, "description": "x"})
            for _ in range(3)]
    assert [res.status_code for res in made] == [201, 201, 429]
    monkeypatch.setitem(app.config, "RATE_LIMITS_ENABLED", False)
    assert client.post("/api/v1/payments", headers=member["headers"],
                       json={"amount_fen": 100, "description": "x"}).status_code == 201


def test_operator_logout_and_revocation_end_their_tokens(client, operator):
    mine, theirs = operator(), operator()
    theirs_id = tokens.verify(theirs["Authorization"].split()[1]).id
    assert client.post(f"/api/v1/admin/operators/{theirs_id}/revoke-tokens", headers=mine).status_code == 204
    assert_error(client.get("/api/v1/admin/levels", headers=theirs), 401)
    assert client.post("/api/v1/admin/auth/logout", headers=mine).status_code == 204
    assert_error(client.get("/api/v1/admin/levels", headers=mine), 401)


def test_the_app_refuses_to_start_for_real_with_the_sandboxs_secrets(tmp_path):
    with pytest.raises(deploy_checks.UnsafeDeployment, match="WECHAT_PAY_KEY"):
        create_app({"WECHAT_APPID": "wx1234567890abcdef", "WECHAT_SECRET": "a real one",
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}, instance_path=str(tmp_path))


def test_the_demo_operator_is_refused_outside_the_sandbox(app):
    import demo
    demo.seed_operator()  # on the sandbox: created
    real = {**app.config, "WECHAT_APPID": "wx1234567890abcdef"}
    with pytest.raises(deploy_checks.UnsafeDeployment, match="demo-admin"):
        deploy_checks.refuse_demo_operator(real)
    deploy_checks.refuse_demo_operator(app.config)  # the sandbox may keep it


def test_no_secret_or_login_code_reaches_a_log_line(app, client, wx, caplog):
    caplog.set_level(logging.DEBUG)
    code = wx.post("login-code", user=unique("user"))["code"]
    assert client.post("/api/v1/auth/login", json={"code": code}).status_code == 200
    wx.post("faults", api="jscode2session", http_status=500)
    code = wx.post("login-code", user=unique("user"))["code"]
    client.post("/api/v1/auth/login", json={"code": code})
    logging.getLogger("test").warning("GET /sns/jscode2session?appid=wx1&secret=%s&js_code=%s",
                                      app.config["WECHAT_SECRET"], code)
    text = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "jscode2session" in text and app.config["WECHAT_SECRET"] not in text and code not in text
    assert scrub('{"access_token": "ACCESS", "x": 1} ?access_token=T&a=1') == '{"access_token": "***", "x": 1} ' \
                                                                              '?access_token=***&a=1'


def test_the_session_key_is_never_stored(client, login):
    login()
    assert not hasattr(Member, "session_key")


def test_the_database_away_is_503(tmp_path, app):
    away = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/x.sqlite3",
                       "REDIS_URL": None}, instance_path=str(tmp_path))
    away.extensions["redis"] = app.extensions["redis"]
    with away.app_context():
        token = tokens.issue("operator", 1, 0)
    res = away.test_client().get("/api/v1/admin/levels", headers=bearer(token))
    assert assert_error(res, 503)["code"] == "unavailable" and res.headers["Retry-After"]


def test_the_database_migrated_elsewhere_answers_normally(tmp_path, app):
    """The 503 test's app is sound: migrated, the same request answers (401: no such operator)."""
    sound = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"},
                       instance_path=str(tmp_path))
    sound.extensions["redis"] = app.extensions["redis"]
    with sound.app_context():
        upgrade(directory="migrations", revision="heads")
        token = tokens.issue("operator", 1, 0)
    assert_error(sound.test_client().get("/api/v1/admin/levels", headers=bearer(token)), 401)
