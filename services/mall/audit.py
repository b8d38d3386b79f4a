"""audit-ledger's mall checks: each goods' stock against its orders, every order's points against the
ledger (a paid order's hold posted once, a cancelled one's released once), and virtual codes never
handed out twice."""
from collections import defaultdict

from sqlalchemy import func, select

from models import Goods, MallOrder, PointsEntry, PointsHold, VirtualCode, db
from models.mall import LIVE_ORDER_STATUSES

PAID_ONCE = (*LIVE_ORDER_STATUSES, "refunded")  # orders whose points were spent (and, if refunded, given back)
HOLD_STATE = {"pending_payment": "open", "cancelled": "released", **{status: "posted" for status in PAID_ONCE}}


def audit_problems() -> list[str]:
    return _stock_problems() + _points_problems() + _code_problems()


def _stock_problems() -> list[str]:
    units = defaultdict(lambda: {"reserved": 0, "sold": 0})
    for goods_id, status, quantity in db.session.execute(
            select(MallOrder.goods_id, MallOrder.status, func.sum(MallOrder.quantity))
            .group_by(MallOrder.goods_id, MallOrder.status)):
        if status == "pending_payment":
            units[goods_id]["reserved"] += quantity
        elif status in LIVE_ORDER_STATUSES:
            units[goods_id]["sold"] += quantity
    problems = []
    for goods in db.session.execute(select(Goods.id, Goods.total, Goods.stock, Goods.reserved, Goods.sold)):
        if goods.stock < 0:
            problems.append(f"goods {goods.id}: stock {goods.stock} is below zero")
        if goods.stock + goods.reserved + goods.sold != goods.total:
            problems.append(f"goods {goods.id}: stock {goods.stock} + reserved {goods.reserved} + sold {goods.sold} "
                            f"!= total {goods.total}")
        for what in ("reserved", "sold"):
            if getattr(goods, what) != units[goods.id][what]:
                problems.append(f"goods {goods.id}: {what} {getattr(goods, what)} but its orders add up to "
                                f"{units[goods.id][what]}")
    return problems


def _points_problems() -> list[str]:
    """A cash order's hold in the state its order says, posted by exactly one entry when paid; a
    pure-points order's spend written once; a refunded order's points given back once."""
    orders = db.session.execute(select(MallOrder.id, MallOrder.order_no, MallOrder.status, MallOrder.points,
                                       MallOrder.payment_id).where(MallOrder.points > 0)).all()
    holds = {key: (status, hold_id) for key, status, hold_id in db.session.execute(
        select(PointsHold.business_key, PointsHold.status, PointsHold.id).where(
            PointsHold.business_key.like("mall:%:hold")))}
    posted = dict(db.session.execute(select(PointsEntry.hold_id, func.count()).where(
        PointsEntry.hold_id.in_([hold_id for _, hold_id in holds.values()])).group_by(PointsEntry.hold_id)).all())
    entries = dict(db.session.execute(select(PointsEntry.business_key, PointsEntry.delta).where(
        PointsEntry.business_key.like("mall%"))).all())
    problems = []
    for order in orders:
        spent = entries.get(f"mall:{order.order_no}", 0)
        if order.payment_id is not None:
            status, hold_id = holds.get(f"mall:{order.order_no}:hold", (None, None))
            if status != HOLD_STATE[order.status]:
                problems.append(f"mall order {order.id} ({order.status}): its hold is {status}, "
                                f"{HOLD_STATE[order.status]} expected")
            if posted.get(hold_id, 0) != (1 if order.status in PAID_ONCE else 0):
                problems.append(f"mall order {order.id} ({order.status}): its hold was posted "
                                f"{posted.get(hold_id, 0)} times")
        expected = -order.points if order.status in PAID_ONCE else 0
        if spent != expected:
            problems.append(f"mall order {order.id} ({order.status}): {spent} points spent, {expected} expected")
        given_back = entries.get(f"mall-refund:{order.order_no}", 0)
        if given_back != (order.points if order.status == "refunded" else 0):
            problems.append(f"mall order {order.id} ({order.status}): {given_back} points given back")
    return problems


def _code_problems() -> list[str]:
    """Each virtual order holds as many codes as units once paid (none before, none after a cancel),
    a code belongs to its goods' order, and a virtual goods' stock is its codes still available."""
    held = dict(db.session.execute(select(VirtualCode.order_id, func.count()).where(
        VirtualCode.order_id.is_not(None)).group_by(VirtualCode.order_id)).all())
    problems = [f"mall order {order.id} ({order.status}): {held.get(order.id, 0)} codes for {order.quantity} units"
                for order in db.session.execute(select(MallOrder.id, MallOrder.status, MallOrder.quantity)
                                                .where(MallOrder.kind == "virtual"))
                if held.get(order.id, 0) != (order.quantity if order.status in PAID_ONCE else 0)]
    problems += [f"virtual code {code_id}: handed to order {order_id} of other goods"
                 for code_id, order_id in db.session.execute(
                     select(VirtualCode.id, VirtualCode.order_id).join(MallOrder, MallOrder.id == VirtualCode.order_id)
                     .where(MallOrder.goods_id != VirtualCode.goods_id))]
    available = dict(db.session.execute(select(VirtualCode.goods_id, func.count()).where(
        VirtualCode.status == "available").group_by(VirtualCode.goods_id)).all())
    problems += [f"virtual goods {goods.id}: stock {goods.stock} + reserved {goods.reserved} but "
                 f"{available.get(goods.id, 0)} codes available"
                 for goods in db.session.execute(select(Goods.id, Goods.stock, Goods.reserved).where(Goods.kind == "virtual"))
                 if goods.stock + goods.reserved != available.get(goods.id, 0)]
    return problems
