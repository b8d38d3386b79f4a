"""The platform: health, the OpenAPI document, the error envelope everywhere, the clock."""
import re
from datetime import date

import pytest

from services.platform import clock as clock_service
from tests.support.dates import at


def test_healthz(client):
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_openapi_documents_every_endpoint(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api-docs"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)
    me = spec["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}] and "401" in me["responses"]
    assert "error" in spec["components"]["schemas"]["Error"]["properties"]


def test_docs_page_is_served(client):
    res = client.get("/api/v1/docs")
    assert res.status_code == 200 and b"swagger" in res.data.lower()


@pytest.mark.parametrize("method,path,status,code", [
    ("get", "/api/v1/nothing-here", 404, "not_found"),
    ("get", "/nothing-at-all", 404, "not_found"),
    ("delete", "/api/v1/me", 405, "method_not_allowed"),
    ("put", "/api/v1/auth/login", 405, "method_not_allowed"),
])
def test_http_errors_use_the_envelope(client, method, path, status, code):
    res = getattr(client, method)(path)
    assert res.status_code == status
    assert res.get_json()["error"]["code"] == code


def test_unexpected_error_is_a_500_envelope_without_internals(client, operator, monkeypatch):
    from services.levels import levels

    def broken():
        raise RuntimeError("secret internals")

    monkeypatch.setattr(levels, "all_levels", broken)
    res = client.get("/api/v1/admin/levels", headers=operator())
    assert res.status_code == 500
    error = res.get_json()["error"]
    assert error["code"] == "internal_error" and error["details"]["request_id"]
    assert "secret" not in res.get_data(as_text=True)


@pytest.mark.parametrize("instant,day", [
    ("2026-11-23T23:59:00+08:00", "2026-11-23"),
    ("2026-11-24T00:01:00+08:00", "2026-11-24"),
    ("2026-11-23T16:30:00+00:00", "2026-11-24"),  # UTC afternoon is already tomorrow in Shanghai
])
def test_business_day_is_in_the_configured_timezone(clock, instant, day):
    clock.freeze(at(instant))
    assert clock_service.today() == date.fromisoformat(day)
    assert clock_service.period_key("day") == day


@pytest.mark.parametrize("instant,week,month", [
    ("2026-12-31T23:59:00+08:00", "2026-W53", "2026-12"),
    ("2027-01-01T00:01:00+08:00", "2026-W53", "2027-01"),
    ("2027-01-04T00:00:00+08:00", "2027-W01", "2027-01"),
    ("2026-11-30T23:00:00+08:00", "2026-W49", "2026-11"),
])
def test_period_keys(clock, instant, week, month):
    clock.freeze(at(instant))
    assert clock_service.period_key("week") == week
    assert clock_service.period_key("month") == month


def test_points_expire_at_the_end_of_the_year_after_next(clock):
    from services.ledger import points
    clock.freeze(at("2026-06-01T12:00:00+08:00"))
    assert points.expiry_for(clock_service.now()) == at("2029-01-01T00:00:00+08:00")
