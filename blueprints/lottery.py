"""The points lottery for members: a lottery's prizes and odds, and a draw."""
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields

from blueprints.common import idempotent, list_schema, member_required
from blueprints.edge import Blueprint
from models.lottery import PRIZE_KINDS
from services.mall import lotteries

blp = Blueprint("lottery", __name__, url_prefix="/lottery", description="Points lottery")
BLUEPRINTS = (blp,)


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


@blp.route("")
class Lotteries(MethodView):
    @member_required
    @blp.response(200, list_schema(LotteryBriefSchema, "OpenLotteries"))
    def get(self):
        """The lotteries open now."""
        return {"items": lotteries.open_lotteries()}


@blp.route("/<int:lottery_id>")
class LotteryView(MethodView):
    @member_required
    @blp.response(200, LotteryViewSchema)
    def get(self, lottery_id):
        """A lottery open now: its prizes with their odds, and the member's draws left today."""
        return lotteries.member_view(g.card.id, lottery_id)


@blp.route("/<int:lottery_id>/draw")
class LotteryDraw(MethodView):
    @member_required
    @idempotent
    @blp.response(200, DrawSchema)
    @blp.alt_response(409, schema="Error", description="insufficient_points, or limit_reached (the daily limit)")
    def post(self, lottery_id):
        """Spend the lottery's cost and draw a prize (honours Idempotency-Key)."""
        return lotteries.draw(g.card.id, lottery_id)
