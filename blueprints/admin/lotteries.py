"""Operator API: points lotteries and their prizes (audited)."""
from flask import g
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from blueprints.common import Instant, list_schema, operator_read_required, operator_required
from blueprints.edge import Blueprint
from models.lottery import PRIZE_KINDS
from services.mall import lotteries

blp = Blueprint("admin_lotteries", __name__, url_prefix="/admin", description="Operators: lotteries")
BLUEPRINTS = (blp,)

ID = {"strict": True, "validate": validate.Range(min=1, max=2**31 - 1)}


class PrizeSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    kind = fields.String(required=True, validate=validate.OneOf(PRIZE_KINDS))
    points = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=1_000_000))
    coupon_template_id = fields.Integer(load_default=None, allow_none=True, **ID)
    goods_id = fields.Integer(load_default=None, allow_none=True, metadata={
        "description": "a goods prize: one unit of these mall goods, as a free order"}, **ID)
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
    @blp.response(200, list_schema(LotterySchema, "LotteryList"))
    def get(self):
        """Every lottery."""
        return {"items": lotteries.all_lotteries()}

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
