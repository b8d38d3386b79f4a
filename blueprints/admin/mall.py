"""Operator API: the mall's goods (audited), virtual codes uploaded as CSV, orders (ship, refund), and points
lotteries with their prizes (audited)."""
from flask import g, request
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from blueprints.common import idempotent, listed, operator_read_required, operator_required, paged
from blueprints.edge import Blueprint, load_json_body
from blueprints.inputs import Fen, Id, Instant
from blueprints.mall import GoodsArgsSchema, OrderArgsSchema, OrderSchema
from models.lottery import PRIZE_KINDS
from models.mall import GOODS_KINDS, GOODS_STATUSES
from services.mall import goods as catalogue
from services.mall import lotteries, orders
from services.platform.errors import InvalidRequest
from services.platform.replica import for_reports

blp = Blueprint("admin_mall", __name__, url_prefix="/admin", description="Operators: mall goods, orders and lotteries")
BLUEPRINTS = (blp,)

POINTS = {"strict": True, "validate": validate.Range(min=0, max=10_000_000)}
MAX_CSV_CHARS = catalogue.MAX_CODES_CHARS


class OperatorGoodsSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    images = fields.List(fields.Url(schemes={"https", "http"}), load_default=list, validate=validate.Length(max=20))
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=32))
    kind = fields.String(required=True, validate=validate.OneOf(GOODS_KINDS))
    price_points = fields.Integer(required=True, **POINTS)
    price_fen = Fen(required=True, minimum=0)
    coupon_template_id = Id(load_default=None, allow_none=True, metadata={
        "description": "coupon goods: the template of the coupon each unit hands out"})
    stock = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=10**8), metadata={
        "description": "units for sale now (a virtual goods' stock is its uploaded codes)"})
    reserved = fields.Integer(dump_only=True)
    sold = fields.Integer(dump_only=True)
    total = fields.Integer(dump_only=True)
    per_order_limit = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=99))
    per_member_limit = fields.Integer(load_default=None, allow_none=True, strict=True,
                                      validate=validate.Range(min=1, max=10_000))
    min_level_id = Id(load_default=None, allow_none=True)
    level_discount = fields.Boolean(load_default=True, metadata={
        "description": "the member level's mall_discount_pct applies to the cash part"})
    starts_at = Instant(load_default=None, allow_none=True)
    ends_at = Instant(load_default=None, allow_none=True)
    status = fields.String(load_default="on_sale", validate=validate.OneOf(GOODS_STATUSES))
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def _price(self, data, partial=False, **_kwargs):
        if not partial and data["price_points"] + data["price_fen"] == 0:
            raise ValidationError("Goods cost points, cash or both.", "price_points")
        if not partial and data["kind"] == "coupon" and data.get("coupon_template_id") is None:
            raise ValidationError("Coupon goods need a coupon template.", "coupon_template_id")


class GoodsChangesSchema(OperatorGoodsSchema):
    """Any subset of the goods' fields but its kind (sent with partial=True)."""

    class Meta:
        exclude = ("kind", "coupon_template_id")


class CodesSchema(Schema):
    csv = fields.String(required=True, validate=validate.Length(min=1, max=MAX_CSV_CHARS),
                        metadata={"description": "one code per row, in the first column"})


class CodesAddedSchema(Schema):
    added = fields.Integer()
    skipped = fields.Integer(metadata={"description": "codes the goods has already, or repeated"})
    stock = fields.Integer()


class OperatorOrderSchema(OrderSchema):
    member_id = fields.Integer()
    refund_id = fields.Integer(allow_none=True)
    refund_reason = fields.String(allow_none=True)


class OperatorOrderArgsSchema(OrderArgsSchema):
    member_id = Id(strict=False, load_default=None)
    goods_id = Id(strict=False, load_default=None)


class ShipSchema(Schema):
    tracking_no = fields.String(required=True, validate=validate.Length(min=1, max=64))


class OrderRefundSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=255))


@blp.route("/goods")
class Goods(MethodView):
    @operator_read_required
    @paged(blp, OperatorGoodsSchema, "OperatorGoodsPage", GoodsArgsSchema)
    def get(self, args):
        """Every goods, newest first, on sale or not."""
        return catalogue.find_goods(**args)

    @operator_required
    @blp.arguments(OperatorGoodsSchema)
    @blp.response(201, OperatorGoodsSchema)
    def post(self, args):
        """Add goods (audited)."""
        return catalogue.create_goods(g.operator, args)


@blp.route("/goods/<int:goods_id>")
class GoodsDetail(MethodView):
    @operator_read_required
    @blp.response(200, OperatorGoodsSchema)
    def get(self, goods_id):
        """One goods with its stock, reserved and sold units."""
        return catalogue.get_goods(goods_id)

    @operator_required
    @blp.arguments(GoodsChangesSchema(partial=True))
    @blp.response(200, OperatorGoodsSchema)
    def patch(self, args, goods_id):
        """Change goods (audited); orders already placed keep their price."""
        return catalogue.update_goods(g.operator, goods_id, args)

    @operator_required
    @blp.response(200, OperatorGoodsSchema)
    def delete(self, goods_id):
        """Take goods off sale (audited); their orders stay."""
        return catalogue.update_goods(g.operator, goods_id, {"status": "off_sale"})


