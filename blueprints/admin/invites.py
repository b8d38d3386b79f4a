"""Operator API for invitations: the rules (versions, audited), the refusals and states, a member's invitations."""
from flask import g
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from blueprints.common import listed, operator_read_required, operator_required
from blueprints.edge import Blueprint
from blueprints.inputs import Day, Id
from blueprints.invites import FriendSchema, InviteRewardsSchema
from models.invite import INVITE_STEPS
from services.invites import invitations, rules
from services.platform.replica import for_reports

blp = Blueprint("admin_invites", __name__, url_prefix="/admin", description="Operators: invitations")
BLUEPRINTS = (blp,)

AMOUNT = {"strict": True, "validate": validate.Range(min=0, max=100_000)}
CAP = {"strict": True, "validate": validate.Range(min=1, max=100_000)}


class InviteRuleSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    enabled = fields.Boolean()
    step = fields.String(validate=validate.OneOf(INVITE_STEPS),
                         metadata={"description": "what the friend must do: phone (bind a phone), signin, payment"})
    min_payment_fen = fields.Integer(strict=True, validate=validate.Range(min=0, max=10**9))
    inviter_points = fields.Integer(**AMOUNT)
    inviter_growth = fields.Integer(**AMOUNT)
    inviter_pack_id = Id(allow_none=True)
    friend_points = fields.Integer(**AMOUNT)
    friend_growth = fields.Integer(**AMOUNT)
    friend_pack_id = Id(allow_none=True)
    daily_cap = fields.Integer(**CAP, metadata={"description": "inviter rewards per business day"})
    monthly_cap = fields.Integer(**CAP)
    window_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=365))
    joins_per_address = fields.Integer(**CAP, metadata={"description": "invited logins from one address an hour"})
    replaces_id = fields.Integer(dump_only=True, allow_none=True)
    operator_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.AwareDateTime(dump_only=True)

    @validates_schema
    def _caps(self, data, **_):
        if "daily_cap" in data and "monthly_cap" in data and data["monthly_cap"] < data["daily_cap"]:
            raise ValidationError("The monthly cap cannot be below the daily cap.", "monthly_cap")


class InviteRuleChangesSchema(InviteRuleSchema):
    """Any subset of the active set's fields (sent with partial=True)."""


class InviteFiguresArgsSchema(Schema):
    from_ = Day(data_key="from")
    to = Day()


class InviteFiguresSchema(Schema):
    refusals = fields.Dict(keys=fields.String(), values=fields.Integer(),
                           metadata={"description": "refused invitations (or inviter rewards) per reason"})
    invitations = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "per state"})


class InvitedBySchema(Schema):
    member_id = fields.Integer()
    invitation_id = fields.Integer()
    status = fields.String()
    state = fields.String()
    joined_at = fields.AwareDateTime()


class OperatorFriendSchema(FriendSchema):
    id = fields.Integer()
    state = fields.String(metadata={"description": "joined, qualified, rewarded, reversed, refused, expired"})
    refusal = fields.String(allow_none=True)
    reversed_at = fields.AwareDateTime(allow_none=True)
    friend_rewards = fields.Nested(InviteRewardsSchema)


class MemberInvitesSchema(Schema):
    invited_by = fields.Nested(InvitedBySchema, allow_none=True)
    friends = fields.List(fields.Nested(OperatorFriendSchema))
    rewards = fields.Nested(InviteRewardsSchema)


@blp.route("/invite-rules")
class InviteRules(MethodView):
    @operator_read_required
    @listed(blp, InviteRuleSchema, "InviteRuleList")
    def get(self):
        """Every version of the invitation rules, oldest first; the last is the active set."""
        return rules.all_rules()

    @operator_required
    @blp.arguments(InviteRuleSchema)
    @blp.response(201, InviteRuleSchema)
    def post(self, args):
        """A new active set, the defaults filling what is not sent (audited)."""
        return rules.set_rules(g.operator.id, args, replace=False)

    @operator_required
    @blp.arguments(InviteRuleChangesSchema(partial=True))
    @blp.response(200, InviteRuleSchema)
    def put(self, args):
        """A new active set: the fields sent over the active set's (audited)."""
        return rules.set_rules(g.operator.id, args, replace=True)


@blp.route("/invite-rules/<int:rule_id>")
class InviteRuleDetail(MethodView):
    @operator_read_required
    @blp.response(200, InviteRuleSchema)
    def get(self, rule_id):
        """One version of the invitation rules."""
        return rules.get_rule(rule_id)


@blp.route("/invite-stats")
class InviteStats(MethodView):
    @operator_read_required
    @for_reports
    @blp.arguments(InviteFiguresArgsSchema, location="query")
    @blp.response(200, InviteFiguresSchema)
    def get(self, args):
        """Refused invitations per reason and invitations per state (joined in the range)."""
        return invitations.figures(args.get("from_"), args.get("to"))


@blp.route("/members/<int:member_id>/invites")
class MemberInvites(MethodView):
    @operator_read_required
    @blp.response(200, MemberInvitesSchema)
    def get(self, member_id):
        """Who invited the member, and the member's friends with their invitations' states and rewards."""
        return invitations.member_invitations(member_id)
