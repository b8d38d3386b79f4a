"""Login through wechatpy against the sandbox, and the member's own profile."""
import pytest

from tests.support.api import unique


def test_login_creates_member_then_finds_same_member(login):
    user = unique("alice")
    first = login(user)
    again = login(user)
    assert first["member"]["id"] == again["member"]["id"]
    assert first["expires_in"] > 0
    assert first["member"]["points"] == 0
    assert first["member"]["level"]["code"] in (None, "normal")
    assert "session_key" not in str(first)


@pytest.mark.parametrize("code", ["not-a-real-code", "x" * 128])
def test_login_with_bad_code_is_401(client, code):
    res = client.post("/api/v1/auth/login", json={"code": code})
    assert res.status_code == 401
    assert res.get_json()["error"]["code"] == "unauthorized"


def test_login_code_cannot_be_reused(client, wx):
    code = wx.post("login-code", user=unique("bob"))["code"]
    assert client.post("/api/v1/auth/login", json={"code": code}).status_code == 200
    res = client.post("/api/v1/auth/login", json={"code": code})
    assert res.status_code == 401
    assert res.get_json()["error"]["details"]["errcode"] == 40029


def test_login_when_wechat_fails_is_502(client, wx):
    code = wx.post("login-code", user=unique("carol"))["code"]
    wx.post("faults", api="jscode2session", errcode=-1)
    res = client.post("/api/v1/auth/login", json={"code": code})
    assert res.status_code == 502
    assert res.get_json()["error"]["code"] == "wechat_error"


def test_me_shows_profile_level_and_points(client, login):
    me = login()
    res = client.get("/api/v1/me", headers=me["headers"])
    assert res.status_code == 200
    body = res.get_json()
    assert body["id"] == me["member"]["id"]
    assert body["points"] == {"balance": 0, "frozen": 0, "available": 0, "expiring": []}
    assert set(body["level"]) >= {"code", "name", "growth", "next_level", "next_threshold"}
    assert body["guide"] is None


def test_patch_me_changes_profile(client, login):
    me = login()
    res = client.patch("/api/v1/me", headers=me["headers"],
                       json={"nickname": "小明", "gender": 1, "birthday": "1990-05-01",
                             "avatar_url": "https://example.com/a.png"})
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    assert (body["nickname"], body["gender"], body["birthday"]) == ("小明", 1, "1990-05-01")


def test_bind_phone_through_code(client, login, wx):
    me = login()
    code = wx.post("phone-code", phone="13800138000")["code"]
    res = client.post("/api/v1/me/phone", headers=me["headers"], json={"code": code})
    assert res.status_code == 200, res.get_json()
    assert res.get_json()["phone"] == "13800138000"
    again = client.post("/api/v1/me/phone", headers=me["headers"], json={"code": code})
    assert again.status_code == 401
