"""WeChat Pay's trade bill (对账单): the sandbox's pay/downloadbill through the adapter, and the parser."""
import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import requests
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay

from sandbox import SANDBOX_APPID, SANDBOX_MCH_ID, SANDBOX_PAY_KEY
from sandbox.crypto import sign
from services.payments.wechat_bill import BillFormatError, parse_bill
from services.platform.errors import WeChatError
from services.wechat import pay
from tests.support.api import unique

BEIJING = timezone(timedelta(hours=8))
ALL_HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
              "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
              "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注")
TOTALS_HEADER = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"


def beijing_day(days_ago: int) -> date:
    return datetime.now(BEIJING).date() - timedelta(days=days_ago)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING)


@pytest.fixture
def sandbox_at(wx):
    """Set the shared sandbox's clock to an instant; the test leaves it as it found it."""
    start = wx.post("clock", advance=0)["offset"]

    def move(when: datetime) -> None:
        offset = wx.post("clock", advance=0)["offset"]
        wx.post("clock", advance=when.timestamp() - time.time() - offset)

    yield move
    wx.post("clock", advance=start - wx.post("clock", advance=0)["offset"])


@pytest.fixture
def paid(wx):
    """Pay `fen` through the adapter and the sandbox, now (sandbox time); returns the out_trade_no."""
    openid = wx.post("login-code", user=unique("bill-payer"))["openid"]

    def _pay(fen: int) -> str:
        out_trade_no = unique("bill")
        pay.create_jsapi_order(out_trade_no=out_trade_no, amount_fen=fen, description="会员充值, 大杯",
                               openid=openid, client_ip="127.0.0.1")
        wx.post(f"pay/{out_trade_no}/pay", send=False)
        return out_trade_no
    return _pay


@pytest.fixture
def pay_client(sandbox):
    client = WeChatPay(SANDBOX_APPID, SANDBOX_PAY_KEY, SANDBOX_MCH_ID)
    client.API_BASE_URL = sandbox.url
    return client


def refund(out_trade_no: str, total: int, fen: int) -> str:
    out_refund_no = unique("bill-refund")
    pay.apply_refund(out_trade_no=out_trade_no, out_refund_no=out_refund_no, total_fen=total,
                     refund_fen=fen, reason="test")
    return out_refund_no


def raw_downloadbill(url: str, key: str = SANDBOX_PAY_KEY, sign_type: str = "MD5", **fields) -> requests.Response:
    data = {"appid": SANDBOX_APPID, "mch_id": SANDBOX_MCH_ID, "nonce_str": "n0nce", "bill_type": "ALL", **fields}
    if sign_type != "MD5":
        data["sign_type"] = sign_type
    data["sign"] = sign(data, key, sign_type)
    xml = "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in data.items()) + "</xml>"
    return requests.post(url + "pay/downloadbill", data=xml.encode("utf-8"), timeout=10)


# -- the sandbox's bill, through the adapter --------------------------------------------------------

