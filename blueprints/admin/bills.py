"""Operator API for the daily match with WeChat Pay's bill (对账单): each day's outcome and findings."""
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from blueprints.common import PageArgsSchema, operator_read_required, page_schema
from blueprints.edge import Blueprint
from models.payment import BILL_OUTCOMES
from services.payments import bills

blp = Blueprint("admin_bills", __name__, url_prefix="/admin", description="Operators: WeChat Pay bills")
BLUEPRINTS = (blp,)


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
    outcome = fields.String(load_default=None, validate=validate.OneOf(BILL_OUTCOMES))


@blp.route("/bills")
class BillList(MethodView):
    @operator_read_required
    @blp.arguments(BillSearchSchema, location="query")
    @blp.response(200, page_schema(BillReconciliationSchema, "BillReconciliationPage"))
    def get(self, args):
        """Each day of WeChat Pay's bill matched with our books, newest first (outcome=attention: the days a
        person must look at)."""
        return bills.find_reconciliations(**args)
