"""Guides (导购): the member's code and exclusive guide, and the guide's own API (login, scan, in-store
receipts, coupon write-off, their members and results, their mini-program code)."""
from datetime import timedelta

from flask import Response, g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from blueprints.common import PageArgsSchema, client_address, guide_required, idempotent, listed, member_required, paged
from blueprints.coupons import CouponSchema
from blueprints.edge import Blueprint
from blueprints.inputs import Day, Fen, Pattern
from blueprints.schemas import LevelBriefSchema, TokenSchema
from services.guides import bindings, guide_codes, guides, member_codes, store_work, targets
from services.platform import clock, tokens

me_blp = Blueprint("me_guide", __name__, url_prefix="/me", description="The member's code and guide")
guides_blp = Blueprint("guides", __name__, url_prefix="/guides", description="Binding to a guide")
guide_blp = Blueprint("guide", __name__, url_prefix="/guide", description="The guide's own API")
BLUEPRINTS = (me_blp, guides_blp, guide_blp)


class MemberCodeSchema(Schema):
    code = fields.String(metadata={"description": "18 digits, changing every 60 s, used once"})
    expires_in = fields.Integer(metadata={"description": "seconds this code has left"})
    qr_svg = fields.String(metadata={"description": "the code as an SVG QR"})


class GuideCardSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    store = fields.String()
    qr_url = fields.String(allow_none=True, metadata={"description": "the WeCom 联系我 code, or the guide's QR image"})


class MyGuideSchema(Schema):
    guide = fields.Nested(GuideCardSchema, allow_none=True)


class GuideSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    store_id = fields.Integer()
    status = fields.String()


class GuideLoginSchema(Schema):
    phone = fields.String(required=True, validate=validate.Length(min=1, max=20))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class GuideLoginResultSchema(TokenSchema):
    guide = fields.Nested(GuideSchema)


class ScanSchema(Schema):
    member_code = fields.String(required=True, validate=validate.Length(min=1, max=64))


class CardMemberSchema(Schema):
    id = fields.Integer()
    nickname = fields.String(allow_none=True)
    avatar_url = fields.String(allow_none=True)
    level = fields.Nested(LevelBriefSchema, allow_none=True)
    points = fields.Integer(metadata={"description": "available points"})


class MemberCardSchema(Schema):
    member = fields.Nested(CardMemberSchema)
    coupons = fields.List(fields.Nested(CouponSchema), metadata={"description": "usable in store now"})
    guide_id = fields.Integer(allow_none=True, metadata={"description": "the member's exclusive guide"})


class PurchaseSchema(Schema):
    amount_fen = Fen(required=True)
    receipt_no = fields.String(required=True, validate=Pattern(r"^[0-9A-Za-z_-]{1,64}$"))


class PurchaseResultSchema(Schema):
    points = fields.Integer()
    growth = fields.Integer()
    receipt_no = fields.String()


class GuideMemberSchema(Schema):
    id = fields.Integer(attribute="member.id")
    nickname = fields.String(attribute="member.nickname", allow_none=True)
    phone_tail = fields.Function(lambda row: (row["member"].phone or "")[-4:] or None, allow_none=True,
                                 metadata={"type": "string"})
    how = fields.String()
    bound_at = fields.DateTime()


class GuideMembersArgsSchema(PageArgsSchema):
    q = fields.String(load_default=None, validate=Pattern(r"^\d{1,11}$"),
                      metadata={"description": "the end of the member's phone number"})


class StatsArgsSchema(Schema):
    from_ = Day(data_key="from", load_default=None)
    to = Day(load_default=None)


class TotalsSchema(Schema):
    members_bound = fields.Integer()
    purchases = fields.Integer()
    amount_fen = fields.Integer()
    coupons_redeemed = fields.Integer()


class DayStatsSchema(TotalsSchema):
    day = fields.Date()


class StatsSchema(Schema):
    from_ = fields.Date(data_key="from", attribute="from")
    to = fields.Date()
    days = fields.List(fields.Nested(DayStatsSchema))
    totals = fields.Nested(TotalsSchema)
    members = fields.Integer(metadata={"description": "members bound to the guide now"})


# -- the member ----------------------------------------------------------------------------------

@me_blp.route("/member-code")
class MemberCode(MethodView):
    @member_required
    @me_blp.response(200, MemberCodeSchema)
    def get(self):
        """The member's code for a guide to scan: it changes every minute and scans once."""
        return member_codes.current_code(g.card.id)


@me_blp.route("/guide")
class MyGuide(MethodView):
    @member_required
    @me_blp.response(200, MyGuideSchema)
    def get(self):
        """The member's exclusive guide, with the QR to add them (null: none yet)."""
        return {"guide": guides.guide_card(g.card.id)}


