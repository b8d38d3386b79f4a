"""The wechatpy adapter against the sandbox: shared access tokens, codes, messages."""
import pytest

from services import wechat
from services.platform.errors import WeChatError
from services.platform.redis_client import get_redis
from services.wechat import miniprogram


def test_access_token_is_fetched_once_and_shared_through_redis(app, wx):
    get_redis().delete(f"wechatpy:{app.config['WECHAT_APPID']}_access_token")
    before = wx.get("stats")["token_fetches"]
    openid = wx.post("login-code", user="token-user")["openid"]
    miniprogram.send_subscribe_message(openid, "tpl-1", {"thing1": "签到提醒"})
    wechat.init_app(app)  # as in another worker process: a new client, same Redis
    miniprogram.send_subscribe_message(openid, "tpl-1", {"thing1": "签到提醒"})
    assert wx.get("stats")["token_fetches"] == before + 1
    sent = wx.get("sent", kind="subscribe")["items"]
    assert sent[-1]["touser"] == openid and sent[-1]["data"] == {"thing1": {"value": "签到提醒"}}


def test_refused_subscribe_message_carries_errcode(wx):
    openid = wx.post("login-code", user="refuser")["openid"]
    wx.post("faults", api="subscribe_send", errcode=43101)
    with pytest.raises(WeChatError) as exc:
        miniprogram.send_subscribe_message(openid, "tpl-1", {"thing1": "x"})
    assert exc.value.details["errcode"] == 43101 and exc.value.status == 502


def test_wxa_code_is_a_png_and_bad_scene_is_an_error(wx):
    assert miniprogram.wxa_code("g=42").startswith(b"\x89PNG")
    with pytest.raises(WeChatError) as exc:
        miniprogram.wxa_code("s" * 33)
    assert exc.value.details["errcode"] == 40169


def test_unreachable_wechat_is_a_502(app):
    app.config["WECHAT_API_BASE_URL"], saved = "http://127.0.0.1:9/", app.config["WECHAT_API_BASE_URL"]
    wechat.init_app(app)  # the clients read their base URLs when they are built
    try:
        with pytest.raises(WeChatError):
            miniprogram.code_to_session("any")
    finally:
        app.config["WECHAT_API_BASE_URL"] = saved
        wechat.init_app(app)
