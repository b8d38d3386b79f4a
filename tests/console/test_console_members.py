"""The console's members, orders and audit log pages over HTTP: the search, a member's page, points adjusted
once per form, orders shipped and refunded, and the audit trail filtered."""
import re
import uuid

import pytest

from models import Member, db
from services.ledger import points
from services.platform.clock import today as business_today
from services.platform.db import transaction
from tests.support.api import unique
from tests.support.console import signed_in
from tests.support.mall import add_goods, order, placed

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def _html(answer) -> str:
    return answer.get_data(as_text=True)


def _key(page: str) -> str:
    return KEY.search(page).group(1)


def _field(page: str, name: str) -> str:
    return page.split(f'data-field="{name}"')[1].split("data-field=")[0]


def _set_phone(member_id: int, phone: str) -> None:
    with transaction():
        db.session.get(Member, member_id).phone = phone


def test_search_finds_a_member_by_id_phone_openid_and_nickname(app, make_member):
    console, _ = signed_in(app, role="viewer")
    member = make_member()["member"]
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    _set_phone(member["id"], phone)
    found = db.session.get(Member, member["id"])
    for q in (str(member["id"]), phone, found.openid, found.nickname or str(member["id"])):
        page = _html(console.get("/console/members", query_string={"q": q}))
        assert f'href="/console/members/{member["id"]}"' in page, q


def _adjust(console, token, member_id, key, delta="25", reason="goodwill gesture", hx=False):
    return console.post(f"/console/members/{member_id}/points",
                        data={"delta": delta, "reason": reason, "idempotency_key": key, "csrf_token": token},
                        headers={"HX-Request": "true"} if hx else {})


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_the_member_page_shows_profile_ledger_and_calendar(app, make_member, role):
    console, _ = signed_in(app, role=role)
    member = make_member(points_=40, growth_=7)["member"]
    answer = console.get(f"/console/members/{member['id']}")
    page = _html(answer)
    assert answer.status_code == 200
    assert 'id="profile"' in page and 'data-field="balance">40<' in page
    assert 'data-section="points"' in page and 'data-section="growth"' in page
    assert 'id="calendar"' in page and 'data-state="' in page
    assert ('id="adjust-points"' in page) == ('id="member-status"' in page) == (role == "admin")
    month = console.get(f"/console/members/{member['id']}?month=2024-02")
    assert month.status_code == 200 and _html(month).count('data-state="') == 29
    for section in ("points", "growth", "orders", "coupons"):
        assert console.get(f"/console/members/{member['id']}/{section}").status_code == 200


def test_a_points_adjustment_is_in_the_members_ledger_and_the_audit_log(app, client, make_member):
    console, token = signed_in(app)
    member = make_member(points_=10)
    member_id = member["member"]["id"]
    key = _key(_html(console.get(f"/console/members/{member_id}")))
    answer = _adjust(console, token, member_id, key, hx=True)
    assert answer.status_code == 200 and answer.headers["HX-Redirect"].endswith(f"/console/members/{member_id}")
    ledger = client.get("/api/v1/points/ledger", headers=member["headers"]).get_json()["items"]
    assert ledger[0]["delta"] == 25 and ledger[0]["reason"] == "admin_adjust"
    log = _html(console.get("/console/audit-log", query_string={"action": "points.adjust"}))
    assert "goodwill gesture" in log


def test_the_same_adjustment_form_submitted_twice_adjusts_once(app, client, make_member):
    console, token = signed_in(app)
    member = make_member()
    member_id = member["member"]["id"]
    key = _key(_html(console.get(f"/console/members/{member_id}")))
    first, second = (_adjust(console, token, member_id, key) for _ in range(2))
    assert first.status_code == second.status_code == 303
    assert client.get("/api/v1/me", headers=member["headers"]).get_json()["points"]["balance"] == 25
    assert [entry["delta"] for entry in client.get("/api/v1/points/ledger",
                                                   headers=member["headers"]).get_json()["items"]] == [25]
    # another form (a fresh key) adjusts again
    assert _adjust(console, token, member_id, uuid.uuid4().hex).status_code == 303
    assert client.get("/api/v1/me", headers=member["headers"]).get_json()["points"]["balance"] == 50


def test_a_missing_reason_is_shown_beside_the_reason_field(app, make_member):
    console, token = signed_in(app)
    member_id = make_member()["member"]["id"]
    answer = _adjust(console, token, member_id, uuid.uuid4().hex, reason="", hx=True)
    assert answer.status_code == 422
    page = _html(answer)
    assert "Missing data for required field." in _field(page, "reason")
    assert _key(page)  # a fresh form, with its key
    whole = _adjust(console, token, member_id, uuid.uuid4().hex, delta="0", reason="")
    assert whole.status_code == 422 and "Must not be zero." in _field(_html(whole), "delta")


def test_a_viewer_may_not_adjust_points_or_freeze(app, make_member):
    console, token = signed_in(app, role="viewer")
    member_id = make_member()["member"]["id"]
    assert _adjust(console, token, member_id, uuid.uuid4().hex).status_code == 403
    assert console.post(f"/console/members/{member_id}/status",
                        data={"status": "frozen", "reason": "fraud check", "csrf_token": token}).status_code == 403


