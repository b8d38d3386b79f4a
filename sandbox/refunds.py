"""WeChat Pay v2 refunds on top of the OrderBook."""
import secrets

from .orders import ResultFail, ReturnFail, beijing, positive_int, require

DEFAULT_ACCOUNT = "REFUND_SOURCE_UNSETTLED_FUNDS"
MISMATCH = "订单金额或退款金额与之前请求不一致，请核实后再试"


class RefundBook:
    def __init__(self, orders):
        self.orders, self.lock, self.store = orders, orders.lock, orders.store

    @property
    def refunds(self):
        return self.orders.refunds

    def apply(self, req):
        require(req, "out_refund_no", "total_fee", "refund_fee")
        total_fee, refund_fee = positive_int(req, "total_fee"), positive_int(req, "refund_fee")
        with self.lock:
            order = self.orders.find(req)
            refund = self.refunds.get(req["out_refund_no"])
            if refund is not None:
                same = (refund["out_trade_no"], refund["total_fee"], refund["refund_fee"])
                if same != (order["out_trade_no"], total_fee, refund_fee):
                    raise ResultFail("INVALID_REQUEST", MISMATCH)
                return self._answer(refund, order)
            self._check_refundable(order, total_fee, refund_fee)
            refund = self._create(order, req, refund_fee)
            return self._answer(refund, order)

    def _check_refundable(self, order, total_fee, refund_fee):
        if order["state"] not in ("SUCCESS", "REFUND"):
            raise ResultFail("TRADE_STATE_ERROR", "订单状态错误")
        if total_fee != order["total_fee"]:
            raise ResultFail("INVALID_REQUEST", MISMATCH)
        refunded = sum(self.refunds[no]["refund_fee"] for no in order["refunds"])
        if refunded + refund_fee > order["total_fee"]:
            raise ResultFail("NOTENOUGH", "订单可退金额不足")

    def _create(self, order, req, refund_fee, source="API"):
        now = self.store.now()
        refund_id = "5030" + beijing(now)[:8] + secrets.token_hex(9)
        refund = {
            "out_refund_no": req.get("out_refund_no") or refund_id,
            "out_trade_no": order["out_trade_no"],
            "transaction_id": order["transaction_id"], "total_fee": order["total_fee"],
            "refund_fee": refund_fee, "refund_id": refund_id,
            "refund_status": "SUCCESS", "success_time": beijing(now, "%Y-%m-%d %H:%M:%S"),
            "created_at": now, "refund_request_source": source,
            "notify_url": req.get("notify_url") or None, "refund_desc": req.get("refund_desc"),
            "refund_account": req.get("refund_account") or DEFAULT_ACCOUNT,
        }
        self.refunds[refund["out_refund_no"]] = refund
        order["refunds"].append(refund["out_refund_no"])
        order["state"] = "REFUND"
        return refund

    def merchant_refund(self, out_trade_no, refund_fee, out_refund_no=None):
        """A merchant-platform refund (not through the API); out_refund_no defaults to its refund_id."""
        with self.lock:
            order = self.orders.find({"out_trade_no": out_trade_no})
            if out_refund_no in self.refunds:
                raise ResultFail("INVALID_REQUEST", "商户退款单号重复")
            self._check_refundable(order, order["total_fee"], refund_fee)
            refund = self._create(order, {"out_refund_no": out_refund_no}, refund_fee,
                                  source="VENDOR_PLATFORM")
            return dict(refund)

    @staticmethod
    def _answer(refund, order):
        return {
            "transaction_id": order["transaction_id"], "out_trade_no": order["out_trade_no"],
            "out_refund_no": refund["out_refund_no"], "refund_id": refund["refund_id"],
            "refund_fee": refund["refund_fee"], "settlement_refund_fee": refund["refund_fee"],
            "total_fee": order["total_fee"], "settlement_total_fee": order["total_fee"],
            "fee_type": order["fee_type"], "cash_fee": order["total_fee"],
            "cash_refund_fee": refund["refund_fee"], "refund_channel": "ORIGINAL",
        }

    def set_outcome(self, out_refund_no, status):
        """WeChat's outcome of a refund: SUCCESS, CHANGE (the money could not go back) or REFUNDCLOSE."""
        with self.lock:
            self.refunds[out_refund_no]["refund_status"] = status

    def get(self, out_refund_no):
        with self.lock:
            refund = self.refunds.get(out_refund_no)
            return None if refund is None else dict(refund)

    def query(self, req):
        with self.lock:
            refunds = self._matching(req)
            order = self.orders.orders[refunds[0]["out_trade_no"]]
            answer = {"transaction_id": order["transaction_id"],
                      "out_trade_no": order["out_trade_no"], "total_fee": order["total_fee"],
                      "cash_fee": order["total_fee"], "refund_count": len(refunds)}
            for n, refund in enumerate(refunds):
                answer.update({
                    f"out_refund_no_{n}": refund["out_refund_no"],
                    f"refund_id_{n}": refund["refund_id"],
                    f"refund_fee_{n}": refund["refund_fee"],
                    f"refund_status_{n}": refund["refund_status"],
                    f"refund_success_time_{n}": refund["success_time"],
                    f"refund_recv_accout_{n}": "支付用户的零钱",
                    f"refund_account_{n}": refund["refund_account"],
                })
            return answer

    def _matching(self, req):
        refund_no = req.get("out_refund_no")
        if req.get("refund_id"):
            found = [r for r in self.refunds.values() if r["refund_id"] == req["refund_id"]]
        elif refund_no:
            found = [self.refunds[refund_no]] if refund_no in self.refunds else []
        elif req.get("transaction_id") or req.get("out_trade_no"):
            try:
                order = self.orders.find(req)
            except ResultFail:
                order = {"refunds": []}
            found = [self.refunds[no] for no in order["refunds"]]
        else:
            raise ReturnFail("缺少参数out_refund_no")
        if not found:
            raise ResultFail("REFUNDNOTEXIST", "退款订单查询失败")
        return found
