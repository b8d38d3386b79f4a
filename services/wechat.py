"""The one adapter over wechatpy: every WeChat call and callback goes through here.

Base URLs come from config, so the same code talks to WeChat in production and to the sandbox in
tests and the embedded default. Access tokens live in Redis so every process shares one.
"""
import json
import re
from xml.etree import ElementTree

import requests
from flask import current_app
from wechatpy import WeChatClient
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise import WeChatClient as WeComClient
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.exceptions import WeChatClientException, WeChatPayException
from wechatpy.pay import WeChatPay
from wechatpy.session.redisstorage import RedisStorage
from wechatpy.utils import check_signature

from services.platform.errors import Unauthorized, WeChatError
from services.platform.redis_client import get_redis

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
    """Exchange a wx.login code for {openid, unionid?}; a bad code is a 401. The session_key is dropped
    here: nothing needs it (phone numbers come by code), so it is never stored or logged."""
    client = _client()
    # Params as a list of tuples: a dict would make wechatpy fetch an access token it does not need.
    params = [("appid", client.appid), ("secret", client.secret), ("js_code", code), ("grant_type", "authorization_code")]
    try:
        session = _call(client.get, "sns/jscode2session", params=params, api_base_url=client.api_base)
    except WeChatError as exc:
        if exc.details.get("errcode") in BAD_LOGIN_CODES:
            raise Unauthorized("The login code is invalid, used or expired.", details=exc.details) from exc
        raise
    return {key: session[key] for key in ("openid", "unionid") if session.get(key)}


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


# -- mini-program message push and customer-service messages ------------------------------------------

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
        return {child.tag: (child.text or "") for child in ElementTree.fromstring(text)}
    except Exception as exc:
        raise InvalidNotification(f"message push refused: {type(exc).__name__}") from exc


def send_service_text(openid: str, text: str) -> None:
    _call(_client().message.send_text, openid, text)


def send_service_image(openid: str, media_id: str) -> None:
    _call(_client().message.send_image, openid, media_id)


def upload_temporary_image(png: bytes) -> str:
    """A temporary media id for an image (WeChat keeps it 3 days)."""
    answer = _call(_client().media.upload, "image", ("qr.png", png, "image/png"))
    return answer["media_id"]


# -- WeCom (企业微信): guides' 联系我 codes and their customers -----------------------------------------

class _WeComClient(WeComClient):
    def fetch_access_token(self):
        # wechatpy hard-codes qyapi.weixin.qq.com for the token
        return self._fetch_access_token(url=f"{self.API_BASE_URL}gettoken",
                                        params={"corpid": self.corp_id, "corpsecret": self.secret})


def wecom_configured() -> bool:
    cfg = current_app.config
    return bool(cfg.get("WECOM_CORP_ID") and cfg.get("WECOM_SECRET"))


def _wecom() -> _WeComClient:
    client = current_app.extensions.get("wecom_client")
    if client is None:
        cfg = current_app.config
        client = _WeComClient(cfg["WECOM_CORP_ID"], cfg["WECOM_SECRET"], session=RedisStorage(get_redis(), prefix="wecom"),
                              timeout=cfg["WECHAT_TIMEOUT"])
        client.API_BASE_URL = cfg["WECOM_API_BASE_URL"]
        current_app.extensions["wecom_client"] = client
    return client


def wecom_contact_way(userid: str, state: str) -> tuple[str, str]:
    """A 联系我 QR code for one staff member (type 1, scene 2) carrying `state`; (config_id, qr_code URL)."""
    answer = _call(_wecom().external_contact.add_contact_way, type=1, scene=2, state=state, user=[userid])
    return answer["config_id"], answer["qr_code"]


def wecom_delete_contact_way(config_id: str) -> None:
    """Remove a 联系我 code at WeCom (its QR stops adding customers); one already gone counts as removed."""
    try:
        _call(_wecom().external_contact.del_contact_way, config_id)
    except WeChatError as exc:
        if exc.details.get("errcode") not in WECOM_UNKNOWN_CONFIG_ID:
            raise


# WeCom has no such contact way (deleted already): 41044 无效的「联系我」config_id参数, or 40058 不合法的参数
# (config_id is del_contact_way's only parameter)
WECOM_UNKNOWN_CONFIG_ID = (41044, 40058)


def wecom_external_contact(external_userid: str) -> dict:
    """WeCom's externalcontact/get: `external_contact` (with `unionid` when the corp and the
    mini-program share an Open Platform account) and `follow_user`."""
    return _call(_wecom().external_contact.get, external_userid)