def test_an_admin_freezes_a_member(app, client, operator, make_member):
    console, token = signed_in(app)
    member_id = make_member()["member"]["id"]
    answer = console.post(f"/console/members/{member_id}/status",
                          data={"status": "frozen", "reason": "fraud check", "csrf_token": token})
    assert answer.status_code == 303
    assert client.get(f"/api/v1/admin/members/{member_id}", headers=operator()).get_json()["status"] == \
        "frozen"


@pytest.mark.parametrize("url", [
    "/console/members/99999999999999999999", "/console/members/2147483647", "/console/members?q=%00",
    "/console/members?q=" + "x" * 80, "/console/members?cursor=junk", "/console/members/1?month=2024-13",
    "/console/members/1?month=%00", "/console/members/1/points?cursor=junk", "/console/orders?status=lost",
    "/console/orders?cursor=%00", "/console/orders/99999999999999999999/ship",
    "/console/audit-log?since=2024-02-30", "/console/audit-log?until=%00", "/console/audit-log?operator=%00",
    "/console/audit-log?cursor=junk", "/console/audit-log?until=9999-12-31", "/console/audit-log?since=0001-01-01"])
def test_junk_is_answered_without_a_500(app, make_member, url):
    console, _ = signed_in(app)
    make_member()
    assert console.get(url).status_code < 500


def _paid_order(client, operator, login, **goods):
    goods = add_goods(client, operator(), **goods)
    member = login()
    with transaction():
        points.earn(member["member"]["id"], 500, reason="test", business_key=unique("seed"))
    return placed(order(client, member, goods["id"]))["order"], member


def test_the_orders_page_filters_by_status(app, client, operator, login):
    console, _ = signed_in(app, role="viewer")
    paid, _ = _paid_order(client, operator, login)
    listed = _html(console.get("/console/orders", query_string={"status": "paid"}))
    assert f'href="/console/orders/{paid["id"]}"' in listed
    assert f'href="/console/orders/{paid["id"]}"' not in _html(console.get("/console/orders?status=shipped"))
    assert console.get(f"/console/orders/{paid['id']}").status_code == 200


def test_an_admin_ships_a_paid_physical_order(app, client, operator, login):
    console, token = signed_in(app)
    paid, member = _paid_order(client, operator, login)
    missing = console.post(f"/console/orders/{paid['id']}/ship", data={"tracking_no": "", "csrf_token": token},
                           headers={"HX-Request": "true"})
    assert missing.status_code == 422 and "Missing data for required field." in _field(_html(missing), "tracking_no")
    answer = console.post(f"/console/orders/{paid['id']}/ship", data={"tracking_no": "SF123456", "csrf_token": token})
    assert answer.status_code == 303
    shown = client.get(f"/api/v1/mall/orders/{paid['id']}", headers=member["headers"]).get_json()
    assert shown["status"] == "shipped" and shown["tracking_no"] == "SF123456"
    log = _html(console.get("/console/audit-log", query_string={"action": "order.ship"}))
    assert f">{paid['id']}<" in log
    # received, as the member would: no shipped order is left for the mall's tests of the confirm days
    assert client.post(f"/api/v1/mall/orders/{paid['id']}/confirm", headers=member["headers"]).status_code == 200


def test_a_refund_gives_the_points_back_once_or_says_why_not(app, client, operator, login):
    console, token = signed_in(app)
    paid, member = _paid_order(client, operator, login)
    page = _html(console.get(f"/console/orders/{paid['id']}"))
    data = {"reason": "out of stock", "idempotency_key": _key(page), "csrf_token": token}
    first, second = (console.post(f"/console/orders/{paid['id']}/refund", data=data) for _ in range(2))
    assert first.status_code == second.status_code == 303
    assert client.get("/api/v1/me", headers=member["headers"]).get_json()["points"]["balance"] == 500
    again = console.post(f"/console/orders/{paid['id']}/refund",
                         data={**data, "idempotency_key": uuid.uuid4().hex}, headers={"HX-Request": "true"})
    assert again.status_code == 409 or (again.status_code == 422 and "cannot be refunded" in _html(again))


def test_the_audit_log_filters_by_operator_action_and_days(app, make_member):
    console, token = signed_in(app)
    me = re.search(r'data-operator="([^"]+)"', _html(console.get("/console/audit-log"))).group(1)
    member_id = make_member()["member"]["id"]
    reason = unique("audited")
    assert _adjust(console, token, member_id, uuid.uuid4().hex, reason=reason).status_code == 303
    assert console.post(f"/console/members/{member_id}/status",
                        data={"status": "frozen", "reason": reason + " freeze", "csrf_token": token}).status_code == 303
    mine = _html(console.get("/console/audit-log", query_string={"operator": me}))
    assert reason in mine and reason + " freeze" in mine
    adjusted = _html(console.get("/console/audit-log", query_string={"operator": me, "action": "points.adjust"}))
    assert reason in adjusted and reason + " freeze" not in adjusted
    assert reason not in _html(console.get("/console/audit-log", query_string={"operator": unique("nobody")}))
    today = business_today().isoformat()
    assert reason in _html(console.get("/console/audit-log", query_string={"operator": me, "since": today,
                                                                           "until": today}))
    assert reason not in _html(console.get("/console/audit-log", query_string={"operator": me, "until": "2001-01-01"}))
    backwards = console.get("/console/audit-log", query_string={"since": today, "until": "2001-01-01"})
    assert backwards.status_code == 422 and 'role="alert"' in _html(backwards)
