"""Invitations in tests: the rules through the operator API, friends who join through a card, the books."""
import random

from sqlalchemy import func, select

from models import GrowthEntry, PointsEntry, db
from models.coupon import Coupon
from models.invite import Invitation, InviteRefusal
from tests.support.api import bearer, unique


def set_rules(client, admin, **fields):
    """A new active set of invitation rules (defaults: reward on phone binding, no per-address limit)."""
    body = {"name": unique("邀请有礼"), "step": "phone", "inviter_points": 100, "inviter_growth": 10,
            "friend_points": 30, "friend_growth": 0, "daily_cap": 1000, "monthly_cap": 10000, "window_days": 7,
            "joins_per_address": 100_000, **fields}
    res = client.post("/api/v1/admin/invite-rules", headers=admin, json=body)
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def invited_login(client, wx, invite, *, user=None, address="127.0.0.1", status=200):
    """A WeChat user logging in with an inviter's code (new by default): the login answer with headers."""
    user = user or unique("friend")
    code = wx.post("login-code", user=user)["code"]
    res = client.post("/api/v1/auth/login", json={"code": code, "invite": invite},
                      environ_base={"REMOTE_ADDR": address})
    assert res.status_code == status, res.get_json()
    body = res.get_json()
    body["headers"], body["user"] = bearer(body["token"]), user
    return body


def invite_code(client, member) -> str:
    res = client.get("/api/v1/me/invite", headers=member["headers"])
    assert res.status_code == 200, res.get_json()
    return res.get_json()["code"]


def new_phone() -> str:
    return "137" + str(random.randrange(10**8)).zfill(8)


def bind_phone(client, wx, member, phone=None):
    code = wx.post("phone-code", phone=phone or new_phone())["code"]
    res = client.post("/api/v1/me/phone", headers=member["headers"], json={"code": code})
    assert res.status_code == 200, res.get_json()


def invitation_of(friend) -> Invitation | None:
    db.session.rollback()
    return db.session.scalar(select(Invitation).where(Invitation.invitee_id == friend["member"]["id"]))


def ledger_rows(member_id: int) -> tuple[int, int, int]:
    """(points entries, growth entries, coupons) of invitation rewards for a member."""
    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(PointsEntry).where(
                PointsEntry.member_id == member_id, PointsEntry.reference.like("invitation:%"))),
            db.session.scalar(select(func.count()).select_from(GrowthEntry).where(
                GrowthEntry.member_id == member_id, GrowthEntry.reference.like("invitation:%"))),
            db.session.scalar(select(func.count()).select_from(Coupon).where(
                Coupon.member_id == member_id, Coupon.source == "invite")))


def refusals() -> dict:
    db.session.rollback()
    return dict(db.session.execute(select(InviteRefusal.reason, func.sum(InviteRefusal.count))
                                   .group_by(InviteRefusal.reason)).all())
