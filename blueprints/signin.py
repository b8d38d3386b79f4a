"""Daily sign-in: POST /signin, GET /signin/calendar, POST /signin/makeup, GET /badges."""
from flask import g, request
from flask.views import MethodView
from marshmallow import Schema, fields

from blueprints.common import (dumped, idempotent, list_schema, member_claims, member_reading, member_required,
                               query_args)
from blueprints.edge import Blueprint
from blueprints.inputs import Day, Pattern
from blueprints.schemas import RewardFieldsSchema
from services.signin import signin, calendar

blp = Blueprint("signin", __name__, url_prefix="/signin", description="Daily sign-in")
badges_blp = Blueprint("badges", __name__, url_prefix="/badges", description="The badge wall")
BLUEPRINTS = (blp, badges_blp)


class RewardSchema(RewardFieldsSchema):
    kind = fields.String()
    cycle_day = fields.Integer()
    badge_code = fields.String()


class BadgeBriefSchema(Schema):
    code = fields.String()
    name = fields.String()


class SigninResultSchema(Schema):
    day = fields.Date()
    kind = fields.String()
    streak = fields.Integer()
    points = fields.Integer()
    growth = fields.Integer()
    coupons = fields.List(fields.String())
    bonus = fields.List(fields.Nested(RewardSchema))
    badges = fields.List(fields.Nested(BadgeBriefSchema))
    cost_points = fields.Integer()
    paid_with = fields.String(allow_none=True)


class CalendarArgsSchema(Schema):
    month = fields.String(load_default=None, validate=Pattern(calendar.MONTH, error="Use YYYY-MM."))


class UpcomingRewardSchema(RewardFieldsSchema):
    day = fields.Date()
    cycle_day = fields.Integer()


class CalendarDaySchema(Schema):
    day = fields.Date()
    state = fields.String(metadata={"enum": ["signed", "made_up", "missed", "today", "future"]})


class MakeupAllowanceSchema(Schema):
    left = fields.Integer()
    cards_left = fields.Integer()
    cost_points = fields.Integer()


class CalendarSchema(Schema):
    month = fields.String()
    days = fields.List(fields.Nested(CalendarDaySchema))
    streak = fields.Integer()
    longest_streak = fields.Integer()
    total_days = fields.Integer()
    signed_today = fields.Boolean()
    upcoming_rewards = fields.List(fields.Nested(UpcomingRewardSchema))
    makeup = fields.Nested(MakeupAllowanceSchema)


class MakeupSchema(Schema):
    day = Day(required=True)


class BadgeSchema(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String(allow_none=True)
    days = fields.Integer(allow_none=True)
    earned_at = fields.AwareDateTime(allow_none=True)


@blp.route("")
class SignIn(MethodView):
    @member_claims
    @idempotent
    @blp.response(200, SigninResultSchema)
    def post(self):
        """Sign in for today; a second time the same business day is 409 already_signed_in."""
        return signin.sign_in(g.claims.id, token_version=g.claims.version)


def _calendar_reads(member_id):
    return calendar.prefetch_calls(member_id, request.args.get("month"))


@blp.route("/calendar")
class Calendar(MethodView):
    @member_reading(_calendar_reads)
    @query_args(CalendarArgsSchema, error_status=400)
    @blp.response(200, CalendarSchema)
    def get(self, args):
        """A month of sign-ins (this month by default), the streak, the rewards ahead and make-ups left."""
        return dumped(calendar.calendar(g.card, args["month"], g.prefetched))


@blp.route("/makeup")
class Makeup(MethodView):
    @member_claims
    @idempotent
    @blp.arguments(MakeupSchema)
    @blp.response(200, SigninResultSchema)
    def post(self, args):
        """Make up a missed day of this month with a make-up card or points (honours Idempotency-Key)."""
        return signin.make_up(g.claims.id, args["day"], token_version=g.claims.version)


@badges_blp.route("")
class Badges(MethodView):
    @member_required
    @badges_blp.response(200, list_schema(BadgeSchema, "BadgeWall"))
    def get(self):
        """The badge wall: every badge, with when it was earned (null when not yet)."""
        return calendar.badge_wall(g.card.id)
