"""WeChat Pay v2 trade bill (下载交易账单, POST pay/downloadbill), built from the sandbox's records.

From WeChat Pay's documentation (pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=9_6 and the
交易账单 format page): success is a text table, a header, one line per payment (交易状态 SUCCESS,
by its payment time) and per refund (交易状态 REFUND, by the time it was made) of the Beijing day,
every field led by a backtick, amounts in yuan; then the totals header and the totals line.
Failure is unsigned XML: return_code FAIL, return_msg, error_code.
"""
import calendar
import gzip
import re
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import Response

from .crypto import SIGN_TYPES, verify
from .orders import BEIJING
from .xmlutil import XMLFormatError, parse_xml

PARAM_ERROR, NO_BILL_CODE, SYSTEM_ERROR, API_CLOSED = "20001", "20002", "20003", "20007"
NO_BILL = "No Bill Exist"
BILL_CREATING = "Bill Creating"
FAULT_MESSAGES = {NO_BILL_CODE: NO_BILL, SYSTEM_ERROR: "SYSTEMERROR",
                  API_CLOSED: "当前商户号账单API权限已经关闭"}
READY_AT = time(10)  # WeChat starts the bills at 9:00 the next day and says to fetch after 10:00
KEEP_MONTHS = 3      # only the last three months' bills can be downloaded
FEE_RATE, FEE_RATE_TEXT = Decimal("0.006"), "0.60%"

_HEAD = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额"
_TAIL = "商品名称,商户数据包,手续费,费率"
_REFUND = "微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态"
ALL_COLUMNS = f"{_HEAD},{_REFUND},{_TAIL},订单金额,申请退款金额,费率备注".split(",")
SUCCESS_COLUMNS = f"{_HEAD},{_TAIL},订单金额,费率备注".split(",")
REFUND_COLUMNS = f"{_HEAD},退款申请时间,退款成功时间,{_REFUND},{_TAIL},订单金额,申请退款金额,费率备注".split(",")
_FULL_TOTALS = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
_SUCCESS_TOTALS = "总交易单数,应结订单总金额,手续费总金额,订单总金额"
FULL_TOTALS, SUCCESS_TOTALS = _FULL_TOTALS.split(","), _SUCCESS_TOTALS.split(",")
# bill_type -> (detail columns, totals columns, kinds of line); RECHARGE_REFUND: the sandbox has
# no recharge coupons, so no such refund ever happens
LAYOUTS = {
    "ALL": (ALL_COLUMNS, FULL_TOTALS, ("payment", "refund")),
    "SUCCESS": (SUCCESS_COLUMNS, SUCCESS_TOTALS, ("payment",)),
    "REFUND": (REFUND_COLUMNS, FULL_TOTALS, ("refund",)),
    "RECHARGE_REFUND": (REFUND_COLUMNS, FULL_TOTALS, ()),
}
REQUIRED = ("appid", "mch_id", "nonce_str", "sign", "bill_date")


class BillFail(Exception):
    """downloadbill's failure answer: return_code FAIL with return_msg and error_code."""

    def __init__(self, return_msg, error_code=PARAM_ERROR):
        super().__init__(return_msg)
        self.return_msg, self.error_code = return_msg, error_code

    def answer(self):
        return {"return_code": "FAIL", "return_msg": self.return_msg, "error_code": self.error_code}


def fault_answer(fault):
    """An injected fault: its return_msg, or WeChat's wording for its error_code."""
    code = None if fault.get("errcode") is None else str(fault["errcode"])
    message = fault.get("return_msg") or fault.get("errmsg") or FAULT_MESSAGES.get(code, "SYSTEMERROR")
    return BillFail(message, code or SYSTEM_ERROR).answer()


def read_request(raw, config):
    """The request's fields once its XML, parameters, appid and signature check out."""
    if not raw:
        raise BillFail("empty post data")
    try:
        req = parse_xml(raw)
    except XMLFormatError as exc:
        raise BillFail("data format error") from exc
    if any(not req.get(name) for name in REQUIRED):
        raise BillFail("missing parameter")
    if len(req["nonce_str"]) > 32:
        raise BillFail("nonce_str too long")
    if req["appid"] != config.appid:
        raise BillFail("invalid appid")
    if req["mch_id"] != config.mch_id:
        raise BillFail("invalid parameter")
    sign_type = req.get("sign_type") or "MD5"
    if sign_type not in SIGN_TYPES or not verify(req, config.pay_key, sign_type):
        raise BillFail("sign error")
    return req


def download(state, req):
    """The bill asked for, as WeChat sends it (gzip with tar_type GZIP), or a BillFail."""
    bill_type = req.get("bill_type") or "ALL"
    if bill_type not in LAYOUTS:
        raise BillFail("invalid bill_type")
    if req.get("tar_type") and req["tar_type"] != "GZIP":
        raise BillFail("invalid tar_type, Only GZIP supported")
    day = _available_day(req["bill_date"], state.store.now())
    with state.store.lock:
        text = bill_text(state.orders, state.config, day, bill_type)
    if text is None:
        raise BillFail(NO_BILL, NO_BILL_CODE)
    if req.get("tar_type") == "GZIP":
        return Response(gzip.compress(text.encode("utf-8")), mimetype="application/x-gzip")
    return Response(text.encode("utf-8"), content_type="text/plain; charset=utf-8")


