"""The task centre for members: the task list, claims, and the events the client reports itself."""
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from blueprints.common import dumped, idempotent, list_schema, member_required
from blueprints.edge import Blueprint
from blueprints.inputs import Pattern
from blueprints.schemas import RewardFieldsSchema
from models.task import TASK_KINDS
from services.tasks import claims, client_events, progress
from services.events.types import CLIENT_TYPES

blp = Blueprint("tasks", __name__, url_prefix="/tasks", description="Task centre")
events_blp = Blueprint("events", __name__, url_prefix="/events", description="Task centre: client events")
BLUEPRINTS = (blp, events_blp)

STATUSES = ("todo", "claimable", "claimed")


class TaskRewardSchema(RewardFieldsSchema):
    """A task's reward (a tier's, for an achievement)."""


class MemberTaskSchema(Schema):
    code = fields.String()
    title = fields.String()
    description = fields.String()
    icon = fields.String()
    kind = fields.String(metadata={"enum": list(TASK_KINDS)})
    event = fields.String()
    period = fields.String(metadata={"description": "the day, ISO week or month it counts in; once; all"})
    tier = fields.Integer(metadata={"description": "the achievement tier shown (0-based)"})
    tiers = fields.Integer()
    target = fields.Integer()
    progress = fields.Integer()
    status = fields.String(metadata={"enum": list(STATUSES)})
    reward = fields.Nested(TaskRewardSchema)
    page = fields.String(metadata={"description": "the mini-program page to open"})
    needs_phone = fields.Boolean(metadata={"description": "a newbie reward waits for a bound phone number"})


class ClaimSchema(Schema):
    task = fields.String()
    tier = fields.Integer()
    points = fields.Integer()
    growth = fields.Integer()
    coupons = fields.List(fields.String())


class ClientEventSchema(Schema):
    type = fields.String(required=True, validate=validate.Length(min=1, max=32),
                         metadata={"description": f"one of {', '.join(CLIENT_TYPES)}"})
    client_event_id = fields.String(required=True, validate=Pattern(r"^[A-Za-z0-9_.:-]{1,64}$"))
    duration_s = fields.Integer(load_default=None, allow_none=True, strict=True,
                                validate=validate.Range(min=0, max=86_400))


class EventAcceptedSchema(Schema):
    accepted = fields.Boolean(metadata={"description": "false: that client_event_id was reported before"})


MemberTaskListSchema = list_schema(MemberTaskSchema, "MemberTaskList")


@blp.route("")
class Tasks(MethodView):
    @member_required
    @blp.response(200, MemberTaskListSchema)
    def get(self):
        """The member's tasks with progress, target, status and reward (the newbie chain until done)."""
        return dumped(progress.member_tasks(g.card.id))  # in MemberTaskList's shape already (a test holds them)


@blp.route("/<code>/claim")
class TaskClaim(MethodView):
    @member_required
    @idempotent
    @blp.response(200, ClaimSchema)
    @blp.alt_response(409, schema="Error", description="not_claimable: not done, claimed this period, closed, "
                                                       "or no phone")
    def post(self, code):
        """Claim a done task's reward (once per period and tier; honours Idempotency-Key)."""
        return claims.claim(g.card.id, code[:32])


@events_blp.route("")
class ClientEvents(MethodView):
    @member_required
    @events_blp.arguments(ClientEventSchema)
    @events_blp.response(200, EventAcceptedSchema)
    @events_blp.alt_response(409, schema="Error", description="limit_reached: over the type's daily cap")
    def post(self, args):
        """Report something the member did in the mini-program (share, browse_goods ≥ 15 s, view_article)."""
        return {"accepted": client_events.report(g.card.id, type_=args["type"], client_event_id=args["client_event_id"],
                                                 duration_s=args["duration_s"])}
