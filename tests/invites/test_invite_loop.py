"""The invitation loop through HTTP and the sandbox: a friend joins through a member's card, reaches the
qualifying step, and both sides are rewarded once; a refund in full within the window takes the inviter's
reward back once."""
from datetime import timedelta

import pytest

from models import Member, PointsAccount, db
from services.ledger import audit
from tests.support.api import unique
from tests.support.invites import bind_phone, invitation_of, invite_code, invited_login, ledger_rows
from tests.support.payments import notify_xml, post_notify, start_payment

pytestmark = pytest.mark.usefixtures("long_tokens")  # some tests move the clock past the window


def _balance(member):
    db.session.rollback()
    return db.session.get(PointsAccount, member["member"]["id"]).balance


def _refund_in_full(client, wx, admin, payment_id, amount_fen):
    refund = client.post(f"/api/v1/admin/payments/{payment_id}/refund", json={"amount_fen": amount_fen, "reason": "退货"},
                         headers={**admin, "Idempotency-Key": unique("refund")})
    assert refund.status_code in (200, 201), refund.get_json()
    xml = wx.post(f"refunds/{refund.get_json()['out_refund_no']}/notify", send=False)["xml"]
    assert client.post("/api/v1/payments/wechat/refund-notify", data=xml, content_type="text/xml").status_code == 200
    return xml


def test_me_invite_gives_the_code_path_scene_and_the_kept_wxacode(client, inviter):
    res = client.get("/api/v1/me/invite", headers=inviter["headers"])
    body = res.get_json()
    assert res.status_code == 200 and body["scene"] == f"i={body['code']}" and body["code"] in body["path"]
    assert len(body["scene"]) <= 32
    image = client.get(body["qrcode_url"], headers=inviter["headers"])
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data.startswith(b"\x89PNG")
    assert client.get(body["qrcode_url"], headers=inviter["headers"]).data == image.data  # kept
    assert client.get("/api/v1/me/invite").status_code == 401


def test_a_friend_joins_binds_a_phone_and_pays_both_rewards_once(client, wx, rules, inviter, admin):
    rules(step="payment", min_payment_fen=3000, inviter_points=100, inviter_growth=10, friend_points=30)
    code = invite_code(client, inviter)
    friend = invited_login(client, wx, code)
    assert invitation_of(friend).status == "joined"
    bind_phone(client, wx, friend)  # not this rule's step
    small = start_payment(client, friend, 2999)  # below the rule's amount
    assert post_notify(client, notify_xml(wx, small["payment"]["out_trade_no"]))
    assert invitation_of(friend).status == "joined"
    started = start_payment(client, friend, 5000)
    xml = notify_xml(wx, started["payment"]["out_trade_no"])
    assert post_notify(client, xml)
    invitation = invitation_of(friend)
    assert (invitation.status, invitation.inviter_points, invitation.friend_points) == ("rewarded", 100, 30)
    before = (_balance(inviter), _balance(friend), ledger_rows(inviter["member"]["id"]))
    assert before[2] == (1, 1, 0)
    # replayed notify, a repeated login with another card, a second card: nothing changes
    assert post_notify(client, xml)
    invited_login(client, wx, code, user=friend["user"])
    second_card = invite_code(client, invited_login(client, wx, invite_code(client, friend)))
    invited_login(client, wx, second_card, user=friend["user"])
    assert (_balance(inviter), _balance(friend), ledger_rows(inviter["member"]["id"])) == before
    mine = client.get("/api/v1/me/invites", headers=inviter["headers"]).get_json()
    assert [f["status"] for f in mine["friends"]] == ["rewarded"] and mine["rewards"]["points"] == 100
    assert "*" in mine["friends"][0]["nickname"] or mine["friends"][0]["nickname"] == "微信用户"
    assert audit.check_books()["problems"] == []


def test_a_scanned_scene_is_accepted_and_the_phone_step_pays_in_its_transaction(client, wx, rules, inviter):
    rules(step="phone", inviter_points=50, friend_points=20)
    friend = invited_login(client, wx, "i=" + invite_code(client, inviter))
    before = _balance(friend)
    bind_phone(client, wx, friend)
    assert _balance(friend) == before + 20
    assert invitation_of(friend).status == "rewarded"
    bind_phone(client, wx, friend)  # a second binding pays nothing more
    assert ledger_rows(friend["member"]["id"]) == (1, 0, 0)


def test_the_first_sign_in_qualifies_under_a_sign_in_rule(client, wx, rules, inviter):
    rules(step="signin", inviter_points=40, friend_points=10)
    friend = invited_login(client, wx, invite_code(client, inviter))
    assert client.post("/api/v1/signin", headers=friend["headers"]).status_code == 200
    invitation = invitation_of(friend)
    assert (invitation.status, invitation.qualified_ref.startswith("signin")) == ("rewarded", True)
    assert client.get("/api/v1/me/invites", headers=inviter["headers"]).get_json()["rewards"]["points"] == 40


def test_a_full_refund_within_the_window_takes_the_inviters_reward_back_once(client, wx, rules, inviter, admin):
    rules(step="payment", min_payment_fen=1000, inviter_points=100, inviter_growth=10, friend_points=30)
    friend = invited_login(client, wx, invite_code(client, inviter))
    started = start_payment(client, friend, 5000)
    assert post_notify(client, notify_xml(wx, started["payment"]["out_trade_no"]))
    rewarded = _balance(inviter)
    xml = _refund_in_full(client, wx, admin, started["payment"]["id"], 5000)
    assert client.post("/api/v1/payments/wechat/refund-notify", data=xml, content_type="text/xml").status_code == 200
    invitation = invitation_of(friend)
    assert invitation.status == "reversed" and _balance(inviter) == rewarded - 100
    mine = client.get("/api/v1/me/invites", headers=inviter["headers"]).get_json()
    assert mine["rewards"]["points"] == 0 and mine["friends"][0]["status"] == "qualified"
    assert audit.check_books()["problems"] == []


def test_a_refund_after_the_window_or_in_part_keeps_the_reward(client, wx, rules, inviter, admin, clock):
    rules(step="payment", min_payment_fen=1000, inviter_points=100, friend_points=0, window_days=3)
    friend = invited_login(client, wx, invite_code(client, inviter))
    started = start_payment(client, friend, 5000)
    assert post_notify(client, notify_xml(wx, started["payment"]["out_trade_no"]))
    _refund_in_full(client, wx, admin, started["payment"]["id"], 1000)  # in part
    assert invitation_of(friend).status == "rewarded"
    clock.advance(timedelta(days=3, minutes=1))
    _refund_in_full(client, wx, admin, started["payment"]["id"], 4000)  # the rest, after the window
    assert invitation_of(friend).status == "rewarded"


def test_a_friend_who_does_not_qualify_in_the_window_expires(app, client, wx, rules, inviter, clock):
    from services.invites import rewards
    rules(step="phone", window_days=2)
    friend = invited_login(client, wx, invite_code(client, inviter))
    clock.advance(timedelta(days=2, seconds=1))
    assert client.get("/api/v1/me/invites", headers=inviter["headers"]).get_json()["friends"][0]["status"] == "expired"
    bind_phone(client, wx, friend)
    assert invitation_of(friend).status == "expired" and ledger_rows(friend["member"]["id"]) == (0, 0, 0)
    assert rewards.expire_due() >= 0
    assert db.session.get(Member, friend["member"]["id"]) is not None
