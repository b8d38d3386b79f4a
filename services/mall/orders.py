"""Mall orders: redeeming goods for points, or points plus cash through WeChat Pay, and the order's
life: pending_payment → paid → shipped → completed, or cancelled / refunded.

Pure points: the points spent, the stock taken, the order written, the goods delivered and the
`mall_redeemed` event in one transaction. Points plus cash: the points held, the stock reserved and a
payment opened in one transaction, then the JSAPI order placed; the payment service settles it and
calls back here (PAYMENT_HOOKS): paid (the hold posted, the goods delivered), closed (unpaid at its
time-out or cancelled: hold and stock released), refunded (points, stock and coupons back). A
payment that comes after the close is refunded in full by the payment service.

Locks: an order paid in cash is changed only under its payment's row lock, taken first (the payment
service holds it when it calls back); a pure-points order under its own. Then the member, the points
account, and the goods row last: its conditional update is the statement winners queue on, so it
comes just before the commit, and a plain read answers out-of-stock before any lock is taken.
"""
import logging
from datetime import timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import select, update

from models import Goods, Level, MallOrder, Member, Payment, VirtualCode, db
from models.mall import LIVE_ORDER_STATUSES
from services.coupons import coupons
from services.ledger import points
from services.mall import goods as catalogue, sold_out
from services.platform.lock_order import lock_member
from services.messages import messages
from services.payments import payments, refunds
from services.platform import audit_trail, business_keys, clock, ratelimit
from services.platform.db import get_row, lock_all, lock_one, lock_row, transaction
from services.platform.errors import Conflict, Forbidden, InvalidRequest, NotFound, WeChatError
from services.platform.pagination import page
from services import events

log = logging.getLogger(__name__)

ORDERS_PER_MEMBER, ORDER_WINDOW = 20, 60  # orders a member may place a minute
SHIPPED_MESSAGE_PAGE = "pages/mall/order?id={id}"


class LimitReached(Conflict):
    code = "limit_reached"


class NotOnSale(Conflict):
    code = "not_on_sale"
    message = "These goods are not on sale now."


# -- placing -------------------------------------------------------------------------------------

def place_order(member_id: int, *, goods_id: int, quantity: int, address: dict | None,
                client_ip: str) -> tuple[MallOrder, dict | None]:
    """Redeem `quantity` units: the order and, when it costs cash, the wx.requestPayment parameters."""
    ratelimit.check("mall-order", str(member_id), limit=ORDERS_PER_MEMBER, window=ORDER_WINDOW)
    goods = _orderable(goods_id, quantity, address)
    with transaction():
        locked = lock_member(member_id)
        locked.require_active()
        level = db.session.get(Level, locked.level_id) if locked.level_id else None
        _require_level(goods, level)
        _require_within_limit(goods, member_id, quantity)
        order = _new_order(member_id, goods, quantity, address, discount_pct=level.mall_discount_pct if level else 100)
        if order.amount_fen:
            payment = _reserve(order, goods)
        else:
            _redeem_for_points(order, goods)
    if not order.amount_fen:
        return order, None
    openid = db.session.get(Member, member_id).openid
    pay = payments.request_order(payment, openid=openid, client_ip=client_ip)  # its failure cancels the order
    return order, pay


def _orderable(goods_id: int, quantity: int, address: dict | None) -> Goods:
    """The goods, checked before any lock: on sale, within the order's limit, in stock as last committed
    (a loser of a flash sale is answered here, without waiting for the winners' lock: by the sold-out
    mark in Redis, without asking SQL, once the last unit is gone)."""
    if sold_out.is_marked(goods_id):
        raise catalogue.OutOfStock(details={"goods_id": goods_id, "stock": 0})
    goods = catalogue.get_goods(goods_id)
    if goods.status != "on_sale":
        raise NotFound("No such goods.")
    if not catalogue.on_sale(goods):
        raise NotOnSale(details={"starts_at": _iso(goods.starts_at), "ends_at": _iso(goods.ends_at)})
    if quantity > goods.per_order_limit:
        raise LimitReached(f"At most {goods.per_order_limit} in one order.",
                           details={"per_order_limit": goods.per_order_limit})
    if goods.kind == "physical" and not address:
        raise InvalidRequest("Physical goods are shipped: send the address wx.chooseAddress gives.",
                             details={"address": ["Missing data for required field."]})
    if goods.stock < quantity:
        raise catalogue.OutOfStock(details={"goods_id": goods.id, "stock": goods.stock})
    return goods


def _iso(value):
    return value.isoformat() if value else None


def _require_level(goods: Goods, level: Level | None) -> None:
    if goods.min_level_id is None:
        return
    needed = db.session.get(Level, goods.min_level_id)
    if needed is not None and (level is None or level.threshold < needed.threshold):
        raise Forbidden(f"These goods are for members of level {needed.name} and above.",
                        details={"min_level": needed.code})


