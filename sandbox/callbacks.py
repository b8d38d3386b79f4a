"""What WeChat and WeCom push to the app: mini-program message pushes (消息推送), their GET
verification, and WeCom's encrypted callbacks (change_external_contact, URL verification).

Each builder answers a request ready to send: ``{"method", "url", "params", "body",
"content_type"}`` plus what went into it; ``deliver`` sends one like WeChat's servers would.
"""
import json
import secrets
from urllib.parse import urlencode

import requests

from . import msgcrypt
from .xmlutil import to_xml

USER_MESSAGE_TYPES = ("text", "image", "miniprogrampage")
EVENTS = ("user_enter_tempsession",)
CHANGE_TYPES = ("add_external_contact", "del_external_contact", "del_follow_user")
FORMATS = ("xml", "json")
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}


def _msg_id():
    return secrets.randbelow(9 * 10 ** 18) + 10 ** 18


def _serialise(data, fmt):
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return to_xml(data)


# -- mini-program message push ----------------------------------------------------
def push_message(config, openid, now, spec):
    """The message dict WeChat pushes for ``spec`` (validated by the caller)."""
    msg_type = spec["msg_type"]
    data = {"ToUserName": config.original_id, "FromUserName": openid,
            "CreateTime": int(now), "MsgType": msg_type}
    if msg_type == "event":
        data["Event"] = spec["event"]
        data["SessionFrom"] = spec.get("session_from") or ""
    elif msg_type == "text":
        data["Content"] = spec.get("content") or "你好"
    elif msg_type == "image":
        data["PicUrl"] = spec.get("pic_url") or "https://mmbiz.qpic.cn/sandbox/" + secrets.token_hex(8)
        data["MediaId"] = spec.get("media_id") or secrets.token_urlsafe(48)
    elif msg_type == "miniprogrampage":
        data.update(Title=spec.get("title") or "小程序页面", AppId=config.appid,
                    PagePath=spec.get("page_path") or "pages/index/index",
                    ThumbUrl=spec.get("thumb_url") or "https://mmbiz.qpic.cn/sandbox/thumb",
                    ThumbMediaId=spec.get("thumb_media_id") or secrets.token_urlsafe(48))
    if msg_type != "event":
        data["MsgId"] = _msg_id()
    return data


def push_request(config, url, message, fmt, encrypted, now):
    """POST of ``message``: plain (signature) or safe mode (Encrypt, msg_signature, encrypt_type)."""
    timestamp, nonce = str(int(now)), msgcrypt.push_nonce()
    plain = _serialise(message, fmt)
    params = {"signature": msgcrypt.signature(config.wechat_token, timestamp, nonce),
              "timestamp": timestamp, "nonce": nonce}
    body = plain
    if encrypted:
        encrypt = msgcrypt.encrypt(plain, config.wechat_aes_key, config.appid)
        body = _serialise({"ToUserName": config.original_id, "Encrypt": encrypt}, fmt)
        params.update(encrypt_type="aes", msg_signature=msgcrypt.signature(
            config.wechat_token, timestamp, nonce, encrypt))
    return {"method": "POST", "url": url, "params": params, "body": body,
            "content_type": CONTENT_TYPES[fmt], "plain": plain, "message": message}


def push_verify_request(config, url, now):
    """GET URL verification of 消息推送: signature over [token, timestamp, nonce]; echo echostr."""
    timestamp, nonce = str(int(now)), msgcrypt.push_nonce()
    echostr = str(secrets.randbelow(9 * 10 ** 18) + 10 ** 18)
    params = {"signature": msgcrypt.signature(config.wechat_token, timestamp, nonce),
              "echostr": echostr, "timestamp": timestamp, "nonce": nonce}
    return {"method": "GET", "url": url, "params": params, "echostr": echostr}


# -- WeCom callbacks ----------------------------------------------------------------
def wecom_event(config, now, change_type, userid, external_userid, state=None,
                welcome_code=None):
    """The decrypted change_external_contact event, field order as WeCom documents it."""
    data = {"ToUserName": config.wecom_corp_id, "FromUserName": "sys",
            "CreateTime": int(now), "MsgType": "event", "Event": "change_external_contact",
            "ChangeType": change_type, "UserID": userid, "ExternalUserID": external_userid}
    if change_type == "add_external_contact":
        if state:
            data["State"] = state
        data["WelcomeCode"] = welcome_code or secrets.token_urlsafe(32)
    return data


def wecom_request(config, url, event, now):
    """POST …?msg_signature=&timestamp=&nonce= with <xml><ToUserName/><Encrypt/><AgentID/></xml>."""
    timestamp, nonce = str(int(now)), msgcrypt.push_nonce()
    plain = to_xml(event)
    encrypt = msgcrypt.encrypt(plain, config.wecom_aes_key, config.wecom_corp_id)
    body = to_xml({"ToUserName": config.wecom_corp_id, "Encrypt": encrypt, "AgentID": ""})
    params = {"msg_signature": msgcrypt.signature(config.wecom_token, timestamp, nonce, encrypt),
              "timestamp": timestamp, "nonce": nonce}
    return {"method": "POST", "url": url, "params": params, "body": body,
            "content_type": CONTENT_TYPES["xml"], "plain": plain, "event": event}


def wecom_verify_request(config, url, now):
    """GET URL verification: echostr encrypted for the corp, msg_signature over it too."""
    timestamp, nonce = str(int(now)), msgcrypt.push_nonce()
    echo = str(secrets.randbelow(9 * 10 ** 18) + 10 ** 18)
    echostr = msgcrypt.encrypt(echo, config.wecom_aes_key, config.wecom_corp_id)
    params = {"msg_signature": msgcrypt.signature(config.wecom_token, timestamp, nonce, echostr),
              "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
    return {"method": "GET", "url": url, "params": params, "echostr_plain": echo}


# -- delivery -----------------------------------------------------------------------
def full_url(url, params):
    return url + ("&" if "?" in url else "?") + urlencode(params)


def deliver(request, timeout):
    """Send a built request; ``{"status", "body"}`` of the app's answer (or ``"error"``)."""
    kwargs = {"timeout": timeout}
    if request.get("body") is not None:
        kwargs["data"] = request["body"].encode("utf-8")
        kwargs["headers"] = {"Content-Type": request["content_type"]}
    try:
        res = requests.request(request["method"], full_url(request["url"], request["params"]),
                               **kwargs)
    except requests.RequestException as exc:
        return {"status": None, "body": None, "error": str(exc)}
    return {"status": res.status_code, "body": res.text}
