"""Operator API for sign-in rules: versions that apply from the next business day."""
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from blueprints.common import listed, operator_read_required, operator_required
from blueprints.edge import Blueprint
from blueprints.inputs import Id, Pattern
from services.signin import rules

blp = Blueprint("admin_signin", __name__, url_prefix="/admin", description="Operators: sign-in rules")
BLUEPRINTS = (blp,)

AMOUNT = {"strict": True, "load_default": 0, "validate": validate.Range(min=0, max=100_000)}


class DayRewardSchema(Schema):
    points = fields.Integer(**AMOUNT)
    growth = fields.Integer(**AMOUNT)
    coupon_pack_id = Id(load_default=None, allow_none=True)


class MilestoneSchema(DayRewardSchema):
    kind = fields.String(required=True, validate=validate.OneOf(["streak", "total"]))
    days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000))
    badge_code = fields.String(required=True, validate=Pattern(r"^[a-z0-9_]{1,32}$"))
    badge_name = fields.String(required=True, validate=validate.Length(min=1, max=64))


class SigninRuleSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    cycle_days = fields.Integer(load_default=7, strict=True, validate=validate.Range(min=1, max=31))
    after_cycle = fields.String(load_default="restart", validate=validate.OneOf(["restart"]))
    rewards = fields.List(fields.Nested(DayRewardSchema), required=True, validate=validate.Length(min=1, max=31))
    milestones = fields.List(fields.Nested(MilestoneSchema), load_default=list, validate=validate.Length(max=50))
    effective_from = fields.Date(dump_only=True)
    replaces_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.AwareDateTime(dump_only=True)

    @validates_schema
    def _one_reward_per_day(self, data, partial=False, **_):
        if "rewards" in data and "cycle_days" in data and len(data["rewards"]) != data["cycle_days"]:
            raise ValidationError(f"Give {data['cycle_days']} rewards, one per cycle day.", "rewards")


class SigninRuleChangesSchema(SigninRuleSchema):
    """Any subset of a rule's fields (sent with partial=True)."""


@blp.route("/signin-rules")
class SigninRules(MethodView):
    @operator_read_required
    @listed(blp, SigninRuleSchema, "SigninRuleList")
    def get(self):
        """Every version of the sign-in rules, oldest first."""
        return rules.all_rules()

    @operator_required
    @blp.arguments(SigninRuleSchema)
    @blp.response(201, SigninRuleSchema)
    def post(self, args):
        """Add a version of the rules; it applies from the next business day."""
        return rules.create_rule(args)


@blp.route("/signin-rules/<int:rule_id>")
class SigninRuleDetail(MethodView):
    @operator_read_required
    @blp.response(200, SigninRuleSchema)
    def get(self, rule_id):
        """One version of the rules."""
        return rules.get_rule(rule_id)

    @operator_required
    @blp.arguments(SigninRuleChangesSchema(partial=True))
    @blp.response(200, SigninRuleSchema)
    def patch(self, args, rule_id):
        """Change a version: in place if not yet in force, else as a new version from the next day."""
        return rules.update_rule(rule_id, args)

    @operator_required
    @blp.response(204)
    def delete(self, rule_id):
        """Delete a version not yet in force (409 rule_in_force otherwise)."""
        rules.delete_rule(rule_id)
