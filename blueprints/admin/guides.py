"""Operator API: the stores' guides (audited), and moving a leaving guide's members to another."""
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from blueprints.common import PageArgsSchema, listed, operator_read_required, operator_required, paged
from blueprints.edge import Blueprint
from blueprints.inputs import Id, Pattern
from models.guide import GUIDE_METRICS, GUIDE_STATUSES, TARGET_PERIODS
from services.guides import guides, targets

blp = Blueprint("admin_guides", __name__, url_prefix="/admin", description="Operators: guides")
BLUEPRINTS = (blp,)


class OperatorGuideSchema(Schema):
    id = fields.Integer(dump_only=True)
    store_id = Id(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=32))
    phone = fields.String(required=True, validate=Pattern(r"^\+?\d{5,19}$"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=128))
    wecom_userid = fields.String(load_default=None, allow_none=True, validate=Pattern(r"^[0-9A-Za-z_.@-]{1,64}$"))
    qr_image_url = fields.Url(load_default=None, allow_none=True, schemes={"https", "http"},
                              validate=validate.Length(max=512),
                              metadata={"description": "the guide's own QR image, shown without WeCom"})
    status = fields.String(dump_only=True, metadata={"enum": list(GUIDE_STATUSES)})
    wecom_qr_url = fields.String(dump_only=True, allow_none=True)
    wecom_error = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class GuideChangesSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=32))
    phone = fields.String(validate=Pattern(r"^\+?\d{5,19}$"))
    password = fields.String(validate=validate.Length(min=8, max=128))
    wecom_userid = fields.String(allow_none=True, validate=Pattern(r"^[0-9A-Za-z_.@-]{1,64}$"))
    qr_image_url = fields.Url(allow_none=True, schemes={"https", "http"}, validate=validate.Length(max=512))
    status = fields.String(validate=validate.OneOf(GUIDE_STATUSES))


class GuideArgsSchema(PageArgsSchema):
    store_id = Id(strict=False, load_default=None)


class TransferSchema(Schema):
    to_guide_id = Id(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=255))


class TransferredSchema(Schema):
    moved = fields.Integer()


@blp.route("/guides")
class Guides(MethodView):
    @operator_read_required
    @paged(blp, OperatorGuideSchema, "GuidePage", GuideArgsSchema)
    def get(self, args):
        return guides.find_guides(**args)

    @operator_required
    @blp.arguments(OperatorGuideSchema)
    @blp.response(201, OperatorGuideSchema)
    def post(self, args):
        """Add a guide to a store (audited); with a WeCom userid its 联系我 code is made by a job."""
        return guides.create_guide(g.operator, args)


@blp.route("/guides/<int:guide_id>")
class GuideDetail(MethodView):
    @operator_read_required
    @blp.response(200, OperatorGuideSchema)
    def get(self, guide_id):
        return guides.get_guide(guide_id)

    @operator_required
    @blp.arguments(GuideChangesSchema)
    @blp.response(200, OperatorGuideSchema)
    def patch(self, args, guide_id):
        """Change a guide (audited); disabling them, or a new phone or password, ends their tokens at once."""
        return guides.update_guide(g.operator, guide_id, args)


@blp.route("/guides/<int:guide_id>/transfer")
class Transfer(MethodView):
    @operator_required
    @blp.arguments(TransferSchema)
    @blp.response(200, TransferredSchema)
    def post(self, args, guide_id):
        """Move every member of a guide to another active guide of the same store (audited)."""
        return {"moved": guides.transfer_members(g.operator, guide_id, **args)}


class TargetSchema(Schema):
    id = fields.Integer(dump_only=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=64))
    metric = fields.String(required=True, validate=validate.OneOf(GUIDE_METRICS))
    period = fields.String(required=True, validate=validate.OneOf(TARGET_PERIODS))
    target = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**9))
    store_id = Id(load_default=None, allow_none=True)
    guide_id = Id(load_default=None, allow_none=True)
    active = fields.Boolean(dump_only=True)


@blp.route("/guide-targets")
class Targets(MethodView):
    @operator_read_required
    @listed(blp, TargetSchema, "GuideTargetList")
    def get(self):
        return targets.all_targets()

    @operator_required
    @blp.arguments(TargetSchema)
    @blp.response(201, TargetSchema)
    def post(self, args):
        """导购任务: a weekly or monthly target for one guide, a store's guides (store_id) or all (audited)."""
        return targets.create_target(g.operator, args)


@blp.route("/guide-targets/<int:target_id>")
class TargetDetail(MethodView):
    @operator_required
    @blp.response(204)
    def delete(self, target_id):
        """End a target (audited)."""
        targets.end_target(g.operator, target_id)
