"""Control API (JSON) for tests: mint codes, inject faults, inspect and reset state."""
from flask import Blueprint, jsonify, request

from .common import sandbox
from .store import FAULT_APIS

bp = Blueprint("sandbox_control", __name__, url_prefix="/sandbox")
SENT_KINDS = ("subscribe", "custom")


class ControlError(Exception):
    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


@bp.errorhandler(ControlError)
def _control_error(err):
    return jsonify({"error": str(err)}), err.status


def body():
    data = request.get_json(force=True, silent=True)
    if data is None and not request.get_data():
        return {}
    if not isinstance(data, dict):
        raise ControlError("JSON object body expected")
    return data


def field(data, name):
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ControlError(f"{name} (non-empty string) is required")
    return value


@bp.post("/login-code")
def login_code():
    return jsonify(sandbox().store.mint_login_code(field(body(), "user")))


@bp.post("/phone-code")
def phone_code():
    data = body()
    return jsonify(sandbox().store.mint_phone_code(field(data, "phone"),
                                                   str(data.get("country_code") or "86")))


@bp.get("/sent")
def sent():
    kind = request.args.get("kind")
    if kind is not None and kind not in SENT_KINDS:
        raise ControlError(f"kind must be one of {SENT_KINDS}")
    return jsonify({"items": sandbox().store.sent_items(kind)})


@bp.delete("/sent")
def clear_sent():
    sandbox().store.clear_sent()
    return jsonify({"ok": True})


@bp.get("/stats")
def stats():
    return jsonify(sandbox().store.snapshot_stats())


@bp.post("/reset")
def reset():
    sandbox().reset()
    return jsonify({"ok": True})


def _fault(data):
    api = data.get("api")
    if api not in FAULT_APIS:
        raise ControlError(f"api must be one of {sorted(FAULT_APIS)}")
    times = data.get("times", 1)
    if not isinstance(times, int) or times == 0 or times < -1:
        raise ControlError("times must be a positive int or -1 (always)")
    if data.get("errcode") is None and not data.get("http_status") \
            and not data.get("return_msg"):
        raise ControlError("errcode, http_status or return_msg is required")
    keys = ("errcode", "errmsg", "http_status", "return_msg")
    return api, dict({k: data.get(k) for k in keys}, times=times)


@bp.post("/faults")
def add_fault():
    api, fault = _fault(body())
    sandbox().store.add_fault(api, fault)
    return jsonify({"ok": True, "api": api, **fault})


@bp.delete("/faults")
def clear_faults():
    sandbox().store.clear_faults()
    return jsonify({"ok": True})


@bp.post("/clock")
def clock():
    advance = body().get("advance", 0)
    if not isinstance(advance, (int, float)):
        raise ControlError("advance (seconds) must be a number")
    return jsonify({"offset": sandbox().store.advance(advance)})


@bp.post("/tokens/expire")
def expire_tokens():
    state = sandbox()
    state.store.expire_tokens()
    state.wecom.expire_tokens()
    return jsonify({"ok": True})
