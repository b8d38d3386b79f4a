"""Operator API for coupons: templates, packs, and handing a pack to a member."""
from flask import g
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from blueprints.common import idempotent, operator_read_required, operator_required, paged
from blueprints.coupons import CouponSchema
from blueprints.edge import Blueprint
from blueprints.inputs import Id, Instant, Reason
from services.coupons import catalog, coupons

blp = Blueprint("admin_coupons", __name__, url_prefix="/admin", description="Operators: coupons")
BLUEPRINTS = (blp,)

NAME = fields.String(required=True, validate=validate.Length(min=1, max=64))
FEN = validate.Range(min=0, max=10**9)  # ten million yuan: far above any coupon, far below the column's limit


def _count(maximum, **kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=maximum), **kwargs)


class CouponTemplateSettingsSchema(Schema):
    """What may change on a template: name, stock, limit, active, and validity for new issues."""

    name = NAME
    total_stock = fields.Integer(load_default=None, allow_none=True, strict=True,
                                 validate=validate.Range(min=0, max=10**8))
    per_member_limit = _count(1000, load_default=None, allow_none=True)
    active = fields.Boolean(load_default=True)
    valid_days = _count(3650, load_default=None)
    valid_from = Instant(load_default=None)
    valid_until = Instant(load_default=None)

    @validates_schema
    def _one_validity(self, data, **_):
        if data.get("valid_days") is not None and (data.get("valid_from") or data.get("valid_until")):
            raise ValidationError("Give either valid_days or valid_from and valid_until, not both.", "valid_days")


class CouponTemplateSchema(CouponTemplateSettingsSchema):
    """A template's terms (fixed once created, so issued coupons never change meaning) and settings."""

    id = fields.Integer(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(["cash_off", "discount", "gift"]))
    amount_fen = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=10**9))
    discount_pct = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=99))
    min_spend_fen = fields.Integer(load_default=0, strict=True, validate=FEN)
    gift_name = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    channel = fields.String(load_default="all", validate=validate.OneOf(["online", "store", "all"]))
    issued = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class CouponTemplateChangesSchema(CouponTemplateSettingsSchema):
    """Any subset of the settings (sent with partial=True); sending any validity field replaces the validity."""


class CouponPackItemSchema(Schema):
    template_id = Id(required=True)
    quantity = _count(20, required=True)


def _items(**kwargs):
    return fields.List(fields.Nested(CouponPackItemSchema), validate=[validate.Length(min=1, max=20), _distinct],
                       **kwargs)


def _distinct(items):
    if len({item["template_id"] for item in items}) != len(items):
        raise ValidationError("Each template appears once; use quantity for more.")


class CouponPackSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = NAME
    active = fields.Boolean(dump_only=True)
    items = _items(required=True)
    created_at = fields.DateTime(dump_only=True)


class CouponPackChangesSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=64))
    active = fields.Boolean()
    items = _items()


class IssueCouponPackSchema(Schema):
    pack_id = Id(required=True)
    reason = Reason()


class AdminCouponSchema(CouponSchema):
    id = fields.Integer()
    template_id = fields.Integer()
    member_id = fields.Integer()


IssuedSchema = Schema.from_dict({"coupons": fields.List(fields.Nested(AdminCouponSchema))}, name="IssuedCoupons")


@blp.route("/coupon-templates")
class Templates(MethodView):
    @operator_read_required
    @paged(blp, CouponTemplateSchema, "CouponTemplatePage")
    def get(self, args):
        """Coupon templates, newest first."""
        return catalog.find_templates(**args)

    @operator_required
    @blp.arguments(CouponTemplateSchema)
    @blp.response(201, CouponTemplateSchema)
    def post(self, args):
        """Add a coupon template: cash_off (amount_fen), discount (discount_pct) or gift (gift_name)."""
        return catalog.create_template(args)


@blp.route("/coupon-templates/<int:template_id>")
class TemplateDetail(MethodView):
    @operator_read_required
    @blp.response(200, CouponTemplateSchema)
    def get(self, template_id):
        """One coupon template with how many were issued."""
        return catalog.get_template(template_id)

    @operator_required
    @blp.arguments(CouponTemplateChangesSchema(partial=True))
    @blp.response(200, CouponTemplateSchema)
    def patch(self, args, template_id):
        """Change a template's settings; its terms stay as created."""
        return catalog.update_template(template_id, args)

    @operator_required
    @blp.response(204)
    def delete(self, template_id):
        """Deactivate a template: no new coupons; issued ones stay usable."""
        catalog.deactivate_template(template_id)


@blp.route("/coupon-packs")
class Packs(MethodView):
    @operator_read_required
    @paged(blp, CouponPackSchema, "CouponPackPage")
    def get(self, args):
        """Coupon packs, newest first."""
        return catalog.find_packs(**args)

    @operator_required
    @blp.arguments(CouponPackSchema)
    @blp.response(201, CouponPackSchema)
    def post(self, args):
        """Add a coupon pack of existing templates (an unknown template is a 422)."""
        return catalog.create_pack(**args)


@blp.route("/coupon-packs/<int:pack_id>")
class PackDetail(MethodView):
    @operator_read_required
    @blp.response(200, CouponPackSchema)
    def get(self, pack_id):
        """One coupon pack."""
        return catalog.get_pack(pack_id)

    @operator_required
    @blp.arguments(CouponPackChangesSchema)
    @blp.response(200, CouponPackSchema)
    def patch(self, args, pack_id):
        """Rename, (re)activate or change a pack's items; coupons already issued stay."""
        return catalog.update_pack(pack_id, args)

    @operator_required
    @blp.response(204)
    def delete(self, pack_id):
        """Deactivate a pack."""
        catalog.deactivate_pack(pack_id)


@blp.route("/members/<int:member_id>/coupon-packs")
class MemberPacks(MethodView):
    @operator_required
    @idempotent
    @blp.arguments(IssueCouponPackSchema)
    @blp.response(201, IssuedSchema)
    def post(self, args, member_id):
        """Hand a pack to a member by hand (audited, reason required; honours Idempotency-Key)."""
        issued = coupons.issue_pack_by_operator(g.operator, member_id, args["pack_id"], reason=args["reason"],
                                                request_key=g.request_key)
        return {"coupons": issued}
