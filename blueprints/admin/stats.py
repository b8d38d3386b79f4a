"""Operator API for the daily figures: GET /admin/stats and the same series as CSV (viewers may read them)."""
from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from blueprints.common import operator_read_required
from blueprints.edge import Blueprint
from blueprints.inputs import Day
from services.platform.replica import for_reports
from services.stats import report

blp = Blueprint("admin_stats", __name__, url_prefix="/admin", description="Operators: daily figures")
BLUEPRINTS = (blp,)

COUNT = {"allow_none": True}
SHARE = {"allow_none": True, "metadata": {"description": "0..1; null when unknown (or no one joined that day)"}}


class FiguresArgsSchema(Schema):
    from_ = Day(data_key="from", required=True, metadata={"description": "the first business day (TIMEZONE)"})
    to = Day(required=True, metadata={"description": "the last; at most 366 days, days after today have no figures"})
    granularity = fields.String(load_default="day", validate=validate.OneOf(report.GRANULARITIES))


_FIGURES = {
    "days": fields.Integer(metadata={"description": "days with figures in the bucket"}),
    **{name: fields.Integer(**COUNT) for name in report.COMPARED},
    "members_by_level": fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True,
                                    metadata={"description": "members at each level (code) at the end"}),
    **{name: fields.Dict(keys=fields.String(), allow_none=True) for name in report.BREAKDOWNS},
}
FiguresBucketSchema = Schema.from_dict({"date": fields.Date(metadata={"description": "the bucket's first day"}),
                                      **_FIGURES}, name="FiguresBucket")
FiguresTotalsSchema = Schema.from_dict({**_FIGURES, "redemption_rate": fields.Float(**SHARE),
                                      "breakage_rate": fields.Float(**SHARE)}, name="FiguresTotals")
ReturnsSchema = Schema.from_dict({f"d{n}": fields.Float(**SHARE) for n in report.RETURN_DAYS}, name="FiguresReturns")


class CohortSchema(Schema):
    date = fields.Date(metadata={"description": "the day the members joined"})
    new_members = fields.Integer(allow_none=True)
    retention = fields.Nested(ReturnsSchema, metadata={"description": "the share active N days later"})
    signin_retention = fields.Nested(ReturnsSchema, metadata={"description": "the share signed in N days later"})


class FiguresSchema(Schema):
    from_ = fields.Date(attribute="from", data_key="from")
    to = fields.Date()
    through = fields.Date(metadata={"description": "the last day of the series: `to`, or today if `to` is later"})
    granularity = fields.String()
    series = fields.List(fields.Nested(FiguresBucketSchema))
    totals = fields.Nested(FiguresTotalsSchema)
    previous = fields.Nested(FiguresTotalsSchema,
                             metadata={"description": "the totals of the range as long just before"})
    change = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True),
                         metadata={"description": "totals against previous, as a share of it; null on a zero baseline"})
    cohorts = fields.List(fields.Nested(CohortSchema))


def _figures(args: dict) -> dict:
    return report.report(since=args["from_"], until=args["to"], granularity=args["granularity"])


@blp.route("/stats")
class Stats(MethodView):
    @operator_read_required
    @for_reports
    @blp.arguments(FiguresArgsSchema, location="query")
    @blp.response(200, FiguresSchema)
    def get(self, args):
        """The daily figures of a range by day, week or month: series, totals, the range before, cohorts."""
        return _figures(args)


@blp.route("/stats.csv")
class StatsCsv(MethodView):
    @operator_read_required
    @for_reports
    @blp.arguments(FiguresArgsSchema, location="query")
    @blp.doc(responses={"200": {"description": "the series as CSV, one bucket a line",
                                "content": {"text/csv": {"schema": {"type": "string"}}}}})
    def get(self, args):
        """The series of GET /admin/stats as CSV (for finance)."""
        return Response(report.as_csv(_figures(args)), mimetype="text/csv", headers={
            "Content-Disposition": f"attachment; filename=stats-{args['from_']}-{args['to']}.csv"})
