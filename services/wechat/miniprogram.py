"""The mini-program's WeChat API: login and phone codes, subscribe messages, mini-program codes, the
message push and customer-service messages. Tokens come from stable_token and live in Redis."""
import json

from flask import current_app
from wechatpy import WeChatClient
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import check_signature

from services.platform.errors import Unauthorized, WeChatError
from services.wechat.common import InvalidNotification, TokenStorage, call, clients, xml_fields

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


def build_client(config) -> _ConfiguredClient:
    return _ConfiguredClient(appid=config["WECHAT_APPID"], secret=config["WECHAT_SECRET"],
                             api_base_url=config["WECHAT_API_BASE_URL"], storage=TokenStorage("wechatpy"),
                             timeout=config["WECHAT_TIMEOUT"])


def _client() -> _ConfiguredClient:
    return clients().miniprogram


def code_to_session(code: str) -> dict:
    """Exchange a wx.login code for {openid, unionid?}; a bad code is a 401. The session_key is dropped
    here: nothing needs it (phone numbers come by code), so it is never stored or logged."""
    client = _client()
    # Params as a list of tuples: a dict would make wechatpy fetch an access token it does not need.
    params = [("appid", client.appid), ("secret", client.secret), ("js_code", code), ("grant_type", "authorization_code")]
    try:
        session = call(client.get, "sns/jscode2session", params=params, api_base_url=client.api_base)
    except WeChatError as exc:
        if exc.details.get("errcode") in BAD_LOGIN_CODES:
            raise Unauthorized("The login code is invalid, used or expired.", details=exc.details) from exc
        raise
    return {key: session[key] for key in ("openid", "unionid") if session.get(key)}


def phone_number(code: str) -> str:
    """The phone number behind a getPhoneNumber code (the code-based API wechatpy does not wrap)."""
    client = _client()
    try:
        result = call(client.post, "wxa/business/getuserphonenumber", data={"code": code}, api_base_url=client.api_base)
    except WeChatError as exc:
        if exc.details.get("errcode") in BAD_LOGIN_CODES:
            raise Unauthorized("The phone code is invalid, used or expired.", details=exc.details) from exc
        raise
    return result["phone_info"]["phoneNumber"]


def send_subscribe_message(openid: str, template_id: str, data: dict, page: str | None = None) -> dict:
    """Send one subscribe message; raises WeChatError carrying WeChat's errcode."""
    payload = {key: {"value": value} for key, value in data.items()}
    return call(_client().wxa.send_subscribe_message, openid, template_id, payload, page)


def wxa_code(scene: str, page: str | None = None) -> bytes:
    """The PNG of an unlimited mini-program code carrying `scene`."""
    response = call(_client().wxa.get_wxa_code_unlimited, scene, page=page)
    if isinstance(response, dict):
        raise WeChatError(details=response)
    return response.content


# -- the message push and customer-service messages ---------------------------------------------------

def push_signature_ok(*, signature: str, timestamp: str, nonce: str) -> bool:
    """The push's plain-mode signature: sha1 of the sorted [token, timestamp, nonce]."""
    try:
        check_signature(current_app.config["WECHAT_TOKEN"], signature, timestamp, nonce)
    except Exception:  # InvalidSignatureException, or the text cannot even be hashed
        return False
    return True


def parse_push(body: bytes, args) -> dict:
    """A message push (XML or JSON, plain or safe mode) as a dict of its fields; InvalidNotification
    when it cannot be trusted or read."""
    text = body.decode("utf-8", "replace").strip()
    try:
        if args.get("encrypt_type") == "aes":
            envelope = json.loads(text) if text.startswith("{") else None
            xml = text if envelope is None else (
                f"<xml><ToUserName><![CDATA[{envelope.get('ToUserName', '')}]]></ToUserName>"
                f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>")
            cfg = current_app.config
            text = WeChatCrypto(cfg["WECHAT_TOKEN"], cfg["WECHAT_AES_KEY"], cfg["WECHAT_APPID"]).decrypt_message(
                xml, args.get("msg_signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
            text = text.decode() if isinstance(text, bytes) else text
        if text.startswith("{"):
            message = json.loads(text)
            return {key: str(value) for key, value in message.items() if isinstance(value, str | int)}
        return xml_fields(text)
    except Exception as exc:
        raise InvalidNotification(f"message push refused: {type(exc).__name__}") from exc


def send_service_text(openid: str, text: str) -> None:
    call(_client().message.send_text, openid, text)


def send_service_image(openid: str, media_id: str) -> None:
    call(_client().message.send_image, openid, media_id)


def upload_temporary_image(png: bytes) -> str:
    """A temporary media id for an image (WeChat keeps it 3 days)."""
    answer = call(_client().media.upload, "image", ("qr.png", png, "image/png"))
    return answer["media_id"]
