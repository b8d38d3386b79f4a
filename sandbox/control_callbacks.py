"""Control API for what WeChat and WeCom push: message pushes, WeCom events, URL verifications,
and the WeCom corp's staff and contact ways."""
from flask import jsonify, request

from . import callbacks
from .common import sandbox
from .control import ControlError, body, bp, field
from .store import ApiError

MSG_TYPES = ("event",) + callbacks.USER_MESSAGE_TYPES


def _flag(data, name, default):
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise ControlError(f"{name} must be true or false")
    return value


def _optional_str(data, name, limit=None):
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or (limit and len(value) > limit):
        raise ControlError(f"{name} must be a string" + (f" of at most {limit} chars" if limit else ""))
    return value


def _target(data, default_url, send):
    url = _optional_str(data, "url") or default_url
    if send and not url:
        raise ControlError("no url given and none configured", 409)
    return url


def _answer(built, send, **extra):
    """The built request (url with its query, params, body) and, when sent, the app's answer."""
    answer = {k: v for k, v in built.items() if k != "method"}
    answer.update(extra)
    if built.get("url"):
        answer["full_url"] = callbacks.full_url(built["url"], built["params"])
    if send:
        state = sandbox()
        state.store.count("callbacks")
        answer["answer"] = callbacks.deliver(built, state.config.notify_timeout)
    return jsonify(answer)


# -- mini-program message push ---------------------------------------------------
def _push_openid(data):
    state = sandbox()
    if data.get("user") is not None:
        openid = state.store.user_ids(field(data, "user"))[0]
    else:
        openid = field(data, "openid")
    state.store.add_openid(openid)
    return openid


def _push_spec(data):
    msg_type = data.get("msg_type") or ("event" if data.get("event") else "text")
    if msg_type not in MSG_TYPES:
        raise ControlError(f"msg_type must be one of {MSG_TYPES}")
    spec = {"msg_type": msg_type}
    if msg_type == "event":
        spec["event"] = data.get("event") or "user_enter_tempsession"
        if spec["event"] not in callbacks.EVENTS:
            raise ControlError(f"event must be one of {callbacks.EVENTS}")
    for name in ("content", "session_from", "pic_url", "media_id", "title", "page_path",
                 "thumb_url", "thumb_media_id"):
        if _optional_str(data, name) is not None:
            spec[name] = data[name]
    return spec


@bp.post("/push")
def push():
    data = body()
    state = sandbox()
    spec = _push_spec(data)
    fmt = data.get("format", "xml")
    if fmt not in callbacks.FORMATS:
        raise ControlError(f"format must be one of {callbacks.FORMATS}")
    encrypted, send = _flag(data, "encrypted", False), _flag(data, "send", True)
    url = _target(data, state.config.push_url, send)
    openid = _push_openid(data)
    now = state.store.now()
    message = callbacks.push_message(state.config, openid, now, spec)
    # WeChat records the user's action whether or not the app hears of it
    quota = state.store.open_cs_window(
        openid, "enter_session" if spec["msg_type"] == "event" else "message")
    built = callbacks.push_request(state.config, url, message, fmt, encrypted, now)
    return _answer(built, send, openid=openid, custom_quota=quota)


@bp.post("/push/verify")
def push_verify():
    data = body()
    state = sandbox()
    send = _flag(data, "send", True)
    built = callbacks.push_verify_request(state.config, _target(data, state.config.push_url, send),
                                          state.store.now())
    response = _answer(built, send)
    if send:
        result = response.get_json()
        result["verified"] = result["answer"]["body"] == built["echostr"]
        return jsonify(result)
    return response


# -- WeCom -------------------------------------------------------------------------
def _staff_and_state(data, book):
    """(userid, state) given, or taken from the contact way ``config_id`` the customer scanned."""
    state_value = _optional_str(data, "state", limit=30)
    if data.get("config_id") is None:
        return field(data, "userid"), state_value
    try:
        way = book.contact_way(field(data, "config_id"))
    except ApiError as err:
        raise ControlError("unknown config_id", 404) from err
    userid = _optional_str(data, "userid") or (way["user"][0] if way["user"] else None)
    if not userid:
        raise ControlError("the contact way has no user: give userid")
    return userid, state_value if state_value is not None else (way["state"] or None)


@bp.post("/wecom/add-external-contact")
def wecom_change_external_contact():
    data = body()
    state = sandbox()
    book = state.wecom
    change_type = data.get("change_type", "add_external_contact")
    if change_type not in callbacks.CHANGE_TYPES:
        raise ControlError(f"change_type must be one of {callbacks.CHANGE_TYPES}")
    userid, state_value = _staff_and_state(data, book)
    unionid, user = _optional_str(data, "unionid"), _optional_str(data, "user")
    if user and not unionid:
        unionid = state.store.user_ids(user)[1]
    external_userid = _optional_str(data, "external_userid") or book.external_userid(unionid, user)
    send = _flag(data, "send", True)
    url = _target(data, state.config.wecom_callback_url, send)
    if change_type == "add_external_contact":
        book.add_follow(external_userid, userid, state_value, unionid=unionid,
                        name=_optional_str(data, "name"))
    else:
        book.remove_follow(external_userid, userid)
    now = state.store.now()
    event = callbacks.wecom_event(state.config, now, change_type, userid, external_userid,
                                  state=state_value,
                                  welcome_code=_optional_str(data, "welcome_code"))
    built = callbacks.wecom_request(state.config, url, event, now)
    return _answer(built, send, external_userid=external_userid, unionid=unionid)


@bp.post("/wecom/verify-url")
def wecom_verify_url():
    data = body()
    state = sandbox()
    send = _flag(data, "send", True)
    built = callbacks.wecom_verify_request(
        state.config, _target(data, state.config.wecom_callback_url, send), state.store.now())
    response = _answer(built, send)
    if send:
        result = response.get_json()
        result["verified"] = result["answer"]["body"] == built["echostr_plain"]
        return jsonify(result)
    return response


@bp.post("/wecom/users")
def wecom_users():
    data = body()
    userid = field(data, "userid")
    known = _flag(data, "known", True)
    sandbox().wecom.set_user_known(userid, known)
    return jsonify({"userid": userid, "known": known})


@bp.get("/wecom/contact-ways")
def wecom_contact_ways():
    ways = sandbox().wecom.list_contact_ways()
    userid, state_value = request.args.get("userid"), request.args.get("state")
    ways = [w for w in ways if (userid is None or userid in w["user"])
            and (state_value is None or w["state"] == state_value)]
    return jsonify({"items": ways})
