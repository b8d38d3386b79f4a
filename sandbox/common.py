"""Helpers shared by the sandbox blueprints."""
import functools
import json

from flask import Response, current_app, jsonify, request

from .store import ApiError

# WeChat's wording for the errcodes tests usually inject
KNOWN_ERRMSG = {
    -1: "system error", 40029: "invalid code", 40226: "high risk user, login refused",
    43101: "user refuse to accept the msg", 45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit mustslower retry next minute",
    47003: "argument invalid!", 40001: "invalid credential, access_token is invalid or not latest",
    40014: "invalid access_token", 42001: "access_token expired",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit", 60111: "userid not found",
    84061: "not external contact",
}


def sandbox():
    """The Sandbox state object of the running app."""
    return current_app.extensions["wechat_sandbox"]


def json_body():
    """The request body as a JSON object whatever the content-type (wechatpy sends none)."""
    try:
        data = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ApiError(47001, "data format error")
    return data


def errcode_response(errcode, errmsg):
    return jsonify({"errcode": errcode, "errmsg": errmsg})


def fault_response(fault, render):
    """Answer an injected fault: a bare HTTP status or an API-specific error body."""
    if fault.get("http_status"):
        return Response("sandbox injected failure", status=int(fault["http_status"]),
                        mimetype="text/plain")
    return render(fault)


def _fault_errcode(fault):
    errcode = int(fault["errcode"])
    return errcode_response(errcode, fault.get("errmsg") or KNOWN_ERRMSG.get(
        errcode, "sandbox injected error"))


def wechat_api(name, needs_token=True, tokens=None):
    """Decorate a JSON WeChat API view: faults, access_token check, ApiError -> JSON.

    ``tokens``: which issuer's tokens are valid, as ``tokens(state)`` returning an object with
    ``check_token``; default the mini-program's (WeCom views pass their own book).
    """
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            state = sandbox()
            state.store.count("calls." + name)
            fault = state.store.take_fault(name)
            if fault:
                return fault_response(fault, _fault_errcode)
            try:
                if needs_token:
                    issuer = tokens(state) if tokens else state.store
                    issuer.check_token(request.args.get("access_token"))
                return view(*args, **kwargs)
            except ApiError as err:
                return errcode_response(err.errcode, err.errmsg)
        return wrapper
    return decorate