def test_bill_has_the_days_payments_partial_and_platform_refunds_and_totals(wx, sandbox_at, paid):
    day = beijing_day(61)
    sandbox_at(at(day, 11))
    first, second = paid(8800), paid(1999)
    sandbox_at(at(day, 15))
    ours = refund(first, 8800, 1000)
    platform = wx.post(f"pay/{second}/refund", refund_fee=999)
    sandbox_at(at(day + timedelta(days=1), 9))
    third = paid(500)
    next_day_refund = refund(first, 8800, 500)
    sandbox_at(at(day + timedelta(days=1), 10))

    text = pay.download_bill(day)
    lines = text.splitlines()
    assert lines[0] == ALL_HEADER and lines[-2] == TOTALS_HEADER and len(lines) == 7
    assert all(line.startswith("`") for line in lines[1:5] + lines[-1:])
    assert lines[-1].startswith("`4,`107.99,`19.99,`0.00,`") and lines[-1].endswith(",`107.99,`19.99")
    bill = parse_bill(text)
    assert [(line.kind, line.out_trade_no, line.amount_fen, line.out_refund_no, line.refund_fen)
            for line in bill.lines] == [("payment", first, 8800, None, 0), ("payment", second, 1999, None, 0),
                                        ("refund", first, 0, ours, 1000),
                                        ("refund", second, 0, platform["out_refund_no"], 999)]
    assert platform["out_refund_no"] == platform["refund_id"] == bill.lines[3].refund_id
    assert {line.refund_status for line in bill.lines[2:]} == {"SUCCESS"}
    assert abs(bill.lines[0].traded_at - at(day, 11)) < timedelta(minutes=1)
    assert bill.lines[0].traded_at.tzinfo == UTC and bill.lines[0].transaction_id.startswith("4200")
    assert bill.count == 4 and bill.totals == {"amount_fen": 10799, "refund_fen": 1999, "recharge_refund_fen": 0,
                                               "order_fen": 10799, "requested_refund_fen": 1999}

    sandbox_at(at(day + timedelta(days=2), 10))
    later = parse_bill(pay.download_bill(day + timedelta(days=1)))
    assert [(line.kind, line.out_trade_no, line.out_refund_no) for line in later.lines] == [
        ("payment", third, None), ("refund", first, next_day_refund)]


def test_success_and_refund_bills_hold_only_their_lines(wx, sandbox_at, paid, pay_client):
    day = beijing_day(62)
    sandbox_at(at(day, 12))
    out_trade_no, typed = paid(300), unique("typed-by-hand")
    wx.post(f"pay/{out_trade_no}/refund", refund_fee=100, out_refund_no=typed)
    sandbox_at(at(day + timedelta(days=1), 10))
    success = pay_client.tools.download_bill(day, bill_type="SUCCESS").splitlines()
    assert success[0].endswith("商品名称,商户数据包,手续费,费率,订单金额,费率备注") and "`SUCCESS" in success[1]
    assert success[2:] == ["总交易单数,应结订单总金额,手续费总金额,订单总金额", "`1,`3.00,`0.02000,`3.00"]
    refunds = pay_client.tools.download_bill(day, bill_type="REFUND").splitlines()
    assert "退款申请时间,退款成功时间" in refunds[0] and len(refunds) == 4
    assert "`REFUND" in refunds[1] and f"`{typed}," in refunds[1]
    with pytest.raises(WeChatPayException) as exc:
        pay_client.tools.download_bill(day, bill_type="RECHARGE_REFUND")
    assert exc.value.return_msg == "No Bill Exist"


def test_a_day_without_trades_has_no_bill():
    assert pay.download_bill(beijing_day(64)) is None


def test_a_day_is_billed_from_ten_the_next_morning(sandbox_at, paid):
    day = beijing_day(65)
    sandbox_at(at(day, 12))
    paid(100)
    for now in (at(day, 23, 59), at(day + timedelta(days=1), 9, 59)):
        sandbox_at(now)
        with pytest.raises(WeChatError) as exc:
            pay.download_bill(day)
        assert exc.value.details["return_code"] == "FAIL" and exc.value.details["errmsg"] == "Bill Creating"
    sandbox_at(at(day + timedelta(days=1), 10))
    assert parse_bill(pay.download_bill(day)).count == 1
    with pytest.raises(WeChatError) as exc:
        pay.download_bill(day + timedelta(days=2))
    assert exc.value.details["errmsg"] == "invalid bill_date"


