"""WeChat Pay v2's trade bill (对账单, pay/downloadbill, bill_type ALL) read into lines and checked totals.

The format, from WeChat Pay's documentation (pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=9_6
and its 交易账单 format page): a header line naming the columns, one line per payment of the day
(交易状态 SUCCESS) and per refund made that day (交易状态 REFUND), then the totals header
(总交易单数,应结订单总金额,退款总金额,…) and one totals line. Every field of a data or totals line
is led by a backtick; amounts are in yuan; times are Beijing time. Pure: no database, no Flask.
"""
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

BEIJING = timezone(timedelta(hours=8))
COUNT = "总交易单数"
# a totals column -> (the detail column it sums, its key in Bill.totals)
SUMS = {
    "应结订单总金额": ("应结订单金额", "amount_fen"),
    "退款总金额": ("退款金额", "refund_fen"),
    "充值券退款总金额": ("充值券退款金额", "recharge_refund_fen"),
    "订单总金额": ("订单金额", "order_fen"),
    "申请退款总金额": ("申请退款金额", "requested_refund_fen"),
}
REQUIRED_COLUMNS = ("交易时间", "微信订单号", "商户订单号", "交易状态", "应结订单金额",
                    "微信退款单号", "商户退款单号", "退款金额", "退款状态")
REQUIRED_TOTALS = (COUNT, "应结订单总金额", "退款总金额")
KINDS = {"SUCCESS": "payment", "REFUND": "refund"}
_YUAN = re.compile(r"[0-9]+(\.[0-9]{1,2})?")


class BillFormatError(ValueError):
    """The text is not a WeChat Pay trade bill we can trust."""


@dataclass(frozen=True)
class BillLine:
    """One payment or refund of the bill.

    amount_fen is the line's 应结订单金额 (0 on a refund line): what WeChat settles to the merchant
    for the payment, 订单金额 less WeChat's no-recharge coupons. We give no WeChat coupons, so it is
    the amount our payment asked for; were a coupon ever used, the shortfall shows as a mismatch
    instead of passing unseen. refund_fen is likewise the settled 退款金额 (申请退款金额 less the
    coupon's part).
    """

    kind: str                  # "payment" | "refund"
    traded_at: datetime        # aware, UTC: the payment's time, or when the refund was made
    transaction_id: str
    out_trade_no: str
    trade_state: str           # SUCCESS | REFUND
    amount_fen: int
    refund_id: str | None
    out_refund_no: str | None
    refund_fen: int
    refund_status: str | None  # SUCCESS, PROCESSING…, as WeChat knew it when it made the bill


@dataclass(frozen=True)
class Bill:
    """The bill's lines, its 总交易单数 and its amount totals in fen (keys: SUMS' second items)."""

    lines: tuple[BillLine, ...]
    count: int
    totals: dict[str, int]


def parse_bill(text: str) -> Bill:
    """The bill in `text`; BillFormatError when any part of it is not as WeChat documents it."""
    lines = _lines(text)
    names = _columns(lines[0])
    details, totals_header, totals_line = _sections(lines)
    rows = [_row(names, line, number) for number, line in enumerate(details, start=2)]
    count, totals = _totals(totals_header, totals_line)
    _check(names, rows, count, totals)
    return Bill(tuple(_line(row) for row in rows), count, {SUMS[name][1]: fen for name, fen in totals.items()})


def _lines(text: str) -> list[str]:
    lines = text.removeprefix("\ufeff").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise BillFormatError("empty bill")
    return lines


def _sections(lines: list[str]) -> tuple[list[str], str, str]:
    starts = [n for n, line in enumerate(lines) if n and line.startswith(COUNT)]
    if not starts:
        raise BillFormatError("no totals header (总交易单数,…)")
    if starts[0] != len(lines) - 2:
        raise BillFormatError("the totals header must be followed by exactly one totals line")
    return lines[1:-2], lines[-2], lines[-1]


def _fields(line: str) -> list[str]:
    # a backticked line is split on ",`" so that a comma inside a field (商品名称) stays in it
    if line.startswith("`"):
        return line[1:].split(",`")
    return line.split(",")


def _columns(header: str) -> list[str]:
    names = [name.strip() for name in header.split(",")]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise BillFormatError(f"no bill header: columns {', '.join(missing)} missing")
    if len(set(names)) != len(names):
        raise BillFormatError("a column is named twice in the header")
    return names


def _row(names: list[str], line: str, number: int) -> dict[str, str]:
    fields = _fields(line)
    if len(fields) != len(names):
        raise BillFormatError(f"line {number} has {len(fields)} fields, the header {len(names)}")
    return dict(zip(names, fields))


def _totals(header: str, line: str) -> tuple[int, dict[str, int]]:
    names, values = [name.strip() for name in header.split(",")], _fields(line)
    if len(names) != len(values):
        raise BillFormatError(f"the totals line has {len(values)} fields, its header {len(names)}")
    given = dict(zip(names, values))
    missing = [name for name in REQUIRED_TOTALS if name not in given]
    if missing:
        raise BillFormatError(f"totals {', '.join(missing)} missing")
    if not re.fullmatch(r"[0-9]+", given[COUNT]):
        raise BillFormatError(f"bad {COUNT} {given[COUNT]!r}")
    return int(given[COUNT]), {name: _fen(given[name]) for name in SUMS if name in given}


def _check(names: list[str], rows: list[dict[str, str]], count: int, totals: dict[str, int]) -> None:
    if count != len(rows):
        raise BillFormatError(f"{COUNT} is {count} but the bill has {len(rows)} lines")
    for name, fen in totals.items():
        column = SUMS[name][0]
        if column not in names:
            raise BillFormatError(f"{name} totals a column the bill does not have ({column})")
        if sum(_fen(row[column]) for row in rows) != fen:
            raise BillFormatError(f"{name} disagrees with the sum of {column}")


def _line(row: dict[str, str]) -> BillLine:
    kind = KINDS.get(row["交易状态"])
    if kind is None:
        raise BillFormatError(f"unknown 交易状态 {row['交易状态']!r}")
    refund = kind == "refund"
    if refund and not (row["微信退款单号"] and row["商户退款单号"]):
        raise BillFormatError(f"refund line of {row['商户订单号']!r} without its refund numbers")
    return BillLine(
        kind=kind, traded_at=_time(row["交易时间"]), transaction_id=row["微信订单号"],
        out_trade_no=row["商户订单号"], trade_state=row["交易状态"], amount_fen=_fen(row["应结订单金额"]),
        refund_id=row["微信退款单号"] if refund else None,
        out_refund_no=row["商户退款单号"] if refund else None,
        refund_fen=_fen(row["退款金额"]) if refund else 0,
        refund_status=(row["退款状态"] or None) if refund else None)


def _fen(text: str) -> int:
    """Yuan with at most two decimals, as fen."""
    if not _YUAN.fullmatch(text):
        raise BillFormatError(f"bad amount {text!r}")
    return int(Decimal(text) * 100)


def _time(text: str) -> datetime:
    """A bill time (Beijing), as an aware UTC datetime."""
    try:
        local = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError as exc:
        raise BillFormatError(f"bad time {text!r}") from exc
    return local.replace(tzinfo=BEIJING).astimezone(UTC)
