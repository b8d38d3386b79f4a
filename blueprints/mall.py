"""The points mall for members: goods, orders in points or points plus cash, cancel and receipt; the points
lottery: a lottery's prizes and odds, and a draw."""
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from blueprints.common import (PageArgsSchema, client_address, idempotent, listed, member_claims_optional,
                               member_optional, member_required, paged)
from blueprints.edge import Blueprint
from blueprints.inputs import Filter, Id
from models.lottery import PRIZE_KINDS
from models.mall import GOODS_KINDS, ORDER_STATUSES
from services.mall import goods as catalogue
from services.mall import lotteries, orders

blp = Blueprint("mall", __name__, url_prefix="/mall", description="Points mall")
lottery_blp = Blueprint("lottery", __name__, url_prefix="/lottery", description="Points lottery")
BLUEPRINTS = (blp, lottery_blp)

MAX_QUANTITY = 99


class GoodsSchema(Schema):
    id = fields.Integer(attribute="goods.id")
    name = fields.String(attribute="goods.name")
    description = fields.String(attribute="goods.description")
    images = fields.List(fields.String(), attribute="goods.images")
    category = fields.String(attribute="goods.category", allow_none=True)
    kind = fields.String(attribute="goods.kind", metadata={"enum": list(GOODS_KINDS)})
    price_points = fields.Integer(attribute="goods.price_points")
    price_fen = fields.Integer(attribute="goods.price_fen")
    stock = fields.Integer(attribute="goods.stock")
    per_order_limit = fields.Integer(attribute="goods.per_order_limit")
    per_member_limit = fields.Integer(attribute="goods.per_member_limit", allow_none=True)
    min_level = fields.String(allow_none=True, metadata={"description": "the code of the lowest level it is for"})
    starts_at = fields.DateTime(attribute="goods.starts_at", allow_none=True)
    ends_at = fields.DateTime(attribute="goods.ends_at", allow_none=True)
    on_sale = fields.Boolean()
    # for a signed-in member
    member_price_fen = fields.Integer(metadata={"description": "the cash part of one unit after the level's discount"})
    affordable = fields.Boolean(metadata={"description": "the member has the points for one unit"})
    locked_by_level = fields.Boolean()
    limit_left = fields.Integer(allow_none=True, metadata={"description": "units the member may still order; "
                                                                          "null: no limit"})


class GoodsArgsSchema(PageArgsSchema):
    category = fields.String(load_default=None, validate=validate.Length(min=1, max=32))


class AddressSchema(Schema):
    """What wx.chooseAddress returns."""

    userName = fields.String(required=True, validate=validate.Length(min=1, max=64))
    telNumber = fields.String(required=True, validate=validate.Length(min=1, max=32))
    provinceName = fields.String(required=True, validate=validate.Length(min=1, max=32))
    cityName = fields.String(required=True, validate=validate.Length(min=1, max=32))
    countyName = fields.String(required=True, validate=validate.Length(max=32))
    detailInfo = fields.String(required=True, validate=validate.Length(min=1, max=255))
    postalCode = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=16))
    nationalCode = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=16))
    streetName = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class OrderCreateSchema(Schema):
    goods_id = Id(required=True)
    quantity = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=MAX_QUANTITY))
    address = fields.Nested(AddressSchema, load_default=None, allow_none=True,
                            metadata={"description": "required for physical goods"})


class OrderSchema(Schema):
    id = fields.Integer()
    order_no = fields.String()
    goods_id = fields.Integer()
    goods_name = fields.String()
    kind = fields.String(metadata={"enum": list(GOODS_KINDS)})
    quantity = fields.Integer()
    status = fields.String(metadata={"enum": list(ORDER_STATUSES)})
    points = fields.Integer()
    amount_fen = fields.Integer()
    discount_fen = fields.Integer(metadata={"description": "the level's discount on the cash part"})
    payment_id = fields.Integer(allow_none=True)
    address = fields.Dict(allow_none=True)
    tracking_no = fields.String(allow_none=True)
    coupons = fields.List(fields.String(), attribute="coupon_codes")
    codes = fields.Method("_codes", metadata={"description": "a virtual goods' codes, once paid"})
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True, metadata={"description": "unpaid after this: cancelled"})
    paid_at = fields.DateTime(allow_none=True)
    shipped_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    refunded_at = fields.DateTime(allow_none=True)

    def _codes(self, order):
        return orders.delivered_codes(order) if order.kind == "virtual" and order.paid_at else []


class OrderPlacedSchema(Schema):
    order = fields.Nested(OrderSchema)
    pay = fields.Dict(allow_none=True, metadata={"description": "wx.requestPayment's parameters; null: paid in points"})


class OrderArgsSchema(PageArgsSchema):
    status = Filter(ORDER_STATUSES)


@blp.route("/goods")
class GoodsList(MethodView):
    @member_claims_optional
    @paged(blp, GoodsSchema, "GoodsPage", GoodsArgsSchema)
    def get(self, args):
        """Goods on sale now, newest first, optionally of one category; with a member's token, also what
        they may afford, reach and still order."""
        return catalogue.on_sale_page(g.claims, **args)