@pytest.mark.parametrize("fields, message", [
    ({"bill_date": "20251301"}, "invalid bill_date"),
    ({"bill_date": "2025-01-01"}, "invalid bill_date"),
    ({"bill_date": "20200101"}, "invalid bill_date"),          # older than three months
    ({"bill_type": "REVOKED"}, "invalid bill_type"),
    ({"tar_type": "ZIP"}, "invalid tar_type, Only GZIP supported"),
    ({"appid": "wx0000000000other"}, "invalid appid"),
    ({"bill_date": ""}, "missing parameter"),
])
def test_bad_requests_are_refused_as_documented(sandbox, fields, message):
    fields = {"bill_date": beijing_day(66).strftime("%Y%m%d"), **fields}
    answer = raw_downloadbill(sandbox.url, **fields)
    assert answer.status_code == 200
    assert f"<return_msg><![CDATA[{message}]]></return_msg><error_code><![CDATA[20001]]>" in answer.text


def test_the_v2_signature_is_checked(sandbox):
    bill_date = beijing_day(66).strftime("%Y%m%d")
    refused = raw_downloadbill(sandbox.url, key="not-the-key", bill_date=bill_date)
    assert "<return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[sign error]]>" in refused.text
    for sign_type in ("MD5", "HMAC-SHA256"):
        accepted = raw_downloadbill(sandbox.url, sign_type=sign_type, bill_date=bill_date)
        assert "<return_msg><![CDATA[No Bill Exist]]></return_msg><error_code><![CDATA[20002]]>" in accepted.text


def test_injected_downloadbill_fault_is_a_wechat_error(wx):
    wx.post("faults", api="downloadbill", errcode=20003)
    with pytest.raises(WeChatError) as exc:
        pay.download_bill(beijing_day(66))
    assert exc.value.details["errmsg"] == "SYSTEMERROR"
    assert pay.download_bill(beijing_day(66)) is None


def test_platform_refund_control_checks_its_input(sandbox, wx, paid):
    out_trade_no = paid(200)
    url = f"{sandbox.url}sandbox/pay/{out_trade_no}/refund"
    assert requests.post(url, json={"refund_fee": 0}, timeout=10).status_code == 400
    assert requests.post(url, json={"refund_fee": 201}, timeout=10).status_code == 409
    assert requests.post(f"{sandbox.url}sandbox/pay/no-such-order/refund", json={"refund_fee": 1},
                         timeout=10).status_code == 404
    made = wx.post(f"pay/{out_trade_no}/refund", refund_fee=200, out_refund_no=unique("hand"))
    assert pay.refund_status(made["out_refund_no"]) == ("SUCCESS", 200)
    assert wx.get(f"refunds/{made['out_refund_no']}")["refund_request_source"] == "VENDOR_PLATFORM"


# -- the parser ---------------------------------------------------------------------------------------

PAYMENT = ["2026-11-23 10:00:00", "wxapp", "1900000109", "0", "", "4200000001", "T1", "o1", "JSAPI", "SUCCESS",
           "OTHERS", "CNY", "88.00", "0.00", "0", "0", "0.00", "0.00", "", "", "会员充值", "", "0.53000", "0.60%",
           "88.00", "0.00", ""]
REFUND = ["2026-11-23 23:59:59", "wxapp", "1900000109", "0", "", "4200000001", "T1", "o1", "JSAPI", "REFUND",
          "OTHERS", "CNY", "0.00", "0.00", "5030001", "R1", "10.50", "0.00", "ORIGINAL", "PROCESSING", "会员充值", "",
          "-0.06000", "0.60%", "0.00", "10.50", ""]
TOTALS = ["2", "88.00", "10.50", "0.00", "0.47000", "88.00", "10.50"]


def render(rows=(PAYMENT, REFUND), totals=TOTALS, header=ALL_HEADER, tick="`", eol="\n") -> str:
    lines = [header, *(",".join(tick + field for field in row) for row in rows),
             TOTALS_HEADER, ",".join(tick + value for value in totals)]
    return eol.join(lines) + eol


