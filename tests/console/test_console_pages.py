"""The console over HTTP: signing in and out, roles, CSRF, the dashboard's figures and a schema form."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Operator, db
from services.platform.clock import today as business_today
from tests.support.console import PASSWORD, csrf_token, new_operator, signed_in


def test_login_page_has_the_contract_form_and_a_wrong_password_is_shown(client):
    page = client.get("/console/login").get_data(as_text=True)
    assert 'name="username"' in page and 'name="password"' in page and 'type="submit"' in page
    answer = client.post("/console/login", data={"username": new_operator(), "password": "wrong password",
                                                 "csrf_token": csrf_token(page)})
    assert answer.status_code == 401
    assert "账号或密码错误" in answer.get_data(as_text=True)


def test_sign_in_lands_on_the_dashboard_and_the_cookie_is_httponly_lax(client):
    page = client.get("/console/login").get_data(as_text=True)
    answer = client.post("/console/login", data={"username": new_operator(), "password": PASSWORD,
                                                 "csrf_token": csrf_token(page)})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/console/")
    cookie = next(value for name, value in answer.headers.items() if name == "Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert 'data-chart="new_members"' in client.get("/console/").get_data(as_text=True)


def test_pages_need_a_session_and_the_api_sets_no_cookie(client, operator):
    answer = client.get("/console/")
    assert answer.status_code == 302 and "/console/login" in answer.headers["Location"]
    api = client.get("/api/v1/admin/members", headers=operator())
    assert api.status_code == 200 and "Set-Cookie" not in api.headers


def test_logout_ends_the_session_and_revokes_the_operators_tokens(app):
    console, token = signed_in(app)
    assert console.post("/console/logout", data={"csrf_token": token}).status_code == 302
    assert console.get("/console/").status_code == 302


def test_a_stolen_cookie_dies_at_logout(app):
    console, token = signed_in(app)
    stolen = console.get_cookie("console_session", path="/console").value
    console.post("/console/logout", data={"csrf_token": token})
    thief = app.test_client()
    thief.set_cookie("console_session", stolen, path="/console")
    assert thief.get("/console/").status_code == 302


def test_a_change_without_the_csrf_token_is_refused(app):
    console, _ = signed_in(app)
    answer = console.post("/console/goods", data={"name": "no token", "kind": "physical", "price_points": "10",
                                                  "price_fen": "0"})
    assert answer.status_code == 400
    assert "刷新" in answer.get_data(as_text=True)


def test_a_viewer_is_refused_a_change(app):
    console, token = signed_in(app, role="viewer")
    assert console.get("/console/goods").status_code == 200
    answer = console.post("/console/goods", data={"name": "viewer goods", "kind": "physical",
                                                  "price_points": "10", "price_fen": "0", "csrf_token": token})
    assert answer.status_code == 403


def test_goods_created_in_the_console_are_in_the_mall(app, client):
    console, token = signed_in(app)
    name = f"console goods {id(console)}"
    answer = console.post("/console/goods", data={"name": name, "kind": "physical", "price_points": "120",
                                                  "price_fen": "0", "stock": "5", "level_discount": "on",
                                                  "csrf_token": token}, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and answer.headers["HX-Redirect"].endswith("/console/goods")
    names = [goods["name"] for goods in client.get("/api/v1/mall/goods?limit=100").get_json()["items"]]
    assert name in names


def test_a_validation_error_is_shown_beside_its_field_with_the_apis_message(app):
    console, token = signed_in(app)
    answer = console.post("/console/goods", data={"name": "", "kind": "physical", "price_points": "abc",
                                                  "price_fen": "0", "csrf_token": token},
                          headers={"HX-Request": "true"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    name_field = html.split('data-field="name"')[1].split('data-field=')[0]
    points_field = html.split('data-field="price_points"')[1].split('data-field=')[0]
    assert "Missing data for required field." in name_field
    assert "Not a valid integer." in points_field


@pytest.mark.parametrize("query", ["from=2026-13-01", "from=2020-01-01&to=2026-01-01", "granularity=hour",
                                   "from=%00", "to=%ED%A0%80"])
def test_a_bad_range_is_explained_not_a_500(app, query):
    console, _ = signed_in(app)
    answer = console.get(f"/console/?{query}")
    assert answer.status_code == 400
    assert 'role="alert"' in answer.get_data(as_text=True)


def test_the_figures_are_the_apis(app, client, operator):
    console, _ = signed_in(app)
    headers, today = operator(), business_today()
    query = f"from={today - timedelta(days=6)}&to={today}&granularity=day"
    assert console.get(f"/console/figures.json?{query}").get_json() == \
        client.get(f"/api/v1/admin/stats?{query}", headers=headers).get_json()
    assert console.get(f"/console/figures.csv?{query}").get_data() == \
        client.get(f"/api/v1/admin/stats.csv?{query}", headers=headers).get_data()


def test_console_logins_are_throttled_with_the_apis_counters(client, rate_limits):
    username, guesser = new_operator(), {"REMOTE_ADDR": "10.0.0.9"}
    page = client.get("/console/login", environ_base=guesser).get_data(as_text=True)

    def attempt(password):
        return client.post("/console/login", data={"username": username, "password": password,
                                                   "csrf_token": csrf_token(page)}, environ_base=guesser)
    for _ in range(5):
        assert attempt("wrong password").status_code == 401
    refused = attempt(PASSWORD)
    assert refused.status_code == 429 and "登录失败次数过多" in refused.get_data(as_text=True)
    # the API counts the same failures
    api = client.post("/api/v1/admin/auth/login", json={"username": username, "password": PASSWORD},
                      environ_base=guesser)
    assert api.status_code == 429


def test_a_revoked_operator_is_signed_out_of_the_console(app, client, operator):
    console, _ = signed_in(app)
    username = console.get("/console/").get_data(as_text=True).split('data-operator="')[1].split('"')[0]
    operator_id = db.session.scalar(select(Operator.id).where(Operator.username == username))
    assert client.post(f"/api/v1/admin/operators/{operator_id}/revoke-tokens", headers=operator()).status_code == 204
    assert console.get("/console/").status_code == 302


@pytest.mark.parametrize("path", ["/console/goods/99999999999999999999", "/console/goods/0",
                                  "/console/goods?cursor=%00", "/console/goods?cursor=" + "x" * 5000,
                                  "/console/figures.json?from=x", "/console/?lang=%ED%A0%80"])
def test_junk_in_console_urls_is_never_a_500(app, path):
    console, _ = signed_in(app)
    assert console.get(path).status_code in (200, 400, 404)
