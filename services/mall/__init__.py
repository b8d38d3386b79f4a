"""The points mall: goods, orders in points or points plus cash, and the points lottery (积分抽奖).

Other areas may call nothing here; the payment service calls back orders.PAYMENT_HOOKS for the
payments the mall opens (kind `mall`). An order's points move through the ledger (spent, or held
then posted or released), its stock by conditional updates that never go below zero, and its cash
through the payment service (notify, time-out, refund). A lottery draw spends points, draws among the
prizes still in stock with a cryptographic random source, takes the prize's stock by a conditional
update, pays the prize and records the draw, in one transaction under the member's lock (which keeps
the daily limit under parallel draws). audit-ledger checks stock, holds, codes and draws.
"""
from services.platform.areas import Area, Periodic

AREA = Area("mall",
            periodic=(Periodic("mall.complete_received", "services.mall.orders.complete_received", 600),),
            audit_checks={"lottery": "services.mall.lotteries.audit_problems",
                          "mall": "services.mall.audit.audit_problems"},
            payment_kinds={"mall": "services.mall.orders.PAYMENT_HOOKS"},
            rebuilders={"sold_out": "services.mall.sold_out.rebuild_marks"},
            repairers={"sold_out": "services.mall.sold_out.repair_marks"})
