"""Purchases paid with WeChat Pay, and WeChat Pay's payment and refund notifications."""
import logging

from flask import Response, g, request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from blueprints.common import client_address, current_member, idempotent, member_required
from blueprints.edge import Blueprint
from blueprints.inputs import Fen, Id
from services.payments import payments, refunds
from services.platform import metrics
from services.read_models import payment_result
from services.wechat import pay

log = logging.getLogger(__name__)

blp = Blueprint("payments", __name__, url_prefix="/payments", description="WeChat Pay purchases")
BLUEPRINTS = (blp,)


class PaymentCreateSchema(Schema):
    amount_fen = Fen(required=True)
    description = fields.String(required=True, validate=validate.Length(min=1, max=127))
    store_id = Id(load_default=None, allow_none=True)
    coupon_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=32))


class PaymentSchema(Schema):
    id = fields.Integer()
    out_trade_no = fields.String()
    status = fields.String()
    amount_fen = fields.Integer()
    original_amount_fen = fields.Integer()
    discount_fen = fields.Integer()
    refunded_fen = fields.Integer()
    coupon_code = fields.String(allow_none=True)
    store_id = fields.Integer(allow_none=True)
    description = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)


class RewardsSchema(Schema):
    points = fields.Integer(attribute="points_awarded")
    growth = fields.Integer(attribute="growth_awarded")
    coupons = fields.List(fields.String(), attribute="coupon_codes")
    guide = fields.Dict(allow_none=True, dump_default=None)


class PaymentCreatedSchema(Schema):
    payment = fields.Nested(PaymentSchema)
    pay = fields.Dict(metadata={"description": "the parameters for wx.requestPayment"})


class PaymentResultSchema(Schema):
    payment = fields.Nested(PaymentSchema)
    rewards = fields.Nested(RewardsSchema, allow_none=True)


XML_BODY = {"requestBody": {"content": {"text/xml": {"schema": {"type": "string"}}}},
            "responses": {"200": {"description": "WeChat's XML SUCCESS / FAIL",
                                  "content": {"text/xml": {"schema": {"type": "string"}}}}}}


@blp.route("")
class Payments(MethodView):
    @member_required
    @idempotent
    @blp.arguments(PaymentCreateSchema)
    @blp.response(201, PaymentCreatedSchema)
    def post(self, args):
        """Start a purchase: the payment and the parameters for wx.requestPayment (honours Idempotency-Key)."""
        payment, request_payment = payments.create_payment(current_member(), client_ip=client_address(), **args)
        return {"payment": payment, "pay": request_payment}


@blp.route("/<int:payment_id>")
class PaymentResult(MethodView):
    @member_required
    @blp.response(200, PaymentResultSchema)
    def get(self, payment_id):
        """One of the member's payments and, once paid, what it earned."""
        return payment_result.payment_result(g.card.id, payment_id)


@blp.route("/wechat/notify", methods=["POST"])
@blp.doc(**XML_BODY)
def payment_notification():
    """WeChat Pay v2 payment notification (signed XML); SUCCESS only after the payment is committed."""
    return _xml_reply("payment", payments.handle_notification)


@blp.route("/wechat/refund-notify", methods=["POST"])
@blp.doc(**XML_BODY)
def refund_notification():
    """WeChat Pay v2 refund notification (encrypted req_info)."""
    return _xml_reply("refund", refunds.handle_notification)


def _xml_reply(kind: str, handle) -> Response:
    body = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH: 413 before anything is read
    try:
        ok, message = handle(body)
        outcome = "success" if ok else "fail"
    except pay.InvalidNotification as exc:
        log.warning("notification refused: %s", exc)
        ok, message, outcome = False, "invalid notification", "invalid"
    except Exception:  # WeChat must get XML back whatever happened; FAIL makes it retry later
        log.exception("notification handling failed")
        ok, message, outcome = False, "retry later", "error"
    metrics.count_notify(kind, outcome)
    return Response(pay.notification_reply(ok, message), mimetype="text/xml")