@blp.route("/goods/<int:goods_id>/codes", methods=["POST"])
@operator_required
@blp.doc(requestBody={"content": {"text/csv": {"schema": {"type": "string"}},
                                  "application/json": {"schema": CodesSchema}}})
@blp.response(200, CodesAddedSchema)
def add_codes(goods_id):
    """Upload a virtual goods' codes as CSV (a text/csv body, or {"csv": ...}); each new code is a unit
    in stock, codes it has already are skipped (audited)."""
    if request.mimetype == "text/csv":
        text = request.get_data(as_text=True)
    else:
        body = load_json_body(request.get_data(cache=True))  # the strict parser's rules: depth, NUL, surrogates
        errors = CodesSchema().validate(body) if isinstance(body, dict) else {"csv": ["Send text/csv or {\"csv\"}."]}
        if errors:
            raise InvalidRequest("The codes are not valid.", status=422, details=errors)
        text = body["csv"]
    return catalogue.add_codes(g.operator, goods_id, text)


@blp.route("/orders")
class Orders(MethodView):
    @operator_read_required
    @for_reports
    @paged(blp, OperatorOrderSchema, "OperatorOrderPage", OperatorOrderArgsSchema)
    def get(self, args):
        """Mall orders, newest first, by status, member or goods."""
        return orders.find_orders(**args)


@blp.route("/orders/<int:order_id>")
class OrderDetail(MethodView):
    @operator_read_required
    @blp.response(200, OperatorOrderSchema)
    def get(self, order_id):
        return orders.get_order(order_id)


@blp.route("/orders/<int:order_id>/ship")
class OrderShip(MethodView):
    @operator_required
    @blp.arguments(ShipSchema)
    @blp.response(200, OperatorOrderSchema)
    @blp.alt_response(409, schema="Error", description="not_shippable")
    def post(self, args, order_id):
        """Ship a paid physical order (audited); the member gets the order_shipped message."""
        return orders.ship_order(g.operator, order_id, **args)


@blp.route("/orders/<int:order_id>/refund")
class OrderRefund(MethodView):
    @operator_required
    @idempotent(required=True)
    @blp.arguments(OrderRefundSchema)
    @blp.response(200, OperatorOrderSchema)
    @blp.alt_response(409, schema="Error", description="not_refundable, refund_too_large (a refund is open)")
    def post(self, args, order_id):
        """Refund a paid order in full (audited): cash through WeChat Pay (the order turns `refunded`
        when WeChat confirms), points back to their lots, stock back (requires Idempotency-Key)."""
        return orders.refund_order(g.operator, order_id, reason=args["reason"], request_key=g.request_key)


# -- lotteries -------------------------------------------------------------------------------------

class PrizeSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    kind = fields.String(required=True, validate=validate.OneOf(PRIZE_KINDS))
    points = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=1_000_000))
    coupon_template_id = Id(load_default=None, allow_none=True)
    goods_id = Id(load_default=None, allow_none=True, metadata={
        "description": "a goods prize: one unit of these mall goods, as a free order"})
    weight = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1_000_000))
    stock = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0, max=10**9),
                           metadata={"description": "null: unlimited"})
    drawn = fields.Integer(dump_only=True)

    @validates_schema
    def _reward(self, data, **_kwargs):
        if data["kind"] == "points" and not data.get("points"):
            raise ValidationError("A points prize pays at least one point.", "points")
        if data["kind"] == "goods" and not data.get("goods_id"):
            raise ValidationError("A goods prize names its goods.", "goods_id")


class LotterySchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    cost_points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1_000_000))
    daily_limit = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    starts_at = Instant(load_default=None, allow_none=True)
    ends_at = Instant(load_default=None, allow_none=True)
    active = fields.Boolean(dump_only=True)
    prizes = fields.List(fields.Nested(PrizeSchema), required=True, validate=validate.Length(min=1, max=50))


@blp.route("/lotteries")
class Lotteries(MethodView):
    @operator_read_required
    @listed(blp, LotterySchema, "LotteryList")
    def get(self):
        """Every lottery."""
        return lotteries.all_lotteries()

    @operator_required
    @blp.arguments(LotterySchema)
    @blp.response(201, LotterySchema)
    def post(self, args):
        """Add a lottery with its prizes (audited)."""
        return lotteries.create_lottery(g.operator, args)


@blp.route("/lotteries/<int:lottery_id>")
class LotteryDetail(MethodView):
    @operator_read_required
    @blp.response(200, LotterySchema)
    def get(self, lottery_id):
        """One lottery with its prizes, their stock and how often each was drawn."""
        return lotteries.get_lottery(lottery_id)

    @operator_required
    @blp.response(204)
    def delete(self, lottery_id):
        """Close a lottery (audited); its draws stay."""
        lotteries.deactivate_lottery(g.operator, lottery_id)
