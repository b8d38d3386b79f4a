"""WeChat Pay v2: JSAPI orders, refunds, their notifications and the daily bill. Orders are MD5-signed:
wechatpy's notify parser checks MD5 signatures only."""
import re

import requests
from flask import current_app
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay

from services.platform.errors import WeChatError
from services.wechat.common import InvalidNotification, clients, measured


def build_client(config) -> WeChatPay:
    pay = WeChatPay(config["WECHAT_APPID"], config["WECHAT_PAY_KEY"], config["WECHAT_MCH_ID"],
                    mch_cert=config.get("WECHAT_MCH_CERT"), mch_key=config.get("WECHAT_MCH_KEY"),
                    timeout=config["WECHAT_TIMEOUT"])
    pay.API_BASE_URL = config["WECHAT_PAY_BASE_URL"]
    return pay


def _client() -> WeChatPay:
    return clients().pay


def _pay_call(fn, **kwargs) -> dict:
    with measured(fn):
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
    pay = _client()
    # client_ip always given: without it wechatpy resolves this host's name to find one
    order = _pay_call(pay.order.create, trade_type="JSAPI", body=xml_text(description, BODY_BYTES), total_fee=amount_fen,
                      notify_url=current_app.config["WECHAT_NOTIFY_URL"], client_ip=client_ip,
                      user_id=openid, out_trade_no=out_trade_no)
    return pay.jsapi.get_jsapi_params(order["prepay_id"])


def query_order(out_trade_no: str) -> dict | None:
    """WeChat's view of an order (trade_state, total_fee, transaction_id…), None if it has none."""
    try:
        return _pay_call(_client().order.query, out_trade_no=out_trade_no)
    except WeChatError as exc:
        if exc.details.get("err_code") == "ORDERNOTEXIST":
            return None
        raise


def close_order(out_trade_no: str) -> bool:
    """Close an unpaid order; False if WeChat says it was paid meanwhile."""
    try:
        _pay_call(_client().order.close, out_trade_no=out_trade_no)
    except WeChatError as exc:
        if exc.details.get("err_code") == "ORDERPAID":
            return False
        if exc.details.get("err_code") != "ORDERCLOSED":
            raise
    return True


def apply_refund(*, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int, reason: str) -> dict:
    """Ask WeChat to refund; the same out_refund_no again refunds nothing more."""
    cfg = current_app.config
    return _pay_call(_client().refund.apply, total_fee=total_fen, refund_fee=refund_fen, out_refund_no=out_refund_no,
                     out_trade_no=out_trade_no, refund_desc=xml_text(reason, REFUND_DESC_BYTES),
                     notify_url=cfg["WECHAT_REFUND_NOTIFY_URL"])


def refund_status(out_refund_no: str) -> tuple[str, int] | None:
    """WeChat's (refund_status, refund_fee) for one refund, None if it knows none."""
    try:
        answer = _pay_call(_client().refund.query, out_refund_no=out_refund_no)
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
        text = _pay_call(_client().tools.download_bill, bill_date=day, bill_type="ALL")
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
    pay = _client()
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
        data = _client().parse_refund_notify_result(body)
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
