"""Operators: the invitation rules (versions, audited), junk refused, the refusals and states, a member's
invitations; the task centre counting invitations."""
import pytest
from sqlalchemy import select

from models import AuditLog, db
from services.platform import clock
from tests.support.api import unique
from tests.support.invites import bind_phone, invite_code, invited_login, set_rules


def test_rules_are_versioned_audited_and_one_set_is_active(client, admin, rules):
    first = rules(step="payment", min_payment_fen=5000, daily_cap=3)
    res = client.put("/api/v1/admin/invite-rules", headers=admin, json={"friend_points": 88})
    assert res.status_code == 200, res.get_json()
    second = res.get_json()
    assert (second["replaces_id"], second["step"], second["daily_cap"], second["friend_points"]) == (
        first["id"], "payment", 3, 88)
    versions = client.get("/api/v1/admin/invite-rules", headers=admin).get_json()["items"]
    assert versions[-1]["id"] == second["id"]
    assert client.get(f"/api/v1/admin/invite-rules/{first['id']}", headers=admin).get_json()["friend_points"] == 30
    db.session.rollback()
    audited = db.session.scalars(select(AuditLog.target_id).where(AuditLog.action == "invite_rule.set")).all()
    assert {str(first["id"]), str(second["id"])} <= set(audited)


@pytest.mark.parametrize("body", [
    {}, {"name": ""}, {"name": "x", "step": "dance"}, {"name": "x", "daily_cap": 0}, {"name": "x", "window_days": 0},
    {"name": "x", "daily_cap": 10, "monthly_cap": 5}, {"name": "x", "inviter_pack_id": 2**40},
    {"name": "x", "inviter_pack_id": 999_999}, {"name": "x", "inviter_points": -1},
    {"name": "x", "min_payment_fen": "1"},
    {"name": "x", "unknown": 1}, [], "junk",
])
def test_junk_rules_are_refused_with_the_envelope(client, admin, body):
    res = client.post("/api/v1/admin/invite-rules", headers=admin, json=body)
    assert res.status_code in (400, 422) and res.get_json()["error"]["code"] == "invalid_request", res.get_json()


def test_a_viewer_reads_but_cannot_change_the_rules(client, operator):
    viewer = operator("viewer")
    assert client.get("/api/v1/admin/invite-rules", headers=viewer).status_code == 200
    assert client.post("/api/v1/admin/invite-rules", headers=viewer, json={"name": "x"}).status_code == 403


@pytest.mark.parametrize("invite", ["", "x" * 49, "a b", "i=<script>", "\u0000abc"])
def test_a_junk_invite_in_the_login_is_refused(client, wx, invite):
    code = wx.post("login-code", user=unique("junk"))["code"]
    res = client.post("/api/v1/auth/login", json={"code": code, "invite": invite})
    assert res.status_code in (400, 422) and res.get_json()["error"]["code"] == "invalid_request"


def test_operators_see_a_members_invitations_and_the_figures(client, wx, admin, rules, inviter):
    rules(step="phone", inviter_points=10)
    friend = invited_login(client, wx, invite_code(client, inviter))
    client.patch("/api/v1/me", headers=friend["headers"], json={"nickname": "王小明"})
    bind_phone(client, wx, friend)
    seen = client.get(f"/api/v1/admin/members/{inviter['member']['id']}/invites", headers=admin).get_json()
    assert [(f["member_id"], f["nickname"], f["status"]) for f in seen["friends"]] == [
        (friend["member"]["id"], "王小明", "rewarded")]
    assert client.get("/api/v1/me/invites", headers=inviter["headers"]).get_json()["friends"][0]["nickname"] == "王**"
    theirs = client.get(f"/api/v1/admin/members/{friend['member']['id']}/invites", headers=admin).get_json()
    assert theirs["invited_by"]["member_id"] == inviter["member"]["id"]
    assert client.get("/api/v1/admin/members/99999999999/invites", headers=admin).status_code == 404
    figures = client.get("/api/v1/admin/invite-stats", headers=admin).get_json()
    assert figures["invitations"]["rewarded"] >= 1
    assert client.get("/api/v1/admin/invite-stats?from=nope", headers=admin).status_code in (400, 422)


def test_the_task_centre_counts_accepted_and_qualified_invitations(client, wx, operator, rules, inviter):
    admin = operator()
    rules(step="phone")
    codes = {}
    for event_ in ("invite_accepted", "invite_qualified"):
        codes[event_] = unique("inv").replace("-", "_")[-32:]
        res = client.post("/api/v1/admin/tasks", headers=admin, json={
            "code": codes[event_], "title": "邀请3位好友", "kind": "achievement", "event": event_, "target": 2,
            "reward_points": 10})
        assert res.status_code == 201, res.get_json()
    friends = [invited_login(client, wx, invite_code(client, inviter)) for _ in range(2)]
    bind_phone(client, wx, friends[0])
    items = {item["code"]: item for item in client.get("/api/v1/tasks", headers=inviter["headers"]).get_json()["items"]}
    assert items[codes["invite_accepted"]]["progress"] == 2 and items[codes["invite_qualified"]]["progress"] == 1


def test_switched_off_rules_record_nothing(client, wx, admin, inviter):
    set_rules(client, admin, enabled=False)
    friend = invited_login(client, wx, invite_code(client, inviter))
    assert client.get("/api/v1/me/invites", headers=inviter["headers"]).get_json()["friends"] == []
    assert friend["member"]["id"]


def test_the_daily_figures_count_invitations_qualified_and_rewarded(client, wx, admin, rules, inviter):
    today = clock.today()

    def figures():
        res = client.get(f"/api/v1/admin/stats?from={today}&to={today}", headers=admin)
        assert res.status_code == 200, res.get_json()
        day = res.get_json()["series"][-1]
        return [day[key] for key in ("invitations", "invitations_qualified", "invitations_rewarded")]

    before = figures()
    rules(step="phone", daily_cap=1)
    code = invite_code(client, inviter)
    friends = [invited_login(client, wx, code) for _ in range(3)]
    for friend in friends[:2]:
        bind_phone(client, wx, friend)
    assert [after - then for after, then in zip(figures(), before)] == [3, 2, 1]


def test_the_consoles_member_page_lists_the_invited_friends(app, client, wx, rules, inviter):
    from tests.support.console import signed_in
    rules(step="phone")
    friend = invited_login(client, wx, invite_code(client, inviter))
    bind_phone(client, wx, friend)
    console, _ = signed_in(app, role="viewer")
    page = console.get(f"/console/members/{inviter['member']['id']}").get_data(as_text=True)
    assert 'data-section="invites"' in page and f'<td data-column="member_id">{friend["member"]["id"]}</td>' in page
