"""WeCom server API (qyapi.weixin.qq.com/cgi-bin/): gettoken and 客户联系 (external contacts).

The paths sit beside the mini-program's under /cgi-bin/ (none collide: WeCom's token call is
`gettoken`, WeChat's `token`); WeCom access tokens are valid only here and WeChat's only there.
"""
from flask import Blueprint, jsonify, request

from .common import json_body, sandbox, wechat_api
from .store import ApiError

bp = Blueprint("wecom", __name__, url_prefix="/cgi-bin")
QR_BASE = "https://wework.qq.com/sandbox/qrcode/"  # qr_code links: opaque, not served


def _book(state):
    return state.wecom


def wecom_api(name, needs_token=True):
    return wechat_api(name, needs_token=needs_token, tokens=_book)


def _body():
    try:
        return json_body()
    except ApiError as err:
        raise ApiError(40058, "invalid parameter, hint: [body is not a JSON object]") from err


@bp.get("/gettoken")
@wecom_api("wecom_gettoken", needs_token=False)
def gettoken():
    args = request.args
    return jsonify(sandbox().wecom.issue_token(args.get("corpid"), args.get("corpsecret")))


@bp.post("/externalcontact/add_contact_way")
@wecom_api("add_contact_way")
def add_contact_way():
    return jsonify(sandbox().wecom.add_contact_way(_body(), QR_BASE))


@bp.post("/externalcontact/get_contact_way")
@wecom_api("get_contact_way")
def get_contact_way():
    way = sandbox().wecom.contact_way(_body().get("config_id"))
    return jsonify({"errcode": 0, "errmsg": "ok", "contact_way": way})


@bp.post("/externalcontact/del_contact_way")
@wecom_api("del_contact_way")
def del_contact_way():
    sandbox().wecom.del_contact_way(_body().get("config_id"))
    return jsonify({"errcode": 0, "errmsg": "ok"})


@bp.get("/externalcontact/get")
@wecom_api("externalcontact_get")
def externalcontact_get():
    return jsonify(sandbox().wecom.get_contact(request.args.get("external_userid")))
