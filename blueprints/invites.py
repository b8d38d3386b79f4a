"""Invite friends (邀请有礼), for members: /me/invite (the share card and mini-program code), /me/invites."""
from flask import Response, g
from flask.views import MethodView
from marshmallow import Schema, fields

from blueprints.common import member_required
from blueprints.edge import Blueprint
from services.invites import codes, invitations

blp = Blueprint("invites", __name__, url_prefix="/me", description="Invite friends")
BLUEPRINTS = (blp,)


class InviteSchema(Schema):
    code = fields.String(metadata={"description": "the member's invite code (the login's `invite`)"})
    path = fields.String(metadata={"description": "the share card's mini-program path"})
    scene = fields.String(metadata={"description": "the mini-program code's scene, `i=<code>`"})
    qrcode_url = fields.String(metadata={"description": "the mini-program code image (PNG, bearer token)"})


class InviteRewardsSchema(Schema):
    points = fields.Integer()
    growth = fields.Integer()
    coupons = fields.Integer()


class FriendSchema(Schema):
    member_id = fields.Integer()
    nickname = fields.String(metadata={"description": "masked"})
    status = fields.String(metadata={"description": "joined / qualified / rewarded / expired"})
    joined_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime()
    qualified_at = fields.AwareDateTime(allow_none=True)
    rewarded_at = fields.AwareDateTime(allow_none=True)
    inviter_rewards = fields.Nested(InviteRewardsSchema, metadata={"description": "what this friend earned the member"})


class InvitesSchema(Schema):
    friends = fields.List(fields.Nested(FriendSchema))
    rewards = fields.Nested(InviteRewardsSchema, metadata={"description": "what the member's invitations earned, kept"})


@blp.route("/invite")
class Invite(MethodView):
    @member_required
    @blp.response(200, InviteSchema)
    def get(self):
        """The member's invite code, share card path, mini-program code scene and image."""
        return {**codes.share(g.card.id), "qrcode_url": "/api/v1/me/invite/qrcode"}


@blp.route("/invite/qrcode", methods=["GET"])
@member_required
@blp.doc(responses={"200": {"description": "PNG", "content": {"image/png": {"schema": {"type": "string"}}}}})
def invite_qrcode():
    """The member's mini-program code (scene `i=<code>`): a friend who scans it and joins is invited."""
    return Response(codes.wxa_code(g.card.id), mimetype="image/png")


@blp.route("/invites")
class Invites(MethodView):
    @member_required
    @blp.response(200, InvitesSchema)
    def get(self):
        """The member's friends (latest first, names masked) and what their invitations earned."""
        return invitations.friends_of(g.card.id)
