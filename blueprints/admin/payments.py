"""Operator API for payments: stores, after-payment rules, payments and refunds, and the daily match with
WeChat Pay's bill (对账单): each day's outcome and findings."""
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from blueprints.common import PageArgsSchema, idempotent, listed, operator_read_required, operator_required, paged
from blueprints.edge import Blueprint
from blueprints.inputs import Fen, Filter, Id, Instant, Reason
from blueprints.payments import PaymentSchema
from models.payment import BILL_OUTCOMES, PAYMENT_STATUSES, REFUND_STATUSES, REWARD_STATUSES
from services.payments import bills, payments, refunds, rules, stores
from services.platform.replica import for_reports

blp = Blueprint("admin_payments", __name__, url_prefix="/admin", description="Operators: payments")
BLUEPRINTS = (blp,)


class StoreSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    active = fields.Boolean(dump_only=True)


class PaymentRuleSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    min_amount_fen = Fen(required=True, minimum=0)
    coupon_pack_id = Id(required=True)
    store_id = Id(load_default=None, allow_none=True)
    starts_at = Instant(load_default=None, allow_none=True)
    ends_at = Instant(load_default=None, allow_none=True)
    per_member_limit = fields.Integer(load_default=None, allow_none=True, strict=True,
                                      validate=validate.Range(min=1, max=10_000))
    active = fields.Boolean(load_default=True)


class PaymentRuleChangesSchema(PaymentRuleSchema):
    """Any subset of a rule's fields (sent with partial=True)."""


class RefundRequestSchema(Schema):
    amount_fen = Fen(required=True)
    reason = Reason()


class RefundSchema(Schema):
    id = fields.Integer()
    payment_id = fields.Integer()
    out_refund_no = fields.String()
    amount_fen = fields.Integer()
    status = fields.String()
    reason = fields.String()
    points_reversed = fields.Integer()
    growth_reversed = fields.Integer()
    coupons_revoked = fields.Integer()
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True, metadata={"description": "when WeChat accepted the request"})
    attempts = fields.Integer(metadata={"description": "sends or queries that failed so far"})
    retry_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    failure_reason = fields.String(allow_none=True, metadata={"description": "WeChat's final no, when failed"})
    succeeded_at = fields.DateTime(allow_none=True)


class RefundSearchSchema(PageArgsSchema):
    status = Filter(REFUND_STATUSES)


class AdminPaymentSchema(PaymentSchema):
    member_id = fields.Integer()
    transaction_id = fields.String(allow_none=True)
    paid_after_close = fields.Boolean()
    points_awarded = fields.Integer()
    growth_awarded = fields.Integer()
    coupon_codes = fields.List(fields.String(), allow_none=True)
    rule_id = fields.Integer(allow_none=True)
    reward_status = fields.String(allow_none=True, metadata={"description": "due, rewarded, withheld (member frozen), "
                                                             "retrying (after an error), none (paid after close)"})
    reward_error = fields.String(allow_none=True)
    reward_attempts = fields.Integer()
    attention = fields.String(allow_none=True, metadata={"description": "a problem only a person can settle"})


class PaymentSearchSchema(PageArgsSchema):
    status = Filter(PAYMENT_STATUSES)
    member_id = Id(strict=False, load_default=None)
    reward_status = Filter(REWARD_STATUSES)
    attention = fields.Boolean(load_default=None, metadata={"description": "only payments a person must look at"})


@blp.route("/stores")
class Stores(MethodView):
    @operator_read_required
    @listed(blp, StoreSchema, "StoreList")
    def get(self):
        """Every store."""
        return stores.all_stores()

    @operator_required
    @blp.arguments(StoreSchema)
    @blp.response(201, StoreSchema)
    def post(self, args):
        """Add a store."""
        return stores.create_store(**args)


@blp.route("/payment-rules")
class PaymentRules(MethodView):
    @operator_read_required
    @listed(blp, PaymentRuleSchema, "PaymentRuleList")
    def get(self):
        """Every after-payment (支付有礼) rule."""
        return rules.all_rules()

    @operator_required
    @blp.arguments(PaymentRuleSchema)
    @blp.response(201, PaymentRuleSchema)
    def post(self, args):
        """Add a rule: a payment of at least min_amount_fen earns the coupon pack."""
        return rules.create_rule(args)