@blp.route("/goods/<int:goods_id>")
class GoodsDetail(MethodView):
    @member_optional
    @blp.response(200, GoodsSchema)
    def get(self, goods_id):
        """One goods on sale (with a member's token, as they see it)."""
        return catalogue.member_view([catalogue.get_goods_on_sale(goods_id)], g.card)[0]


@blp.route("/orders")
class Orders(MethodView):
    @member_required
    @paged(blp, OrderSchema, "OrderPage", OrderArgsSchema)
    def get(self, args):
        """The member's orders, newest first (time-outs applied as they are read)."""
        return orders.member_orders(g.card.id, **args)

    @member_required
    @idempotent
    @blp.arguments(OrderCreateSchema)
    @blp.response(201, OrderPlacedSchema)
    @blp.alt_response(409, schema="Error", description="insufficient_points, out_of_stock, limit_reached, "
                                                       "not_on_sale")
    @blp.alt_response(403, schema="Error", description="forbidden: the member's level is too low")
    def post(self, args):
        """Redeem goods (honours Idempotency-Key): paid in points at once, or with the cash part through
        wx.requestPayment (the parameters in `pay`; unpaid after PAYMENT_TIMEOUT_MINUTES it is cancelled)."""
        order, pay = orders.place_order(g.card.id, client_ip=client_address(), **args)
        return {"order": order, "pay": pay}


@blp.route("/orders/<int:order_id>")
class OrderDetail(MethodView):
    @member_required
    @blp.response(200, OrderSchema)
    def get(self, order_id):
        """One of the member's orders."""
        return orders.member_order(g.card.id, order_id)


@blp.route("/orders/<int:order_id>/cancel")
class OrderCancel(MethodView):
    @member_required
    @idempotent
    @blp.response(200, OrderSchema)
    @blp.alt_response(409, schema="Error", description="not_cancellable: paid already")
    def post(self, order_id):
        """Give up an unpaid order: its WeChat order closed, its points and stock released."""
        return orders.cancel_order(g.card.id, order_id)


class OrderAddressSchema(Schema):
    address = fields.Nested(AddressSchema, required=True)


@blp.route("/orders/<int:order_id>/address")
class OrderAddress(MethodView):
    @member_required
    @blp.arguments(OrderAddressSchema)
    @blp.response(200, OrderSchema)
    @blp.alt_response(409, schema="Error", description="not_changeable: shipped already, or not physical")
    def post(self, args, order_id):
        """Give (or change) where a paid physical order goes until it is shipped, e.g. a lottery's goods prize."""
        return orders.set_address(g.card.id, order_id, args["address"])


@blp.route("/orders/<int:order_id>/confirm")
class OrderConfirm(MethodView):
    @member_required
    @blp.response(200, OrderSchema)
    @blp.alt_response(409, schema="Error", description="not_shipped")
    def post(self, order_id):
        """Confirm a shipped order arrived (otherwise it completes MALL_CONFIRM_DAYS after shipping)."""
        return orders.confirm_received(g.card.id, order_id)


# -- the lottery ---------------------------------------------------------------------------------

class PrizeOddsSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String(metadata={"enum": list(PRIZE_KINDS)})
    points = fields.Integer()
    in_stock = fields.Boolean()
    odds = fields.Float(metadata={"description": "the chance of this prize in a draw now"})


class LotteryViewSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    cost_points = fields.Integer()
    prizes = fields.List(fields.Nested(PrizeOddsSchema))
    draws_left_today = fields.Integer()


class DrawnPrizeSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    points = fields.Integer()
    coupons = fields.List(fields.String())
    order_id = fields.Integer(allow_none=True, metadata={"description": "a goods prize: its mall order"})


class DrawSchema(Schema):
    prize = fields.Nested(DrawnPrizeSchema, allow_none=True, metadata={"description": "null: nothing this time"})
    points_spent = fields.Integer()
    draws_left_today = fields.Integer()


class LotteryBriefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    cost_points = fields.Integer()
    daily_limit = fields.Integer()
    ends_at = fields.DateTime(allow_none=True)


@lottery_blp.route("")
class Lotteries(MethodView):
    @member_required
    @listed(lottery_blp, LotteryBriefSchema, "OpenLotteries")
    def get(self):
        """The lotteries open now."""
        return lotteries.open_lotteries()


@lottery_blp.route("/<int:lottery_id>")
class LotteryView(MethodView):
    @member_required
    @lottery_blp.response(200, LotteryViewSchema)
    def get(self, lottery_id):
        """A lottery open now: its prizes with their odds, and the member's draws left today."""
        return lotteries.member_view(g.card.id, lottery_id)


@lottery_blp.route("/<int:lottery_id>/draw")
class LotteryDraw(MethodView):
    @member_required
    @idempotent
    @lottery_blp.response(200, DrawSchema)
    @lottery_blp.alt_response(409, schema="Error",
                              description="insufficient_points, or limit_reached (the daily limit)")
    def post(self, lottery_id):
        """Spend the lottery's cost and draw a prize (honours Idempotency-Key)."""
        return lotteries.draw(g.card.id, lottery_id)
