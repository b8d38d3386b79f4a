"""Pay control API: simulate the user paying, and WeChat's notifications."""
from flask import jsonify

from .common import sandbox
from .control import ControlError, body, bp
from .notify import payment_notify_xml, post_notify, refund_notify_xml
from .orders import ResultFail

REFUND_OUTCOMES = ("SUCCESS", "CHANGE", "REFUNDCLOSE")


def _order(out_trade_no):
    order = sandbox().orders.get(out_trade_no)
    if order is None:
        raise ControlError("unknown out_trade_no", 404)
    return order


def _deliver(url, xml, send):
    state = sandbox()
    if not send:
        return jsonify({"xml": xml})
    state.store.count("notifies")
    return jsonify(post_notify(url, xml, state.config.notify_timeout))


@bp.post("/pay/<out_trade_no>/pay")
def pay(out_trade_no):
    data = body()
    result = data.get("result", "SUCCESS")
    if result not in ("SUCCESS", "FAIL"):
        raise ControlError("result must be SUCCESS or FAIL")
    state = sandbox()
    _order(out_trade_no)
    try:
        order = state.orders.pay(out_trade_no, result == "SUCCESS")
    except ValueError as err:
        raise ControlError(str(err), 409) from err
    xml = payment_notify_xml(order, state.config, state.store.now())
    return _deliver(order["notify_url"], xml, data.get("send", True))


@bp.get("/pay/<out_trade_no>/notify-xml")
def notify_xml(out_trade_no):
    state = sandbox()
    order = _order(out_trade_no)
    return jsonify({"xml": payment_notify_xml(order, state.config, state.store.now()),
                    "notify_url": order["notify_url"]})


@bp.post("/pay/<out_trade_no>/refund")
def merchant_refund(out_trade_no):
    """A refund made in WeChat's merchant platform (not through secapi/pay/refund)."""
    data = body()
    refund_fee, out_refund_no = data.get("refund_fee"), data.get("out_refund_no")
    if type(refund_fee) is not int or refund_fee <= 0:
        raise ControlError("refund_fee (fen, a positive int) is required")
    if out_refund_no is not None and (not isinstance(out_refund_no, str) or not out_refund_no):
        raise ControlError("out_refund_no must be a non-empty string")
    _order(out_trade_no)
    try:
        refund = sandbox().refunds.merchant_refund(out_trade_no, refund_fee, out_refund_no)
    except ResultFail as err:
        raise ControlError(f"{err.err_code}: {err.err_code_des}", 409) from err
    return jsonify(refund)


@bp.post("/refunds/<out_refund_no>/notify")
def refund_notify(out_refund_no):
    state = sandbox()
    refund = state.refunds.get(out_refund_no)
    if refund is None:
        raise ControlError("unknown out_refund_no", 404)
    url = refund["notify_url"] or state.config.refund_notify_url
    data = body()
    if "refund_status" in data:
        if data["refund_status"] not in REFUND_OUTCOMES:
            raise ControlError(f"refund_status must be one of {REFUND_OUTCOMES}")
        state.refunds.set_outcome(out_refund_no, data["refund_status"])
        refund = state.refunds.get(out_refund_no)
    send = data.get("send", True)
    if send and not url:
        raise ControlError("the refund request had no notify_url and none is configured", 409)
    return _deliver(url, refund_notify_xml(refund, state.config), send)


@bp.get("/orders/<out_trade_no>")
def order_state(out_trade_no):
    order = _order(out_trade_no)
    order.pop("identity", None)
    order.pop("planned_transaction_id", None)
    order["refunds"] = [sandbox().refunds.get(no) for no in order["refunds"]]
    return jsonify(order)


@bp.get("/refunds/<out_refund_no>")
def refund_state(out_refund_no):
    refund = sandbox().refunds.get(out_refund_no)
    if refund is None:
        raise ControlError("unknown out_refund_no", 404)
    return jsonify(refund)