def _require_within_limit(goods: Goods, member_id: int, quantity: int) -> None:
    """Counted under the member's lock, so that parallel orders of one member cannot both pass."""
    if goods.per_member_limit is None:
        return
    ordered = catalogue.units_ordered(member_id, [goods.id]).get(goods.id, 0)
    if ordered + quantity > goods.per_member_limit:
        raise LimitReached(f"At most {goods.per_member_limit} per member.",
                           details={"per_member_limit": goods.per_member_limit, "limit_left":
                                    max(goods.per_member_limit - ordered, 0)})


def _new_order(member_id: int, goods: Goods, quantity: int, address: dict | None, *, discount_pct: int) -> MallOrder:
    amount = catalogue.cash_fen(goods, quantity, discount_pct)
    order = MallOrder(order_no=business_keys.serial_number("M"), member_id=member_id, goods_id=goods.id,
                      goods_name=goods.name, kind=goods.kind, quantity=quantity, points=goods.price_points * quantity,
                      amount_fen=amount, discount_fen=goods.price_fen * quantity - amount, status="pending_payment",
                      address=address if goods.kind == "physical" else None, coupon_codes=[], created_at=clock.now())
    db.session.add(order)
    db.session.flush()
    return order


def _redeem_for_points(order: MallOrder, goods: Goods) -> None:
    points.spend(order.member_id, order.points, reason="mall", business_key=_spend_key(order),
                 reference=_reference(order))
    _redeemed(order)
    catalogue.take(goods.id, order.quantity, reserve=False)
    _deliver(order, goods)


def _reserve(order: MallOrder, goods: Goods) -> Payment:
    payment = payments.open_payment(order.member_id, amount_fen=order.amount_fen, kind="mall",
                                    description=f"积分商城 {goods.name}")
    order.payment_id, order.expires_at = payment.id, payment.expires_at
    if order.points:
        points.hold(order.member_id, order.points, reason="mall", business_key=_hold_key(order),
                    reference=_reference(order))
    catalogue.take(goods.id, order.quantity, reserve=True)
    return payment


def _spend_key(order: MallOrder) -> str:
    return f"mall:{order.order_no}"


def _hold_key(order: MallOrder) -> str:
    return f"mall:{order.order_no}:hold"


def _reference(order: MallOrder) -> str:
    return f"mall_order:{order.id}"


def _redeemed(order: MallOrder) -> None:
    events.emit(order.member_id, "mall_redeemed", business_key=_spend_key(order), reference=_reference(order),
                payload={"goods_id": order.goods_id, "quantity": order.quantity, "points": order.points,
                         "amount_fen": order.amount_fen})


def _deliver(order: MallOrder, goods: Goods) -> None:
    """Hand over what was paid for: coupons and codes at once (the order is then completed); physical
    goods wait to be shipped."""
    now = clock.now()
    order.paid_at = now
    if goods.kind == "coupon":
        order.coupon_codes = [coupon.code for unit in range(order.quantity) for coupon in coupons.issue_whole_pack(
            order.member_id, goods.coupon_pack_id, source="mall", business_key=f"{_spend_key(order)}:{unit}",
            source_ref=_reference(order))]
    elif goods.kind == "virtual":
        codes = lock_all(select(VirtualCode).where(
            VirtualCode.goods_id == goods.id, VirtualCode.status == "available")
            .order_by(VirtualCode.id).limit(order.quantity), skip_locked=True)
        if len(codes) < order.quantity:
            raise RuntimeError(f"goods {goods.id}: stock counts more units than codes are left")
        for code in codes:
            code.status, code.order_id, code.delivered_at = "delivered", order.id, now
    order.status = "paid" if goods.kind == "physical" else "completed"
    if order.status == "completed":
        order.completed_at = now


def award_prize(member_id: int, goods_id: int) -> MallOrder:
    """A lottery's goods prize: a free order of one unit, its stock already taken by the draw; coupons
    and codes delivered at once, physical goods shipped once the member gives an address."""
    goods = db.session.get(Goods, goods_id)
    order = _new_order(member_id, goods, 1, None, discount_pct=100)
    order.points, order.amount_fen, order.discount_fen = 0, 0, 0
    _deliver(order, goods)
    return order


def set_address(member_id: int, order_id: int, address: dict) -> MallOrder:
    """Where a paid physical order goes (a goods prize has none yet); changeable until it is shipped."""
    order = member_order(member_id, order_id)
    with transaction():
        changed = db.session.execute(update(MallOrder).where(
            MallOrder.id == order.id, MallOrder.status == "paid", MallOrder.kind == "physical").values(
            address=address).execution_options(synchronize_session=False))
        if changed.rowcount != 1:
            raise Conflict(f"A {order.status.replace('_', ' ')} {order.kind} order's address cannot change.",
                           code="not_changeable", details={"status": order.status})
    db.session.refresh(order)
    return order


