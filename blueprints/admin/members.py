"""Operator API: login, member lookup, freezing and points adjustments."""
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from blueprints.common import (PageArgsSchema, client_address, idempotent, operator_read_required, operator_required,
                               paged)
from blueprints.edge import Blueprint
from blueprints.inputs import Reason
from blueprints.schemas import MemberProfileSchema, TokenSchema
from services.ledger import grants
from services.members import members, operators
from services.platform import tokens
from services.platform.replica import for_reports
from services.read_models import member_view

blp = Blueprint("admin", __name__, url_prefix="/admin", description="Operators")
BLUEPRINTS = (blp,)


class OperatorLoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class OperatorTokenSchema(TokenSchema):
    """An operator's token."""


class MemberSearchSchema(PageArgsSchema):
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=64))


class MemberRowSchema(Schema):
    id = fields.Integer()
    openid = fields.String()
    nickname = fields.String()
    phone = fields.String(allow_none=True)
    status = fields.String()
    created_at = fields.DateTime()


class AdjustPointsSchema(Schema):
    delta = fields.Integer(required=True, strict=True, validate=[
        validate.Range(min=-grants.ADJUST_LIMIT, max=grants.ADJUST_LIMIT),
        validate.NoneOf([0], error="Must not be zero.")])
    reason = Reason()


class BalanceSchema(Schema):
    balance = fields.Integer()


class GrantGrowthSchema(Schema):
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=grants.ADJUST_LIMIT))
    reason = Reason()


class GrowthTotalSchema(Schema):
    growth = fields.Integer()


class MemberStatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["active", "frozen"]))
    reason = Reason()


@blp.route("/auth/login")
class OperatorLogin(MethodView):
    @blp.arguments(OperatorLoginSchema)
    @blp.response(200, OperatorTokenSchema)
    def post(self, args):
        """Log an operator in with username and password."""
        return {"token": operators.login(**args, client_address=client_address()), "expires_in": tokens.ttl("operator")}


@blp.route("/auth/logout")
class OperatorLogout(MethodView):
    @operator_read_required
    @blp.response(204)
    def post(self):
        """Sign this operator out everywhere: every token issued so far stops working."""
        operators.revoke_tokens(g.operator, g.operator.id)


@blp.route("/operators/<int:operator_id>/revoke-tokens")
class OperatorRevoke(MethodView):
    @operator_required
    @blp.response(204)
    def post(self, operator_id):
        """Sign another operator out everywhere (audited)."""
        operators.revoke_tokens(g.operator, operator_id)


@blp.route("/members")
class MemberSearch(MethodView):
    @operator_read_required
    @for_reports
    @paged(blp, MemberRowSchema, "AdminMemberPage", MemberSearchSchema)
    def get(self, args):
        """Find members by id, openid, phone or nickname."""
        return operators.find_members(**args)


@blp.route("/members/<int:member_id>")
class MemberDetail(MethodView):
    @operator_read_required
    @blp.response(200, MemberProfileSchema)
    def get(self, member_id):
        """One member with level progress and points."""
        return member_view.profile(members.get_member(member_id).id)

    @operator_required
    @blp.arguments(MemberStatusSchema)
    @blp.response(200, MemberProfileSchema)
    def patch(self, args, member_id):
        """Freeze or unfreeze a member (audited, reason required)."""
        return member_view.profile(members.set_status(g.operator.id, member_id, **args).id)


@blp.route("/members/<int:member_id>/points")
class MemberPoints(MethodView):
    @operator_required
    @idempotent(required=True)
    @blp.arguments(AdjustPointsSchema)
    @blp.response(200, BalanceSchema)
    def post(self, args, member_id):
        """Credit or debit a member's points by hand (audited, reason required; Idempotency-Key required)."""
        balance = grants.adjust_points(g.operator, member_id, request_key=g.request_key, **args)
        return {"balance": balance}


@blp.route("/members/<int:member_id>/growth")
class MemberGrowth(MethodView):
    @operator_required
    @idempotent(required=True)
    @blp.arguments(GrantGrowthSchema)
    @blp.response(200, GrowthTotalSchema)
    def post(self, args, member_id):
        """Grant a member growth value by hand (audited, reason required; Idempotency-Key required): the
        member moves up a level, level-up gift included, as any earning would move them."""
        return {"growth": grants.grant_growth(g.operator, member_id, request_key=g.request_key, **args)}


@blp.route("/members/<int:member_id>/revoke-tokens")
class MemberRevoke(MethodView):
    @operator_required
    @blp.response(204)
    def post(self, member_id):
        """Sign the member out everywhere."""
        members.revoke_tokens(member_id)
