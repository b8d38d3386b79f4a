"""Operator API: the level ladder."""
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from blueprints.common import list_schema, operator_read_required, operator_required
from blueprints.edge import Blueprint
from services.ledger import levels

blp = Blueprint("admin_levels", __name__, url_prefix="/admin", description="Operators: levels")
BLUEPRINTS = (blp,)


class LevelSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,32}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=32))
    threshold = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10**9))
    points_multiplier_pct = fields.Integer(load_default=100, strict=True, validate=validate.Range(min=1, max=1000))
    makeup_cards_per_month = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=31))
    mall_discount_pct = fields.Integer(load_default=100, strict=True, validate=validate.Range(min=1, max=100))
    exclusive_goods = fields.Boolean(load_default=False)
    levelup_pack_id = fields.Integer(load_default=None, allow_none=True, strict=True,
                                     validate=validate.Range(min=1, max=2**31 - 1))


class LevelChangesSchema(LevelSchema):
    """Any subset of a level's fields (sent with partial=True)."""


LevelListSchema = list_schema(LevelSchema, "LevelList")


@blp.route("/levels")
class Levels(MethodView):
    @operator_read_required
    @blp.response(200, LevelListSchema)
    def get(self):
        """The level ladder, lowest first."""
        return {"items": levels.all_levels()}

    @operator_required
    @blp.arguments(LevelSchema)
    @blp.response(201, LevelSchema)
    def post(self, args):
        """Add a level; members whose growth reaches it move up."""
        return levels.create_level(args)


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
        """Change a level; members follow the new thresholds."""
        return levels.update_level(level_id, args)

    @operator_required
    @blp.response(204)
    def delete(self, level_id):
        """Remove a level; its members move to the level their growth reaches."""
        levels.delete_level(level_id)