# -- what the payment service calls back (payments.kinds) -----------------------------------

def _order_of(payment: Payment) -> MallOrder:
    return lock_one(select(MallOrder).where(MallOrder.payment_id == payment.id))


def _paid(payment: Payment) -> None:
    """The cash arrived: spend the held points, sell the reserved units, deliver."""
    order = _order_of(payment)
    if order.status != "pending_payment":
        return
    if order.points:
        points.post(_hold_key(order), business_key=_spend_key(order))
    _redeemed(order)
    catalogue.sell_reserved(order.goods_id, order.quantity)
    _deliver(order, db.session.get(Goods, order.goods_id))


def _closed(payment: Payment) -> None:
    """Unpaid at its time-out, cancelled by the member, or no order at WeChat: give everything back."""
    order = _order_of(payment)
    if order.status != "pending_payment":
        return
    if order.points:
        points.release(_hold_key(order))
    catalogue.release_reserved(order.goods_id, order.quantity)
    order.status, order.cancelled_at = "cancelled", clock.now()


def _refunded(payment: Payment, refund) -> None:
    _give_back(_order_of(payment))


PAYMENT_HOOKS = SimpleNamespace(paid=_paid, closed=_closed, refunded=_refunded)


def _give_back(order: MallOrder) -> None:
    """A refunded order: points back to the lots they came from, coupons revoked, codes voided (they were
    shown: never handed out again), units back in stock."""
    if order.status == "refunded":
        return
    if order.points:
        points.reverse(_spend_key(order), business_key=f"mall-refund:{order.order_no}", reason="mall_refund")
    if order.coupon_codes:
        coupons.revoke_unused(_reference(order), reason="order refunded")
    db.session.execute(update(VirtualCode).where(VirtualCode.order_id == order.id).values(status="void")
                       .execution_options(synchronize_session=False))
    catalogue.give_back_sold(order.goods_id, order.quantity, restock=order.kind != "virtual")
    order.status, order.refunded_at = "refunded", clock.now()


# -- the member ----------------------------------------------------------------------------------

def member_order(member_id: int, order_id: int) -> MallOrder:
    """One of the member's own orders, brought up to date (anyone else's is not found)."""
    order = get_row(MallOrder, order_id, missing="No such order.", owner=member_id)
    _bring_up_to_date([order])
    return order


def member_orders(member_id: int, *, status: str | None, limit: int, cursor: str | None) -> dict:
    stmt = select(MallOrder).where(MallOrder.member_id == member_id)
    if status:
        stmt = stmt.where(MallOrder.status == status)
    found = page(db.session, stmt, id_column=MallOrder.id, limit=limit, cursor=cursor)
    _bring_up_to_date(found["items"])
    return found


def _bring_up_to_date(orders: list[MallOrder]) -> None:
    """The time-outs, enforced as orders are read, so that a stopped worker leaves nothing stuck: an
    unpaid order past its expiry is settled or closed (WeChat is asked), a shipped one past the
    confirmation days completed."""
    now = clock.now()
    for order in orders:
        if order.status == "pending_payment" and order.expires_at and order.expires_at <= now:
            try:
                payments.settle_or_expire(order.payment_id)
            except WeChatError:  # asked again by reconcile, and at the next read
                log.warning("order %s: WeChat could not be asked about its payment", order.order_no)
        elif order.status == "shipped" and order.shipped_at <= now - _confirmation_period():
            complete_received(order_id=order.id)
        else:
            continue
        db.session.refresh(order)


def cancel_order(member_id: int, order_id: int) -> MallOrder:
    """The member gives up an unpaid order: the WeChat order is closed, points and stock released. An
    order WeChat says was paid meanwhile is settled instead (409)."""
    order = member_order(member_id, order_id)
    if order.status == "pending_payment":
        payments.close_unless_paid(order.payment_id)
        db.session.refresh(order)
    if order.status != "cancelled":
        raise Conflict(f"A {order.status.replace('_', ' ')} order cannot be cancelled.", code="not_cancellable",
                       details={"status": order.status})
    return order


def confirm_received(member_id: int, order_id: int) -> MallOrder:
    """The member confirms a shipped order arrived: completed."""
    order = member_order(member_id, order_id)
    if order.status != "completed" and not _complete(MallOrder.id == order.id):
        raise Conflict(f"A {order.status.replace('_', ' ')} order cannot be confirmed.", code="not_shipped",
                       details={"status": order.status})
    db.session.refresh(order)
    return order


def complete_received(order_id: int | None = None) -> int:
    """Complete shipped orders MALL_CONFIRM_DAYS after shipping (the periodic job, and reads); how many."""
    cutoff = clock.now() - _confirmation_period()
    condition = MallOrder.shipped_at <= cutoff
    if order_id is not None:
        condition &= MallOrder.id == order_id
    return _complete(condition)


