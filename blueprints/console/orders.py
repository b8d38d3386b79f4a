"""Console pages for mall orders: the list by status (as GET /admin/orders), an order's page where an admin
ships it with a tracking number or refunds it (once per form) through the API's schemas and audited
services, and the payments a person must look at (as GET /admin/payments?attention=true)."""
from flask import g, url_for

from blueprints.admin.mall import OperatorOrderArgsSchema, OrderRefundSchema, ShipSchema
from blueprints.console.base import answer_form, bp, menu_entry, operator_page, render
from blueprints.console.forms import form_for, submit
from blueprints.console.i18n import words
from blueprints.console.keyed import keyed, once
from blueprints.console.query import load_query
from models.mall import ORDER_STATUSES
from services.mall import orders as mall_orders
from services.payments import payments
from services.platform.replica import for_reports

words({"Order": "订单", "Ship": "发货", "Refund": "退款", "tracking_no": "快递单号", "status": "状态",
       "member_id": "会员 ID", "goods_id": "商品 ID", "quantity": "数量", "address": "收货地址",
       "pending_payment": "待支付", "paid": "已支付", "shipped": "已发货", "completed": "已完成",
       "cancelled": "已取消", "refunded": "已退款", "refund_reason": "退款原因", "paid_at": "支付时间",
       "shipped_at": "发货时间", "Payments needing a person": "待人工处理的支付", "attention": "问题",
       "total_fen": "金额（分）", "Filter": "筛选", "All": "全部", "discount_fen": "等级折扣（分）"})

ORDER_COLUMNS = ("id", "order_no", "member_id", "goods_name", "kind", "status", "points", "amount_fen",
                 "tracking_no", "created_at")
PAYMENT_COLUMNS = ("id", "member_id", "status", "attention", "created_at")


@bp.get("/orders")
@menu_entry("", "Orders")
@operator_page
@for_reports
def orders():
    args, errors = load_query(OperatorOrderArgsSchema(), limit=50)
    listing = mall_orders.find_orders(**args) if not errors else {"items": [], "next_cursor": None}
    return render("orders.html", 422 if errors else 200, listing=listing, columns=ORDER_COLUMNS, errors=errors,
                  chosen=args.get("status"), statuses=ORDER_STATUSES, payments=payments.find_payments(
                  status=None, member_id=None, attention=True, limit=20, cursor=None),
                  payment_columns=PAYMENT_COLUMNS)


@bp.get("/orders/<int:order_id>")
@operator_page
def order(order_id):
    return render("order.html", **_page(order_id))


@bp.post("/orders/<int:order_id>/ship")
@operator_page(write=True)
def ship_order(order_id):
    mall_orders.get_order(order_id)
    _, form = submit(ShipSchema(), lambda args: mall_orders.ship_order(g.operator, order_id, **args))
    return answer_form(form, done=url_for("console.order", order_id=order_id), page="order.html",
                       **_page(order_id, ship_form=form))


@bp.post("/orders/<int:order_id>/refund")
@operator_page(write=True)
def refund_order(order_id):
    mall_orders.get_order(order_id)
    _, form = submit(OrderRefundSchema(), once(lambda args, key: mall_orders.refund_order(
        g.operator, order_id, reason=args["reason"], request_key=key)))
    return answer_form(form if form.ok else keyed(form), done=url_for("console.order", order_id=order_id),
                       page="order.html", **_page(order_id, refund_form=form))


def _page(order_id: int, **forms) -> dict:
    return {"order": mall_orders.get_order(order_id), "columns": ORDER_COLUMNS,
            "ship_form": forms.get("ship_form") or form_for(ShipSchema()),
            "refund_form": forms.get("refund_form") or keyed(form_for(OrderRefundSchema()))}
