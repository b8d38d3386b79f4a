"""Mini-program server API: login, tokens, phone, messages, media and wxacode."""
import secrets

from flask import Blueprint, Response, jsonify, request

from .common import json_body, sandbox, wechat_api
from .content import invalid_data_key, valid_scene, wxacode_png
from .store import ApiError

bp = Blueprint("wechat_mp", __name__)
MEDIA_TYPES = ("image", "voice", "video", "thumb")


def _check_app(appid, secret):
    config = sandbox().config
    if appid != config.appid:
        raise ApiError(40013, "invalid appid")
    if secret != config.secret:
        raise ApiError(40125, "invalid appsecret")


def _check_grant(actual, expected):
    if actual != expected:
        raise ApiError(40002, "invalid grant_type")


@bp.get("/sns/jscode2session")
@wechat_api("jscode2session", needs_token=False)
def jscode2session():
    args = request.args
    _check_app(args.get("appid"), args.get("secret"))
    _check_grant(args.get("grant_type"), "authorization_code")
    return jsonify(sandbox().store.redeem_login_code(args.get("js_code")))


@bp.get("/cgi-bin/token")
@wechat_api("token", needs_token=False)
def token():
    args = request.args
    _check_grant(args.get("grant_type"), "client_credential")
    _check_app(args.get("appid"), args.get("secret"))
    return jsonify(sandbox().store.issue_token())


@bp.post("/cgi-bin/stable_token")
@wechat_api("stable_token", needs_token=False)
def stable_token():
    body = json_body()
    _check_grant(body.get("grant_type"), "client_credential")
    _check_app(body.get("appid"), body.get("secret"))
    return jsonify(sandbox().store.issue_stable_token(bool(body.get("force_refresh"))))


@bp.post("/wxa/business/getuserphonenumber")
@wechat_api("getuserphonenumber")
def getuserphonenumber():
    state = sandbox()
    entry = state.store.redeem_phone_code(json_body().get("code"))
    phone, country = entry["phone"], entry["country_code"]
    number = phone if country == "86" else f"+{country} {phone}"
    watermark = {"timestamp": int(state.store.now()), "appid": state.config.appid}
    return jsonify({"errcode": 0, "errmsg": "ok", "phone_info": {
        "phoneNumber": number, "purePhoneNumber": phone,
        "countryCode": country, "watermark": watermark}})


def _check_touser(openid):
    if not sandbox().store.is_known_openid(openid):
        raise ApiError(40003, "invalid openid")


def _record(kind, body, **extra):
    state = sandbox()
    item = {"touser": body.get("touser"), "at": state.store.now(), **extra}
    state.store.record(kind, item)


@bp.post("/cgi-bin/message/subscribe/send")
@wechat_api("subscribe_send")
def subscribe_send():
    body = json_body()
    _check_touser(body.get("touser"))
    if not body.get("template_id"):
        raise ApiError(40037, "invalid template_id")
    data = body.get("data")
    if not isinstance(data, dict) or not data:
        raise ApiError(47003, "argument invalid! data is empty")
    bad = invalid_data_key(data)
    if bad:
        raise ApiError(47003, f"argument invalid! data.{bad}.value invalid")
    msgid = sandbox().store.next_seq()
    _record("subscribe", body, msgid=msgid, template_id=body["template_id"], data=data,
            page=body.get("page"), miniprogram_state=body.get("miniprogram_state"),
            lang=body.get("lang"))
    return jsonify({"errcode": 0, "errmsg": "ok", "msgid": msgid})


@bp.post("/cgi-bin/message/custom/send")
@wechat_api("custom_send")
def custom_send():
    body = json_body()
    _check_touser(body.get("touser"))
    msgtype = body.get("msgtype")
    if not msgtype or not isinstance(body.get(msgtype), dict):
        raise ApiError(40008, "invalid message type")
    # only within the window a user action opened (POST /sandbox/push): 45015 / 45047
    sandbox().store.take_cs_message(body["touser"])
    _record("custom", body, msgtype=msgtype, content=body[msgtype],
            customservice=body.get("customservice"))
    return jsonify({"errcode": 0, "errmsg": "ok"})


@bp.post("/cgi-bin/media/upload")
@wechat_api("media_upload")
def media_upload():
    media_type = request.args.get("type")
    if media_type not in MEDIA_TYPES:
        raise ApiError(40004, "invalid media type")
    media = request.files.get("media")
    if media is None or not media.read(1):
        raise ApiError(41005, "media data missing")
    return jsonify({"type": media_type, "media_id": secrets.token_urlsafe(48),
                    "created_at": int(sandbox().store.now())})


@bp.post("/wxa/getwxacodeunlimit")
@wechat_api("getwxacodeunlimit")
def getwxacodeunlimit():
    body = json_body()
    scene, page = body.get("scene"), body.get("page")
    if not valid_scene(scene):
        raise ApiError(40169, "invalid length for scene, or the data is not json string")
    if page is not None and (not isinstance(page, str) or page.startswith("/")):
        raise ApiError(41030, "invalid page")
    return Response(wxacode_png(scene, body.get("width") or 430), mimetype="image/png")
