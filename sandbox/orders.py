"""WeChat Pay v2 order and refund rules, on lock-protected in-memory state."""
import secrets
from datetime import datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))
TRADE_TYPES = ("JSAPI", "NATIVE", "APP", "MWEB")
# fields that make two unifiedorder calls "the same order" (time_start etc. may vary)
IDENTITY = ("body", "detail", "attach", "total_fee", "fee_type", "trade_type",
            "openid", "product_id", "goods_tag", "device_info")
STATE_DESC = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "CLOSED": "已关闭",
              "REFUND": "转入退款", "PAYERROR": "支付失败(其他原因，如银行返回失败)"}


class ReturnFail(Exception):
    """return_code FAIL: the request itself is malformed or unauthorised."""


class ResultFail(Exception):
    """return_code SUCCESS, result_code FAIL with err_code / err_code_des."""

    def __init__(self, err_code, err_code_des):
        super().__init__(err_code, err_code_des)
        self.err_code, self.err_code_des = err_code, err_code_des


def beijing(ts, fmt="%Y%m%d%H%M%S"):
    return datetime.fromtimestamp(ts, BEIJING).strftime(fmt)


def _digits(n):
    return "".join(secrets.choice("0123456789") for _ in range(n))


def _identity(req):
    return {key: req.get(key) or None for key in IDENTITY}


def require(req, *names):
    for name in names:
        if not req.get(name):
            raise ReturnFail(f"缺少参数{name}")


def positive_int(req, name):
    value = req.get(name, "")
    if not value.isdigit() or int(value) <= 0:
        raise ResultFail("PARAM_ERROR", f"{name}参数格式错误")
    return int(value)


class OrderBook:
    def __init__(self, store):
        self.store, self.lock = store, store.lock
        self.reset()

    def reset(self):
        with self.lock:
            self.orders, self.by_transaction, self.refunds = {}, {}, {}

    # -- unifiedorder ----------------------------------------------------
    def unifiedorder(self, req, sign_type):
        require(req, "body", "out_trade_no", "total_fee", "spbill_create_ip",
                "notify_url", "trade_type")
        positive_int(req, "total_fee")
        if req["trade_type"] not in TRADE_TYPES:
            raise ResultFail("PARAM_ERROR", "trade_type参数格式错误")
        if req["trade_type"] == "JSAPI":
            require(req, "openid")
            if not self.store.is_known_openid(req["openid"]):
                raise ResultFail("PARAM_ERROR", "appid和openid不匹配")
        with self.lock:
            order = self.orders.get(req["out_trade_no"])
            if order is None:
                order = self._create(req, sign_type)
            self._check_reusable(order, req)
            return {"trade_type": order["trade_type"], "prepay_id": order["prepay_id"],
                    "code_url": order.get("code_url")}

    def _create(self, req, sign_type):
        now = self.store.now()
        identity = _identity(req)
        order = dict(identity, identity=identity)
        order.update(
            out_trade_no=req["out_trade_no"], total_fee=int(req["total_fee"]),
            notify_url=req["notify_url"], sign_type=sign_type, state="NOTPAY",
            prepay_id="wx" + beijing(now) + secrets.token_hex(10),
            created_at=now, transaction_id=None,
            planned_transaction_id="4200" + beijing(now)[:8] + _digits(16), time_end=None,
            paid_at=None, refunds=[],
            bank_type=None, fee_type=req.get("fee_type") or "CNY")
        if req["trade_type"] == "NATIVE":
            order["code_url"] = "weixin://wxpay/bizpayurl?pr=" + secrets.token_urlsafe(6)
        self.orders[order["out_trade_no"]] = order
        return order

    @staticmethod
    def _check_reusable(order, req):
        if order["state"] in ("SUCCESS", "REFUND"):
            raise ResultFail("ORDERPAID", "该订单已支付")
        if order["state"] == "CLOSED":
            raise ResultFail("ORDERCLOSED", "该订单已关")
        if order["identity"] != _identity(req):
            raise ResultFail("OUT_TRADE_NO_USED", "商户订单号重复")

    # -- lookup ----------------------------------------------------------
    def find(self, req):
        """The order named by transaction_id (preferred) or out_trade_no."""
        if not (req.get("transaction_id") or req.get("out_trade_no")):
            raise ReturnFail("缺少参数out_trade_no")
        with self.lock:
            key = self.by_transaction.get(req.get("transaction_id"), req.get("out_trade_no"))
            order = self.orders.get(key)
        if order is None:
            raise ResultFail("ORDERNOTEXIST", "订单不存在")
        return order

    def get(self, out_trade_no):
        with self.lock:
            order = self.orders.get(out_trade_no)
            return None if order is None else dict(order, refunds=list(order["refunds"]))

    def query(self, req):
        with self.lock:
            order = self.find(req)
            answer = {key: order[key] for key in ("out_trade_no", "total_fee", "fee_type",
                                                   "trade_type", "openid", "attach")}
            answer.update(trade_state=order["state"], trade_state_desc=STATE_DESC[order["state"]],
                          device_info=order["device_info"])
            if order["transaction_id"]:
                answer.update(transaction_id=order["transaction_id"], time_end=order["time_end"],
                              cash_fee=order["total_fee"], bank_type=order["bank_type"],
                              is_subscribe="N")
            return answer

    def close(self, req):
        require(req, "out_trade_no")
        min_age = self.store.config.close_min_age
        with self.lock:
            order = self.find(req)
            if order["state"] in ("SUCCESS", "REFUND"):
                raise ResultFail("ORDERPAID", "订单已支付，不能发起关单")
            if order["state"] == "CLOSED":
                raise ResultFail("ORDERCLOSED", "订单已关闭")
            if self.store.now() - order["created_at"] < min_age:
                raise ResultFail("SYSTEMERROR", "订单生成后不能马上调用关单接口")
            order["state"] = "CLOSED"
            return {}

    # -- payment (control API) -------------------------------------------
    def pay(self, out_trade_no, success=True):
        """Mark the order paid (or failed); paying a paid order just returns it."""
        with self.lock:
            order = self.orders.get(out_trade_no)
            if order is None:
                raise LookupError("unknown out_trade_no")
            if order["state"] == "CLOSED":
                raise ValueError("order is closed")
            if order["state"] in ("NOTPAY", "PAYERROR"):
                self._settle(order, success)
            return dict(order)

    def _settle(self, order, success):
        if not success:
            order["state"] = "PAYERROR"
            return
        now = self.store.now()
        order.update(state="SUCCESS", transaction_id=order["planned_transaction_id"],
                     time_end=beijing(now), paid_at=now, bank_type="OTHERS")
        self.by_transaction[order["transaction_id"]] = order["out_trade_no"]
