"""Abuse shut out: each refused without changing anything but its count, which operators read; caps under
parallel qualifications; the audit catching a duplicated reward."""
import random

import requests
from sqlalchemy import func, select

from models import Invitation, PointsEntry, db
from services.ledger import audit
from tests.support.audit import assert_reported, corrupted
from tests.support.invites import (bind_phone, invitation_of, invite_code, invited_login, ledger_rows, new_phone,
                                   refusals)
from tests.support.races import race


def _invitations() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Invitation))


def _refused(client, wx, inviter, friend_user, code, reason, *, address="127.0.0.1"):
    """Log in with `code`; assert no invitation was written and `reason` counted once more."""
    before, counted = _invitations(), refusals().get(reason, 0)
    answer = invited_login(client, wx, code, user=friend_user, address=address)
    assert _invitations() == before
    assert refusals().get(reason, 0) == counted + 1
    assert ledger_rows(inviter["member"]["id"]) == (0, 0, 0)
    return answer


def test_inviting_yourself_is_refused(client, wx, rules):
    rules()
    me = invited_login(client, wx, "zzzzzzzzzz")  # an unknown code: the member joins uninvited
    _refused(client, wx, me, me["user"], invite_code(client, me), "self")


def test_an_existing_member_is_refused(client, wx, rules, inviter):
    rules()
    existing = invited_login(client, wx, "nonsense0")
    _refused(client, wx, inviter, existing["user"], invite_code(client, inviter), "existing_member")


def test_an_unknown_or_forged_code_is_refused(client, wx, rules, inviter):
    rules()
    code = invite_code(client, inviter)
    forged = code[:-1] + ("a" if code[-1] != "a" else "b")
    _refused(client, wx, inviter, None, forged, "unknown_code")


def test_a_frozen_inviter_is_refused(client, wx, rules, inviter, admin):
    rules()
    code = invite_code(client, inviter)
    res = client.patch(f"/api/v1/admin/members/{inviter['member']['id']}", headers=admin,
                       json={"status": "frozen", "reason": "刷单"})
    assert res.status_code == 200, res.get_json()
    _refused(client, wx, inviter, None, code, "inviter_frozen")


def test_an_invitation_cycle_is_refused(client, wx, rules, make_member):
    rules()
    a = invited_login(client, wx, "nobody000")
    b = invited_login(client, wx, invite_code(client, a))  # A → B
    assert invitation_of(b).inviter_id == a["member"]["id"]
    _refused(client, wx, b, a["user"], invite_code(client, b), "cycle")  # B → A


def test_too_many_invited_logins_from_one_address_are_refused_but_the_login_works(app, client, wx, rules, inviter,
                                                                                   rate_limits):
    rules(joins_per_address=2)
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    code = invite_code(client, inviter)
    for _ in range(2):
        invited_login(client, wx, code, address=address)
    late = _refused(client, wx, inviter, None, code, "rate_limited", address=address)
    assert client.get("/api/v1/me", headers=late["headers"]).status_code == 200


def test_a_phone_already_seen_on_a_member_is_refused(client, wx, rules, inviter, make_member):
    rules(step="phone")
    phone = new_phone()
    bind_phone(client, wx, make_member(), phone)
    friend = invited_login(client, wx, invite_code(client, inviter))
    counted = refusals().get("phone_seen", 0)
    bind_phone(client, wx, friend, phone)
    assert invitation_of(friend).status == "refused" and refusals()["phone_seen"] == counted + 1
    assert ledger_rows(friend["member"]["id"]) == (0, 0, 0) == ledger_rows(inviter["member"]["id"])
    shown = client.get("/api/v1/me/invites", headers=inviter["headers"]).get_json()["friends"]
    assert [friend["status"] for friend in shown] == ["expired"]


def test_past_the_daily_cap_the_friend_still_gets_the_gift(client, wx, rules, inviter):
    rules(step="phone", daily_cap=2, monthly_cap=10, inviter_points=100, friend_points=30)
    code = invite_code(client, inviter)
    friends = [invited_login(client, wx, code) for _ in range(3)]
    counted = refusals().get("daily_cap", 0)
    for friend in friends:
        bind_phone(client, wx, friend)
    assert [invitation_of(friend).status for friend in friends] == ["rewarded", "rewarded", "qualified"]
    assert all(ledger_rows(friend["member"]["id"]) == (1, 0, 0) for friend in friends)
    assert ledger_rows(inviter["member"]["id"]) == (2, 2, 0) and refusals()["daily_cap"] == counted + 1
    assert audit.check_books()["problems"] == []


def test_twenty_friends_qualifying_at_once_with_a_daily_cap_of_five_reward_five(live_server, client, wx, rules,
                                                                                inviter):
    rules(step="signin", daily_cap=5, monthly_cap=100, inviter_points=100, friend_points=10)
    code = invite_code(client, inviter)
    friends = [invited_login(client, wx, code) for _ in range(20)]
    answers = race([lambda f=f: requests.post(f"{live_server}/api/v1/signin", headers=f["headers"], timeout=60)
                    for f in friends])
    assert [res.status_code for res in answers] == [200] * 20, [res.text for res in answers]
    statuses = [invitation_of(friend).status for friend in friends]
    assert statuses.count("rewarded") == 5 and statuses.count("qualified") == 15
    assert ledger_rows(inviter["member"]["id"])[0] == 5
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(PointsEntry).where(
        PointsEntry.reason == "invite_friend", PointsEntry.member_id.in_([f["member"]["id"] for f in friends]))) == 20
    assert audit.check_books()["problems"] == []


def test_audit_ledger_fails_on_a_duplicated_reward_row(app, client, wx, rules, inviter):
    rules(step="phone", inviter_points=100, friend_points=30)
    friend = invited_login(client, wx, invite_code(client, inviter))
    bind_phone(client, wx, friend)
    invitation = invitation_of(friend)
    columns = ("member_id, delta, kind, reason, reference, balance_after, expires_at, created_at")
    with corrupted(f"INSERT INTO points_entry (business_key, {columns}) SELECT business_key || '/copy', {columns}"
                   " FROM points_entry WHERE business_key = :key",
                   "DELETE FROM points_entry WHERE business_key = :key || '/copy'",
                   key=f"invite:{invitation.id}:inviter"):
        assert_reported(app, f"invitation {invitation.id} (rewarded): inviter points 2 rewards")