def wecom_event(body: bytes, *, msg_signature: str, timestamp: str, nonce: str) -> dict:
    """A WeCom callback's decrypted event as a dict of its XML fields; InvalidNotification if its
    signature or encryption is wrong (wechatpy 1.8.18 has no class for change_external_contact)."""
    cfg = current_app.config
    try:
        xml = WeComCrypto(cfg["WECOM_TOKEN"], cfg["WECOM_AES_KEY"], cfg["WECOM_CORP_ID"]).decrypt_message(
            body, msg_signature, timestamp, nonce)
        return {child.tag: (child.text or "") for child in ElementTree.fromstring(xml)}
    except Exception as exc:  # InvalidSignatureException, bad base64 / padding / XML
        raise InvalidNotification(f"WeCom callback refused: {type(exc).__name__}") from exc


def wecom_echo(*, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    """WeCom's URL verification: the decrypted echostr, or InvalidNotification."""
    cfg = current_app.config
    try:
        echoed = WeComCrypto(cfg["WECOM_TOKEN"], cfg["WECOM_AES_KEY"], cfg["WECOM_CORP_ID"]).check_signature(
            msg_signature, timestamp, nonce, echostr)
    except Exception as exc:
        raise InvalidNotification(f"WeCom verification refused: {type(exc).__name__}") from exc
    return echoed.decode() if isinstance(echoed, bytes) else echoed


# -- WeChat Pay v2 (MD5-signed orders: wechatpy's notify parser checks MD5 signatures only) ----------

class InvalidNotification(Exception):
    """A payment or refund notification we must answer FAIL to."""


def _pay() -> WeChatPay:
    pay = current_app.extensions.get("wechat_pay")
    if pay is None:
        cfg = current_app.config
        pay = WeChatPay(cfg["WECHAT_APPID"], cfg["WECHAT_PAY_KEY"], cfg["WECHAT_MCH_ID"],
                        mch_cert=cfg.get("WECHAT_MCH_CERT"), mch_key=cfg.get("WECHAT_MCH_KEY"),
                        timeout=cfg["WECHAT_TIMEOUT"])
        pay.API_BASE_URL = cfg["WECHAT_PAY_BASE_URL"]
        current_app.extensions["wechat_pay"] = pay
    return pay


def _pay_call(fn, **kwargs) -> dict:
    try:
        return fn(**kwargs)
    except WeChatPayException as exc:
        raise WeChatError(details={"return_code": exc.return_code, "result_code": exc.result_code,
                                   "err_code": exc.errcode, "errmsg": exc.errmsg or exc.return_msg}) from exc
    except requests.RequestException as exc:
        raise WeChatError("WeChat Pay could not be reached.") from exc


BODY_BYTES, REFUND_DESC_BYTES = 128, 80  # WeChat Pay v2's limits on body and refund_desc, in UTF-8 bytes
_XML_UNSAFE = re.compile(r"[\x00-\x1f\x7f\ufffe\uffff]+")


def xml_text(text: str, max_bytes: int) -> str:
    """Text fit for a WeChat Pay XML field: wechatpy puts it into CDATA as it is, so control
    characters would make the XML unparseable at WeChat, a `]]>` would end the CDATA, and a CR comes
    back as LF (breaking WeChat's signature check); cut to `max_bytes` of UTF-8 on a character."""
    text = _XML_UNSAFE.sub(" ", text).replace("]]>", "]] >").strip() or "-"
    cut = text.encode("utf-8")[:max_bytes]
    return cut.decode("utf-8", errors="ignore")


def create_jsapi_order(*, out_trade_no: str, amount_fen: int, description: str, openid: str,
                       client_ip: str) -> dict:
    """Place a JSAPI unified order; return the parameters for wx.requestPayment."""
    if amount_fen <= 0:
        raise ValueError("WeChat Pay orders are for at least 1 fen")  # wechatpy sends 0 as an empty element
    pay = _pay()
    # client_ip always given: without it wechatpy resolves this host's name to find one
    order = _pay_call(pay.order.create, trade_type="JSAPI", body=xml_text(description, BODY_BYTES), total_fee=amount_fen,
                      notify_url=current_app.config["WECHAT_NOTIFY_URL"], client_ip=client_ip,
                      user_id=openid, out_trade_no=out_trade_no)
    return pay.jsapi.get_jsapi_params(order["prepay_id"])


def query_order(out_trade_no: str) -> dict | None:
    """WeChat's view of an order (trade_state, total_fee, transaction_id…), None if it has none."""
    try:
        return _pay_call(_pay().order.query, out_trade_no=out_trade_no)
    except WeChatError as exc:
        if exc.details.get("err_code") == "ORDERNOTEXIST":
            return None
        raise


def close_order(out_trade_no: str) -> bool:
    """Close an unpaid order; False if WeChat says it was paid meanwhile."""
    try:
        _pay_call(_pay().order.close, out_trade_no=out_trade_no)
    except WeChatError as exc:
        if exc.details.get("err_code") == "ORDERPAID":
            return False
        if exc.details.get("err_code") != "ORDERCLOSED":
            raise
    return True


def apply_refund(*, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int, reason: str) -> dict:
    """Ask WeChat to refund; the same out_refund_no again refunds nothing more."""
    cfg = current_app.config
    return _pay_call(_pay().refund.apply, total_fee=total_fen, refund_fee=refund_fen, out_refund_no=out_refund_no,
                     out_trade_no=out_trade_no, refund_desc=xml_text(reason, REFUND_DESC_BYTES),
                     notify_url=cfg["WECHAT_REFUND_NOTIFY_URL"])


def refund_status(out_refund_no: str) -> tuple[str, int] | None:
    """WeChat's (refund_status, refund_fee) for one refund, None if it knows none."""
    try:
        answer = _pay_call(_pay().refund.query, out_refund_no=out_refund_no)
    except WeChatError as exc:
        if exc.details.get("err_code") == "REFUNDNOTEXIST":
            return None
        raise
    for n in range(int(answer.get("refund_count", 0))):
        if answer.get(f"out_refund_no_{n}") == out_refund_no:
            return answer[f"refund_status_{n}"], int(answer[f"refund_fee_{n}"])
    return None


NO_BILL = "No Bill Exist"  # WeChat Pay's return_msg for a day without trades


def download_bill(day) -> str | None:
    """WeChat Pay's trade bill (对账单, bill_type ALL) of one Beijing day as WeChat writes it: a header,
    one line per payment and per refund with every field led by a backtick, then the totals. None
    when the day had no trade."""
    try:
        text = _pay_call(_pay().tools.download_bill, bill_date=day, bill_type="ALL")
    except WeChatError as exc:
        if NO_BILL.lower() in (exc.details.get("errmsg") or "").lower():
            return None
        raise
    if not isinstance(text, str):  # an XML answer that was not an error: WeChat sent no bill
        raise WeChatError(details={"errmsg": f"downloadbill answered {text!r:.200}"})
    return text


def parse_payment_notification(body: bytes) -> dict:
    """A payment notification that is signed by our key, for our app and merchant, and successful."""
    if not body or b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise InvalidNotification("empty body or a DTD")
    pay = _pay()
    try:
        data = pay.parse_payment_result(body)
    except Exception as exc:  # wechatpy raises AttributeError / ValueError / TypeError on hostile XML
        raise InvalidNotification(f"unparseable or badly signed: {type(exc).__name__}") from exc
    _expect(data, return_code="SUCCESS", result_code="SUCCESS", appid=pay.appid, mch_id=pay.mch_id)
    if not isinstance(data.get("total_fee"), int) or not data.get("out_trade_no"):
        raise InvalidNotification("total_fee or out_trade_no missing")
    return data


def parse_refund_notification(body: bytes) -> dict:
    """The decrypted req_info of a refund notification for our app and merchant."""
    if not body or b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise InvalidNotification("empty body or a DTD")
    try:
        data = _pay().parse_refund_notify_result(body)
    except Exception as exc:  # bad appid / mch_id, undecryptable req_info, hostile XML
        raise InvalidNotification(f"unreadable refund notification: {type(exc).__name__}") from exc
    if not data.get("out_refund_no") or not isinstance(data.get("refund_fee"), int):
        raise InvalidNotification("out_refund_no or refund_fee missing")
    return data


def notification_reply(ok: bool, message: str = "OK") -> str:
    """The XML WeChat Pay expects back from a notification."""
    code = "SUCCESS" if ok else "FAIL"
    return (f"<xml><return_code><![CDATA[{code}]]></return_code>"
            f"<return_msg><![CDATA[{message}]]></return_msg></xml>")


def _expect(data: dict, **expected) -> None:
    for key, value in expected.items():
        if data.get(key) != value:
            raise InvalidNotification(f"{key} is {data.get(key)!r}, expected {value!r}")