@blp.route("/payment-rules/<int:rule_id>")
class PaymentRuleDetail(MethodView):
    @operator_read_required
    @blp.response(200, PaymentRuleSchema)
    def get(self, rule_id):
        """One rule."""
        return rules.get_rule(rule_id)

    @operator_required
    @blp.arguments(PaymentRuleChangesSchema(partial=True))
    @blp.response(200, PaymentRuleSchema)
    def patch(self, args, rule_id):
        """Change a rule (payments already rewarded keep what they got)."""
        return rules.update_rule(rule_id, args)

    @operator_required
    @blp.response(204)
    def delete(self, rule_id):
        """Switch a rule off."""
        rules.deactivate_rule(rule_id)


@blp.route("/payments")
class PaymentList(MethodView):
    @operator_read_required
    @for_reports
    @paged(blp, AdminPaymentSchema, "AdminPaymentPage", PaymentSearchSchema)
    def get(self, args):
        """Payments, newest first, by status or member."""
        return payments.find_payments(**args)


@blp.route("/payments/<int:payment_id>")
class PaymentDetail(MethodView):
    @operator_read_required
    @blp.response(200, AdminPaymentSchema)
    def get(self, payment_id):
        """One payment with its rewards."""
        return payments.get_payment(payment_id)


@blp.route("/payments/<int:payment_id>/refund")
class PaymentRefund(MethodView):
    @operator_required
    @idempotent(required=True)
    @blp.arguments(RefundRequestSchema)
    @blp.response(200, RefundSchema)
    def post(self, args, payment_id):
        """Refund all or part of a payment (audited; Idempotency-Key required); sent to WeChat until it
        answers, and rewards are taken back when WeChat confirms."""
        return refunds.refund_by_operator(g.operator, payment_id, request_key=g.request_key, **args)


@blp.route("/refunds")
class RefundList(MethodView):
    @operator_read_required
    @for_reports
    @paged(blp, RefundSchema, "RefundPage", RefundSearchSchema)
    def get(self, args):
        """Refunds, newest first, by status (failed: WeChat's definite no, for a person to settle)."""
        return refunds.find_refunds(**args)


@blp.route("/refunds/<int:refund_id>")
class RefundDetail(MethodView):
    @operator_read_required
    @blp.response(200, RefundSchema)
    def get(self, refund_id):
        """One refund, with where it stands at WeChat."""
        return refunds.get_refund(refund_id)


@blp.route("/refunds/<int:refund_id>/retry")
class RefundRetry(MethodView):
    @operator_required
    @idempotent(required=True)
    @blp.response(200, RefundSchema)
    def post(self, refund_id):
        """Send an open refund to WeChat again now, with the same out_refund_no (audited; Idempotency-Key
        required). Reconcile does so by itself, with backoff."""
        return refunds.retry_by_operator(g.operator, refund_id)


# -- WeChat Pay's bill ------------------------------------------------------------------------------

class BillFindingSchema(Schema):
    what = fields.String(metadata={"description": "settled, refunded_paid_after_close, refund_settled (mended); "
                                                  "unknown_payment, amount_differs, transaction_differs, "
                                                  "unknown_refund, refund_amount_differs, refund_failed_here, "
                                                  "missing_from_bill (for a person)"})
    needs_person = fields.Boolean()
    message = fields.String()
    out_trade_no = fields.String(allow_none=True)
    transaction_id = fields.String(allow_none=True)
    out_refund_no = fields.String(allow_none=True)
    amount_fen = fields.Integer(allow_none=True)
    refund_fen = fields.Integer(allow_none=True)


class BillReconciliationSchema(Schema):
    id = fields.Integer()
    bill_date = fields.Date(metadata={"description": "the Beijing day of the bill"})
    outcome = fields.String(metadata={"description": "reconciled, attention (findings for a person), no_bill"})
    lines = fields.Integer(metadata={"description": "payment and refund lines on WeChat's bill"})
    matched = fields.Integer(metadata={"description": "lines our books agreed with (last run)"})
    mended = fields.Integer(metadata={"description": "payments settled or refunded and refunds settled, all runs"})
    attention = fields.Integer(metadata={"description": "findings for a person (last run)"})
    findings = fields.List(fields.Nested(BillFindingSchema))
    runs = fields.Integer()
    first_run_at = fields.DateTime()
    last_run_at = fields.DateTime()


class BillSearchSchema(PageArgsSchema):
    outcome = Filter(BILL_OUTCOMES)


@blp.route("/bills")
class BillList(MethodView):
    @operator_read_required
    @for_reports
    @paged(blp, BillReconciliationSchema, "BillReconciliationPage", BillSearchSchema)
    def get(self, args):
        """Each day of WeChat Pay's bill matched with our books, newest first (outcome=attention: the days a
        person must look at)."""
        return bills.find_reconciliations(**args)
