"""Operator API: the level ladder, the level policy, a member's level."""
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from blueprints.common import listed, operator_read_required, operator_required
from blueprints.edge import Blueprint
from blueprints.inputs import Id, Pattern
from blueprints.levels import MemberLevelSchema
from models.level import DOWNGRADES, LEVEL_WINDOWS
from services.levels import levels, member_level, policy

blp = Blueprint("admin_levels", __name__, url_prefix="/admin", description="Operators: levels")
BLUEPRINTS = (blp,)


class LevelSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=Pattern(r"^[a-z0-9_]{1,32}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=32))
    threshold = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10**9))
    points_multiplier_pct = fields.Integer(load_default=100, strict=True, validate=validate.Range(min=1, max=1000))
    makeup_cards_per_month = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=31))
    mall_discount_pct = fields.Integer(load_default=100, strict=True, validate=validate.Range(min=1, max=100))
    exclusive_goods = fields.Boolean(load_default=False)
    levelup_pack_id = Id(load_default=None, allow_none=True)
    birthday_points = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=10**6))
    birthday_pack_id = Id(load_default=None, allow_none=True)


class LevelChangesSchema(LevelSchema):
    """Any subset of a level's fields (sent with partial=True)."""


class PolicyFieldsSchema(Schema):
    growth_window = fields.String(required=True, validate=validate.OneOf(LEVEL_WINDOWS))
    downgrade = fields.String(required=True, validate=validate.OneOf(DOWNGRADES))
    grace_days = fields.Integer(load_default=30, strict=True, validate=validate.Range(min=0, max=180))


class PolicyInForceSchema(PolicyFieldsSchema):
    effective_from = fields.DateTime(allow_none=True)


class PolicySchema(PolicyInForceSchema):
    next_evaluation = fields.DateTime()
    pending = fields.Nested(PolicyInForceSchema, allow_none=True)


@blp.route("/levels")
class Levels(MethodView):
    @operator_read_required
    @listed(blp, LevelSchema, "LevelList")
    def get(self):
        """The level ladder, lowest first."""
        return levels.all_levels()

    @operator_required
    @blp.arguments(LevelSchema)
    @blp.response(201, LevelSchema)
    def post(self, args):
        """Add a level (audited); members whose growth reaches it move up and get its level-up gift."""
        return levels.create_level(g.operator.id, args)


@blp.route("/levels/<int:level_id>")
class LevelDetail(MethodView):
    @operator_read_required
    @blp.response(200, LevelSchema)
    def get(self, level_id):
        """One level."""
        return levels.get_level(level_id)

    @operator_required
    @blp.arguments(LevelChangesSchema(partial=True))
    @blp.response(200, LevelSchema)
    def patch(self, args, level_id):
        """Change a level (audited); members whose growth reaches a higher level move up, nobody moves down."""
        return levels.update_level(g.operator.id, level_id, args)

    @operator_required
    @blp.response(204)
    def delete(self, level_id):
        """Remove a level (audited); its members move to the level below it."""
        levels.delete_level(g.operator.id, level_id)


@blp.route("/level-policy")
class LevelPolicy(MethodView):
    @operator_read_required
    @blp.response(200, PolicySchema)
    def get(self):
        """The level policy in force, the one set for the next evaluation, and when that is."""
        return policy.describe()

    @operator_required
    @blp.arguments(PolicyFieldsSchema)
    @blp.response(200, PolicySchema)
    def put(self, args):
        """Set the growth window and the downgrade policy (audited); they apply from the next evaluation."""
        return policy.set_policy(g.operator.id, **args)


@blp.route("/members/<int:member_id>/level")
class MemberLevel(MethodView):
    @operator_read_required
    @blp.response(200, MemberLevelSchema)
    def get(self, member_id):
        """A member's level as they see it: growth, benefits, history, the next evaluation."""
        return member_level.detail(member_id)