def _available_day(bill_date, now):
    """The bill's day, once WeChat has made its bill: a past day, from 10:00 the day after."""
    if not re.fullmatch(r"\d{8}", bill_date):
        raise BillFail("invalid bill_date")
    try:
        day = datetime.strptime(bill_date, "%Y%m%d").date()
    except ValueError as exc:
        raise BillFail("invalid bill_date") from exc
    today = datetime.fromtimestamp(now, BEIJING).date()
    if day > today or day < _months_before(today, KEEP_MONTHS):
        raise BillFail("invalid bill_date")
    ready = datetime.combine(day + timedelta(days=1), READY_AT, BEIJING).timestamp()
    if now < ready:
        raise BillFail(BILL_CREATING, None)  # no error_code for it in the sources read
    return day


def _months_before(day, months):
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def bill_text(book, config, day, bill_type):
    """The bill of one Beijing day from the order book (call under its lock), None when empty."""
    columns, totals, kinds = LAYOUTS[bill_type]
    rows = sorted((row for row in _rows(book, config, day) if row["kind"] in kinds),
                  key=lambda row: (row["at"], row["kind"] == "refund"))
    if not rows:
        return None
    lines = [",".join(columns)]
    lines += [",".join("`" + row["fields"][name] for name in columns) for row in rows]
    lines += [",".join(totals), ",".join("`" + value for value in _totals(rows, totals))]
    return "\r\n".join(lines) + "\r\n"


def _rows(book, config, day):
    for order in book.orders.values():
        if order["paid_at"] is not None and _day_of(order["paid_at"]) == day:
            yield _payment_row(order, config)
    for refund in book.refunds.values():
        if _day_of(refund["created_at"]) == day:
            yield _refund_row(refund, book.orders[refund["out_trade_no"]], config)


def _day_of(ts):
    return datetime.fromtimestamp(ts, BEIJING).date()


def _payment_row(order, config):
    fen, fee = order["total_fee"], _fee(order["total_fee"])
    fields = dict(_order_fields(order, config), 交易时间=_at(order["paid_at"]), 交易状态="SUCCESS",
                  应结订单金额=_yuan(fen), 订单金额=_yuan(fen), 微信退款单号="0", 商户退款单号="0",
                  退款金额="0.00", 申请退款金额="0.00", 退款类型="", 退款状态="",
                  退款申请时间="", 退款成功时间="", 手续费=_fee_text(fee))
    sums = {"应结订单总金额": fen, "订单总金额": fen, "手续费总金额": fee}
    return {"kind": "payment", "at": order["paid_at"], "fields": fields, "sums": sums}


def _refund_row(refund, order, config):
    fen, fee = refund["refund_fee"], -_fee(refund["refund_fee"])
    succeeded = refund["refund_status"] == "SUCCESS"
    fields = dict(_order_fields(order, config), 交易时间=_at(refund["created_at"]), 交易状态="REFUND",
                  应结订单金额="0.00", 订单金额="0.00", 微信退款单号=refund["refund_id"],
                  商户退款单号=refund["out_refund_no"], 退款金额=_yuan(fen), 申请退款金额=_yuan(fen),
                  退款类型="ORIGINAL", 退款状态=refund["refund_status"],
                  退款申请时间=_at(refund["created_at"]),
                  退款成功时间=refund["success_time"] if succeeded else "", 手续费=_fee_text(fee))
    sums = {"退款总金额": fen, "申请退款总金额": fen, "手续费总金额": fee}
    return {"kind": "refund", "at": refund["created_at"], "fields": fields, "sums": sums}


def _order_fields(order, config):
    return {"公众账号ID": config.appid, "商户号": config.mch_id, "特约商户号": "0",
            "设备号": order["device_info"] or "", "微信订单号": order["transaction_id"],
            "商户订单号": order["out_trade_no"], "用户标识": order["openid"] or "",
            "交易类型": order["trade_type"], "付款银行": order["bank_type"] or "OTHERS",
            "货币种类": order["fee_type"], "代金券金额": "0.00", "充值券退款金额": "0.00",
            "商品名称": _text(order["body"]), "商户数据包": _text(order["attach"]),
            "费率": FEE_RATE_TEXT, "费率备注": ""}


def _totals(rows, names):
    for name in names:
        if name == "总交易单数":
            yield str(len(rows))
        else:
            total = sum(row["sums"].get(name, 0) for row in rows)
            yield _fee_text(total) if name == "手续费总金额" else _yuan(total)


def _fee(fen):
    """WeChat's fee on an amount, rounded to the fen."""
    return int((fen * FEE_RATE).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _yuan(fen):
    return f"{'-' if fen < 0 else ''}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _fee_text(fen):
    return _yuan(fen) + "000"  # WeChat writes fees with five decimals


def _at(ts):
    return datetime.fromtimestamp(ts, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _text(value):
    # a line break would end the bill's line
    return re.sub(r"[\r\n]+", " ", value or "")
