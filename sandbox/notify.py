"""Payment and refund notifications: build the XML WeChat would send and post it."""
import requests

from .crypto import encrypt_req_info, nonce, sign
from .orders import beijing
from .xmlutil import XMLFormatError, parse_xml, to_xml

REFUND_FIELDS = ("out_refund_no", "out_trade_no", "refund_id", "transaction_id",
                 "total_fee", "refund_fee", "refund_status", "success_time", "refund_account")


def payment_notify_xml(order, config, now):
    """Signed payment notification for ``order`` (a paid order, or a preview of one)."""
    paid = order["state"] != "PAYERROR"
    data = {
        "appid": config.appid, "mch_id": config.mch_id, "device_info": order["device_info"],
        "nonce_str": nonce(), "result_code": "SUCCESS" if paid else "FAIL",
        "openid": order["openid"], "is_subscribe": "N", "trade_type": order["trade_type"],
        "bank_type": order["bank_type"] or "OTHERS", "total_fee": order["total_fee"],
        "cash_fee": order["total_fee"], "fee_type": order["fee_type"],
        "out_trade_no": order["out_trade_no"], "attach": order["attach"],
        "return_code": "SUCCESS",
    }
    if paid:
        data["transaction_id"] = order["transaction_id"] or order["planned_transaction_id"]
        data["time_end"] = order["time_end"] or beijing(now)
    else:
        data.update(err_code="PAYERROR", err_code_des="支付失败")
    data = {k: v for k, v in data.items() if v is not None}
    data["sign"] = sign(data, config.pay_key, order["sign_type"])
    return to_xml(data)


def refund_notify_xml(refund, config):
    """Refund notification: only req_info (AES-256-ECB) authenticates it, no sign."""
    inner = {key: refund[key] for key in REFUND_FIELDS}
    inner.update(settlement_refund_fee=refund["refund_fee"],
                 settlement_total_fee=refund["total_fee"],
                 refund_recv_accout="支付用户的零钱",
                 refund_request_source=refund.get("refund_request_source") or "API")
    req_info = encrypt_req_info(to_xml(inner, root="root"), config.pay_key)
    return to_xml({"return_code": "SUCCESS", "appid": config.appid, "mch_id": config.mch_id,
                   "nonce_str": nonce(), "req_info": req_info})


def post_notify(url, xml, timeout):
    """POST the XML like WeChat; report the status, body and parsed return_code."""
    try:
        res = requests.post(url, data=xml.encode("utf-8"), timeout=timeout,
                            headers={"Content-Type": "text/xml; charset=utf-8"})
    except requests.RequestException as exc:
        return {"status": None, "body": None, "return_code": None, "error": str(exc)}
    try:
        return_code = parse_xml(res.content).get("return_code")
    except XMLFormatError:
        return_code = None
    return {"status": res.status_code, "body": res.text, "return_code": return_code}
