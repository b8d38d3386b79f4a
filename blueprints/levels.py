"""The member's level: GET /me/level."""
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields

from blueprints.common import member_required
from blueprints.edge import Blueprint
from services.levels import member_level

blp = Blueprint("me_level", __name__, url_prefix="/me", description="The member's level")
BLUEPRINTS = (blp,)


class LevelNameSchema(Schema):
    code = fields.String()
    name = fields.String()
    threshold = fields.Integer()


class PackNameSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class BenefitsSchema(Schema):
    points_multiplier_pct = fields.Integer()
    makeup_cards_per_month = fields.Integer()
    mall_discount_pct = fields.Integer()
    exclusive_goods = fields.Boolean()
    levelup_pack = fields.Nested(PackNameSchema, allow_none=True)
    birthday_points = fields.Integer()
    birthday_pack = fields.Nested(PackNameSchema, allow_none=True)


class NextLevelSchema(LevelNameSchema):
    benefits = fields.Nested(BenefitsSchema)


class LevelMoveSchema(Schema):
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String(allow_none=True)
    cause = fields.String()
    growth = fields.Integer()
    at = fields.DateTime()


class KeepSchema(Schema):
    growth_needed = fields.Integer()
    at_risk = fields.Boolean()


class MemberLevelSchema(Schema):
    level = fields.Nested(LevelNameSchema, allow_none=True)
    growth = fields.Integer()
    growth_window = fields.String()
    window_starts_at = fields.DateTime(allow_none=True)
    growth_to_next = fields.Integer(allow_none=True)
    benefits = fields.Nested(BenefitsSchema, allow_none=True)
    next_level = fields.Nested(NextLevelSchema, allow_none=True)
    history = fields.List(fields.Nested(LevelMoveSchema))
    next_evaluation = fields.DateTime()
    downgrade = fields.String()
    keep = fields.Nested(KeepSchema, allow_none=True)


@blp.route("/level")
class MyLevel(MethodView):
    @member_required
    @blp.response(200, MemberLevelSchema)
    def get(self):
        """The level, growth in the window and to the next level, benefits, history and the next evaluation."""
        return member_level.detail(g.card.id)
