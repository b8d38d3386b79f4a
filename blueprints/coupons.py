"""The member's coupons."""
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields

from blueprints.common import PageArgsSchema, member_required, paged
from blueprints.edge import Blueprint
from blueprints.inputs import Filter
from models.coupon import COUPON_STATUSES
from services.coupons import coupons

blp = Blueprint("coupons", __name__, url_prefix="/coupons", description="Coupons")
BLUEPRINTS = (blp,)


class CouponSchema(Schema):
    """A coupon as its holder sees it; the terms come from its template."""

    code = fields.String()
    name = fields.String(attribute="template.name")
    kind = fields.String(attribute="template.kind")
    status = fields.Function(coupons.shown_status, metadata={"type": "string", "enum": list(COUPON_STATUSES)})
    amount_fen = fields.Integer(attribute="template.amount_fen", allow_none=True)
    discount_pct = fields.Integer(attribute="template.discount_pct", allow_none=True)
    min_spend_fen = fields.Integer(attribute="template.min_spend_fen")
    gift_name = fields.String(attribute="template.gift_name", allow_none=True)
    channel = fields.String(attribute="template.channel")
    valid_from = fields.DateTime()
    valid_until = fields.DateTime()
    source = fields.String()
    held = fields.Function(lambda coupon: coupon.held_by is not None, metadata={"type": "boolean"})


class CouponListArgsSchema(PageArgsSchema):
    status = Filter(COUPON_STATUSES)


@blp.route("")
class Coupons(MethodView):
    @member_required
    @paged(blp, CouponSchema, "CouponPage", CouponListArgsSchema)
    def get(self, args):
        """The signed-in member's coupons, newest first, optionally by status."""
        return coupons.find_coupons(g.card.id, **args)