def _complete(condition) -> int:
    with transaction():
        return db.session.execute(update(MallOrder).where(condition, MallOrder.status == "shipped").values(
            status="completed", completed_at=clock.now()).execution_options(synchronize_session=False)).rowcount


def _confirmation_period() -> timedelta:
    return timedelta(days=current_app.config["MALL_CONFIRM_DAYS"])


def delivered_codes(order: MallOrder) -> list[dict]:
    return [{"code": code.code, "status": code.status} for code in db.session.scalars(
        select(VirtualCode).where(VirtualCode.order_id == order.id).order_by(VirtualCode.id))]


# -- operators -----------------------------------------------------------------------------------

def find_orders(*, status: str | None, member_id: int | None, goods_id: int | None, limit: int,
                cursor: str | None) -> dict:
    stmt = select(MallOrder)
    for column, value in ((MallOrder.status, status), (MallOrder.member_id, member_id), (MallOrder.goods_id, goods_id)):
        if value:
            stmt = stmt.where(column == value)
    return page(db.session, stmt, id_column=MallOrder.id, limit=limit, cursor=cursor)


def get_order(order_id: int) -> MallOrder:
    return get_row(MallOrder, order_id, missing="No such order.")


def ship_order(operator, order_id: int, *, tracking_no: str) -> MallOrder:
    """Ship a paid physical order (audited) and tell the member (order_shipped, through the outbox).
    Shipping it again with the same tracking number changes nothing."""
    order = get_order(order_id)
    if order.status == "shipped" and order.tracking_no == tracking_no:
        return order
    with transaction():
        now = clock.now()
        shipped = db.session.execute(update(MallOrder).where(
            MallOrder.id == order.id, MallOrder.status == "paid", MallOrder.kind == "physical").values(
            status="shipped", tracking_no=tracking_no, shipped_at=now).execution_options(synchronize_session=False))
        if shipped.rowcount != 1 or not order.address:  # an address is only ever added: read it once
            raise Conflict(f"A {order.status.replace('_', ' ')} {order.kind} order cannot be shipped"
                           f"{'' if order.address else ' (it has no address yet)'}.",
                           code="not_shippable", details={"status": order.status, "kind": order.kind})
        audit_trail.record(operator.id, "order.ship", target_type="mall_order", target_id=order.id, reason=None,
                           details={"tracking_no": tracking_no})
        messages.enqueue(order.member_id, "order_shipped", {
            "thing1": messages.thing(order.goods_name), "character_string2": messages.character_string(tracking_no),
            "time3": messages.time(now)}, business_key=f"msg:shipped:{order.order_no}",
            page=SHIPPED_MESSAGE_PAGE.format(id=order.id))
    db.session.refresh(order)
    return order


def refund_order(operator, order_id: int, *, reason: str, request_key: str) -> MallOrder:
    """Refund a paid order in full (audited): the cash through WeChat Pay (the order is refunded when
    WeChat confirms it, by its refund notify or reconcile), points back to their lots, stock back."""
    order = get_order(order_id)
    if order.payment_id is None:
        _refund_points_order(operator, order.id, reason)
        return get_order(order_id)
    with transaction():
        payment = payments.lock_payment(order.payment_id)
        order = _refundable(order.id)
        refund = refunds.open_refund(payment, amount_fen=order.amount_fen, reason=reason,
                                     request_key=f"mall:{order.id}:{operator.id}:{request_key}",
                                     operator_id=operator.id)
        order.refund_id, order.refund_reason = refund.id, reason
        audit_trail.record_once(operator.id, "order.refund", target_type="refund", target_id=refund.id,
                                reason=reason, details={"order_id": order.id, "amount_fen": order.amount_fen,
                                                        "points": order.points})
    refunds.send(refund.id)
    db.session.refresh(order)
    return order


def _refund_points_order(operator, order_id: int, reason: str) -> None:
    with transaction():
        order = _refundable(order_id)
        order.refund_reason = reason
        _give_back(order)
        audit_trail.record(operator.id, "order.refund", target_type="mall_order", target_id=order.id, reason=reason,
                           details={"points": order.points})


def _refundable(order_id: int) -> MallOrder:
    order = lock_row(MallOrder, order_id)
    if order.status not in LIVE_ORDER_STATUSES:
        raise Conflict(f"A {order.status.replace('_', ' ')} order cannot be refunded.", code="not_refundable",
                       details={"status": order.status})
    if order.coupon_codes and coupons.any_used(order.coupon_codes):
        raise Conflict("A coupon of this order was used: it cannot be refunded.", code="not_refundable",
                       details={"reason": "coupon_used"})
    return order
