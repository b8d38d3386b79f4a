"""Operator API: the task centre's tasks (audited)."""
from flask import g
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from blueprints.common import listed, operator_read_required, operator_required
from blueprints.edge import Blueprint
from blueprints.inputs import Id, Instant, Pattern
from models.task import TASK_KINDS
from services.tasks import definitions

blp = Blueprint("admin_tasks", __name__, url_prefix="/admin", description="Operators: tasks")
BLUEPRINTS = (blp,)

AMOUNT = {"strict": True, "load_default": 0, "validate": validate.Range(min=0, max=1_000_000)}


class TierSchema(Schema):
    target = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1_000_000))
    points = fields.Integer(**AMOUNT)
    growth = fields.Integer(**AMOUNT)
    coupon_pack_id = Id(load_default=None, allow_none=True)


class ConditionSchema(Schema):
    min_amount_fen = fields.Integer(strict=True, validate=validate.Range(min=1, max=10**9),
                                    metadata={"description": "payment_paid events of at least this amount"})


class TaskSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=Pattern(r"^[a-z0-9_]{1,32}$"))
    title = fields.String(required=True, validate=validate.Length(min=1, max=64))
    description = fields.String(load_default="", validate=validate.Length(max=255))
    icon = fields.String(load_default="", validate=validate.Length(max=255))
    kind = fields.String(required=True, validate=validate.OneOf(TASK_KINDS))
    event = fields.String(required=True, validate=validate.Length(min=1, max=32))
    target = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=1_000_000))
    condition = fields.Nested(ConditionSchema, load_default=None, allow_none=True)
    reward_points = fields.Integer(**AMOUNT)
    reward_growth = fields.Integer(**AMOUNT)
    reward_pack_id = Id(load_default=None, allow_none=True)
    tiers = fields.List(fields.Nested(TierSchema), load_default=None, allow_none=True,
                        validate=validate.Length(min=1, max=20),
                        metadata={"description": "an achievement's tiers, each paying its own reward"})
    starts_at = Instant(load_default=None, allow_none=True)
    ends_at = Instant(load_default=None, allow_none=True)
    sort_order = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=-10_000, max=10_000))
    page = fields.String(load_default="", validate=validate.Length(max=255))
    enabled = fields.Boolean(load_default=True)
    client_reportable = fields.Boolean(load_default=False)

    @validates_schema
    def _window(self, data, **_kwargs):
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("ends_at must be after starts_at.", "ends_at")


class TaskChangesSchema(TaskSchema):
    """Any subset of a task's fields (sent with partial=True)."""


@blp.route("/tasks")
class Tasks(MethodView):
    @operator_read_required
    @listed(blp, TaskSchema, "TaskList")
    def get(self):
        """Every task, in display order."""
        return definitions.all_tasks()

    @operator_required
    @blp.arguments(TaskSchema)
    @blp.response(201, TaskSchema)
    def post(self, args):
        """Add a task (audited)."""
        return definitions.create_task(g.operator, args)


@blp.route("/tasks/<int:task_id>")
class TaskDetail(MethodView):
    @operator_read_required
    @blp.response(200, TaskSchema)
    def get(self, task_id):
        """One task."""
        return definitions.get_task(task_id)

    @operator_required
    @blp.arguments(TaskChangesSchema(partial=True))
    @blp.response(200, TaskSchema)
    def patch(self, args, task_id):
        """Change a task (audited); rewards already claimed never change."""
        return definitions.update_task(g.operator, task_id, args)

    @operator_required
    @blp.response(204)
    def delete(self, task_id):
        """Switch a task off (audited); its claims stay."""
        definitions.disable_task(g.operator, task_id)