@guides_blp.route("/<int:guide_id>/bind")
class Bind(MethodView):
    @member_required
    @guides_blp.response(200, MyGuideSchema)
    def post(self, guide_id):
        """The member scanned a guide's mini-program code (scene `g=<id>`): that guide becomes theirs,
        unless they have one already (the first binding lasts). Answers the guide that holds."""
        bindings.bind_by_guide_code(g.card.id, guide_id)
        return {"guide": guides.guide_card(g.card.id)}


# -- the guide -----------------------------------------------------------------------------------

@guide_blp.route("/auth/login")
class GuideLogin(MethodView):
    @guide_blp.arguments(GuideLoginSchema)
    @guide_blp.response(200, GuideLoginResultSchema)
    def post(self, args):
        """A guide token for a guide's phone and password (failures throttled: 429)."""
        guide, token = guides.login(client_address=client_address(), **args)
        return {"token": token, "expires_in": tokens.ttl("guide"), "guide": guide}


@guide_blp.route("/auth/logout")
class GuideLogout(MethodView):
    @guide_required
    @guide_blp.response(204)
    def post(self):
        """Sign the guide out everywhere."""
        guides.logout(g.guide)


@guide_blp.route("/me")
class GuideMe(MethodView):
    @guide_required
    @guide_blp.response(200, GuideSchema)
    def get(self):
        return g.guide


@guide_blp.route("/scan")
class Scan(MethodView):
    @guide_required
    @guide_blp.arguments(ScanSchema)
    @guide_blp.response(200, MemberCardSchema)
    @guide_blp.alt_response(409, schema="Error", description="code_expired: stale, used or unknown")
    @guide_blp.alt_response(429, schema="Error", description="rate_limited: too many scans")
    def post(self, args):
        """Resolve a member's code (used up): the member card; an unbound member becomes the guide's."""
        return store_work.scan(g.guide, args["member_code"])


@guide_blp.route("/members/<int:member_id>/purchases")
class Purchases(MethodView):
    @guide_required
    @idempotent
    @guide_blp.arguments(PurchaseSchema)
    @guide_blp.response(200, PurchaseResultSchema)
    def post(self, args, member_id):
        """Points and growth for an in-store receipt of the guide's member (or one just scanned); the same
        receipt number again answers the first result and changes nothing."""
        return store_work.record_purchase(g.guide, member_id, **args)


@guide_blp.route("/coupons/<code>/redeem")
class Redeem(MethodView):
    @guide_required
    @guide_blp.response(200, CouponSchema)
    @guide_blp.alt_response(403, schema="Error", description="forbidden: the member's code not scanned in the last "
                            "30 minutes (`member_not_present`), or another store's coupon (`other_store`)")
    @guide_blp.alt_response(409, schema="Error", description="coupon_not_usable: used, expired, not a store coupon")
    def post(self, code):
        """Write a store coupon off (once), for a member whose code the guide scanned in the last 30 minutes."""
        return store_work.redeem_coupon(g.guide, code)


@guide_blp.route("/members")
class GuideMembers(MethodView):
    @guide_required
    @paged(guide_blp, GuideMemberSchema, "GuideMemberPage", GuideMembersArgsSchema)
    def get(self, args):
        """The guide's own members, newest first; `q` finds them by the end of their phone number."""
        return store_work.my_members(g.guide, **args)


@guide_blp.route("/stats")
class GuideStats(MethodView):
    @guide_required
    @guide_blp.arguments(StatsArgsSchema, location="query")
    @guide_blp.response(200, StatsSchema)
    def get(self, args):
        """Per day: members bound, in-store purchases and amount, coupons written off (default: the last 7 days)."""
        until = args["to"] or clock.today()
        return store_work.stats(g.guide, since=args["from_"] or until - timedelta(days=6), until=until)


class GuideTaskSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    metric = fields.String()
    period = fields.String(metadata={"description": "the week (2026-W49) or month (2026-12) it counts in"})
    ends_at = fields.DateTime()
    target = fields.Integer()
    progress = fields.Integer()
    done = fields.Boolean()


@guide_blp.route("/tasks")
class GuideTasks(MethodView):
    @guide_required
    @listed(guide_blp, GuideTaskSchema, "GuideTaskList")
    def get(self):
        """The guide's targets (导购任务) for the current week or month, with their progress."""
        return targets.guide_tasks(g.guide)


@guide_blp.route("/qrcode", methods=["GET"])
@guide_required
@guide_blp.doc(responses={"200": {"description": "PNG", "content": {"image/png": {"schema": {"type": "string"}}}}})
def guide_qrcode():
    """The guide's mini-program code (scene `g=<id>`): a member who scans it binds to the guide."""
    return Response(guide_codes.wxa_code(g.guide), mimetype="image/png")