def test_parse_reads_lines_in_fen_and_utc():
    bill = parse_bill(render())
    payment, refunded = bill.lines
    assert (payment.kind, payment.amount_fen, payment.refund_id, payment.refund_fen) == ("payment", 8800, None, 0)
    assert payment.traded_at == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert (refunded.kind, refunded.refund_id, refunded.out_refund_no, refunded.refund_fen, refunded.refund_status
            ) == ("refund", "5030001", "R1", 1050, "PROCESSING")
    assert refunded.traded_at == datetime(2026, 11, 23, 15, 59, 59, tzinfo=UTC)
    assert bill.count == 2 and bill.totals["amount_fen"] == 8800 and bill.totals["refund_fen"] == 1050


@pytest.mark.parametrize("text", [
    "\ufeff" + render(eol="\r\n") + "\r\n\r\n",                       # BOM, CRLF, trailing blank lines
    render(tick=""),                                                  # fields without the backtick
    render(rows=(PAYMENT[:20] + ["会员充值,大杯"] + PAYMENT[21:], REFUND)),  # a comma inside a backticked field
])
def test_parse_tolerates_what_real_bills_carry(text):
    bill = parse_bill(text)
    assert [line.kind for line in bill.lines] == ["payment", "refund"] and bill.totals["order_fen"] == 8800


def test_parse_finds_columns_by_name():
    order = list(range(len(PAYMENT)))
    order[6], order[12] = order[12], order[6]
    header = ",".join(ALL_HEADER.split(",")[n] for n in order)
    rows = ([PAYMENT[n] for n in order], [REFUND[n] for n in order])
    bill = parse_bill(render(rows=rows, header=header))
    assert (bill.lines[0].out_trade_no, bill.lines[0].amount_fen) == ("T1", 8800)


@pytest.mark.parametrize("text", [
    "",
    "\r\n\r\n",
    "<xml><return_code><![CDATA[FAIL]]></return_code></xml>",
    render().split("\n", 1)[1],                                       # no header
    render(header=ALL_HEADER.replace("应结订单金额", "总金额")),          # a column it needs is missing
    render(rows=(PAYMENT[:-1], REFUND)),                              # a line with a field too few
    render(rows=(PAYMENT + ["x"], REFUND)),                           # a field too many
    render(rows=(PAYMENT[:12] + ["88.001"] + PAYMENT[13:], REFUND)),   # three decimals
    render(rows=(PAYMENT[:12] + ["八十八"] + PAYMENT[13:], REFUND)),
    render(rows=(PAYMENT[:12] + ["-88.00"] + PAYMENT[13:], REFUND)),
    render(rows=(PAYMENT[:9] + ["REVOKED"] + PAYMENT[10:], REFUND)),
    render(rows=(["2026-11-23T10:00:00"] + PAYMENT[1:], REFUND)),
    render(rows=(PAYMENT, REFUND[:14] + ["", ""] + REFUND[16:])),      # a refund without its numbers
    render(totals=["3"] + TOTALS[1:]),                                # the count disagrees
    render(totals=TOTALS[:1] + ["88.01"] + TOTALS[2:]),               # a sum disagrees
    render(totals=TOTALS[:2] + ["10.49"] + TOTALS[3:]),
    render(totals=TOTALS[:5] + ["88.00", "10.51"]),
    render(totals=TOTALS[:-1]),                                       # a totals field too few
    "\n".join([ALL_HEADER, "`" + ",`".join(PAYMENT), "总交易单数,应结订单总金额", "`1,`88.00"]),  # 退款总金额 missing
    render(header=ALL_HEADER.replace(",订单金额,", ","),
           rows=(PAYMENT[:24] + PAYMENT[25:], REFUND[:24] + REFUND[25:])),  # 订单总金额 of no column
    render(totals=["2.0"] + TOTALS[1:]),
    render().rsplit("\n", 2)[0],                                      # no totals line
    render() + "`1,`2\n",                                             # something after the totals
    render().replace("\n`2026-11-23 23", "\n\n`2026-11-23 23"),       # a blank line inside
])
def test_parse_refuses_anything_else(text):
    with pytest.raises(BillFormatError):
        parse_bill(text)
