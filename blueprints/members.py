"""Member login and profile: /auth/login, /auth/logout, /me, /me/phone."""
from datetime import date

from flask import g
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from blueprints.common import client_address, current_member, member_claims, member_required
from blueprints.edge import Blueprint
from blueprints.inputs import Pattern
from blueprints.schemas import MemberBriefSchema, MemberProfileSchema, TokenSchema
from services.members import members
from services.platform import clock, tokens
from services.read_models import member_view

auth_blp = Blueprint("auth", __name__, url_prefix="/auth", description="Member login")
me_blp = Blueprint("me", __name__, url_prefix="/me", description="The signed-in member")
BLUEPRINTS = (auth_blp, me_blp)

WECHAT_CODE = fields.String(required=True, validate=validate.Length(min=1, max=128))


class CodeSchema(Schema):
    code = WECHAT_CODE


class LoginSchema(CodeSchema):
    invite = fields.String(validate=Pattern(r"^[0-9A-Za-z=%]{1,48}$"), metadata={
        "description": "an inviter's code from a share card, or a scanned scene `i=<code>`; used only when this "
                       "login creates the member"})


class LoginResultSchema(TokenSchema):
    member = fields.Nested(MemberBriefSchema)


class ProfileChangesSchema(Schema):
    nickname = fields.String(validate=validate.Length(min=1, max=32))
    avatar_url = fields.URL(validate=validate.Length(max=512), schemes={"https", "http"})
    birthday = fields.Date(allow_none=True)
    gender = fields.Integer(validate=validate.OneOf([0, 1, 2]))

    @validates_schema
    def _sensible(self, data, **_):
        if not data:
            raise ValidationError("Send at least one field to change.", "_schema")
        birthday = data.get("birthday")
        if birthday and not date(1900, 1, 1) <= birthday <= clock.today():
            raise ValidationError("Not a plausible birthday.", "birthday")


@auth_blp.route("/login")
class Login(MethodView):
    @auth_blp.arguments(LoginSchema)
    @auth_blp.response(200, LoginResultSchema)
    def post(self, args):
        """Log in with a wx.login code; the member is created on first login (invited, with `invite`)."""
        member, token = members.login(code=args["code"], client_address=client_address(), invite=args.get("invite"))
        return {"token": token, "expires_in": tokens.ttl("member"), "member": member_view.brief(member)}


@auth_blp.route("/logout")
class Logout(MethodView):
    @member_required
    @auth_blp.response(204)
    def post(self):
        """Revoke every token of the signed-in member."""
        members.revoke_tokens(g.card.id)


@me_blp.route("")
class Me(MethodView):
    @member_claims
    @me_blp.response(200, MemberProfileSchema)
    def get(self):
        """The member's profile, level progress and points."""
        return member_view.profile(g.claims.id, token_version=g.claims.version)

    @member_required
    @me_blp.arguments(ProfileChangesSchema)
    @me_blp.response(200, MemberProfileSchema)
    def patch(self, changes):
        """Change nickname, avatar, birthday or gender."""
        return member_view.profile(members.update_profile(current_member(), changes).id)


@me_blp.route("/phone")
class Phone(MethodView):
    @member_required
    @me_blp.arguments(CodeSchema)
    @me_blp.response(200, MemberProfileSchema)
    def post(self, args):
        """Bind the phone number from a getPhoneNumber code."""
        return member_view.profile(members.bind_phone(current_member(), code=args["code"]).id)
