"""The one adapter over wechatpy: every WeChat call and callback goes through here.

Base URLs come from config, so the same code talks to WeChat in production and to the sandbox in
tests and the embedded default. Access tokens live in Redis so every process shares one.
"""
import requests
from flask import current_app
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from services.errors import Unauthorized, WeChatError
from services.redis_client import get_redis

BAD_LOGIN_CODES = {40029, 40163, 40226}  # invalid / used / blocked: the client's code, not our fault
TOKEN_EARLY_REFRESH = 300  # seconds before WeChat's expiry that we stop using a token


class _ConfiguredClient(WeChatClient):
    """wechatpy's client with every base URL taken from config, and tokens from stable_token."""

    def __init__(self, *, appid, secret, api_base_url, storage, timeout):
        super().__init__(appid, secret, session=storage, timeout=timeout)
        self.api_base = api_base_url
        self.API_BASE_URL = f"{api_base_url}cgi-bin/"
        self.wxa.API_BASE_URL = api_base_url

    def fetch_access_token(self):
        # wechatpy hard-codes api.weixin.qq.com here; stable_token also keeps racing workers from
        # invalidating each other's token.
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret, "force_refresh": False}
        res = self._http.post(f"{self.API_BASE_URL}stable_token", json=body, timeout=self.timeout)
        result = self._handle_result(res)
        ttl = max(int(result.get("expires_in", 7200)) - TOKEN_EARLY_REFRESH, 60)
        self.session.set(self.access_token_key, result["access_token"], ttl)
        return result


def _client() -> _ConfiguredClient:
    client = current_app.extensions.get("wechat_client")
    if client is None:
        cfg = current_app.config
        client = _ConfiguredClient(
            appid=cfg["WECHAT_APPID"],
            secret=cfg["WECHAT_SECRET"],
            api_base_url=cfg["WECHAT_API_BASE_URL"],
            storage=RedisStorage(get_redis(), prefix="wechatpy"),
            timeout=cfg["WECHAT_TIMEOUT"],
        )
        current_app.extensions["wechat_client"] = client
    return client


def _call(fn, *args, **kwargs):
    """Run a wechatpy call, turning its failures into WeChatError (502)."""
    try:
        return fn(*args, **kwargs)
    except WeChatClientException as exc:
        raise WeChatError(details={"errcode": exc.errcode, "errmsg": exc.errmsg}) from exc
    except requests.RequestException as exc:
        raise WeChatError("WeChat could not be reached.") from exc


def code_to_session(code: str) -> dict:
    """Exchange a wx.login code for {openid, session_key, unionid?}; a bad code is a 401."""
    client = _client()
    # Params as a list of tuples: a dict would make wechatpy fetch an access token it does not need.
    params = [("appid", client.appid), ("secret", client.secret), ("js_code", code), ("grant_type", "authorization_code")]
    try:
        return _call(client.get, "sns/jscode2session", params=params, api_base_url=client.api_base)
    except WeChatError as exc:
        if exc.details.get("errcode") in BAD_LOGIN_CODES:
            raise Unauthorized("The login code is invalid, used or expired.", details=exc.details) from exc
        raise


def phone_number(code: str) -> str:
    """The phone number behind a getPhoneNumber code (the code-based API wechatpy does not wrap)."""
    client = _client()
    try:
        result = _call(client.post, "wxa/business/getuserphonenumber", data={"code": code}, api_base_url=client.api_base)
    except WeChatError as exc:
        if exc.details.get("errcode") in BAD_LOGIN_CODES:
            raise Unauthorized("The phone code is invalid, used or expired.", details=exc.details) from exc
        raise
    return result["phone_info"]["phoneNumber"]


def send_subscribe_message(openid: str, template_id: str, data: dict, page: str | None = None) -> dict:
    """Send one subscribe message; raises WeChatError carrying WeChat's errcode."""
    client = _client()
    payload = {key: {"value": value} for key, value in data.items()}
    return _call(client.wxa.send_subscribe_message, openid, template_id, payload, page)


def wxa_code(scene: str, page: str | None = None) -> bytes:
    """The PNG of an unlimited mini-program code carrying `scene`."""
    client = _client()
    response = _call(client.wxa.get_wxa_code_unlimited, scene, page=page)
    if isinstance(response, dict):
        raise WeChatError(details=response)
    return response.content
