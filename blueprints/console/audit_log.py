"""The console's audit log: the operators' audited changes, newest first, by operator, action and business
days (services.platform.audit_trail, the rows every audited service writes)."""
from datetime import date, timedelta

from flask import request
from marshmallow import ValidationError, fields, validate, validates_schema

from blueprints.common import PageArgsSchema
from blueprints.console.base import bp, menu_entry, operator_page, render
from blueprints.console.i18n import words
from blueprints.console.query import load_query
from services.platform import audit_trail, clock
from services.platform.replica import for_reports

words({"operator": "操作人", "action": "操作", "since": "起始日期", "until": "截止日期", "target_type": "对象类型",
       "target_id": "对象 ID", "details": "详情"})

COLUMNS = ("id", "created_at", "operator", "action", "target_type", "target_id", "reason", "details")


DAYS = validate.Range(min=date(2000, 1, 1), max=date(9000, 12, 31))


class AuditArgsSchema(PageArgsSchema):
    """The audit log's filters: an operator's username, an action (points.adjust, order.ship…), and the
    first and last business days (YYYY-MM-DD)."""
    operator = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    action = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    since = fields.Date(load_default=None, validate=DAYS)
    until = fields.Date(load_default=None, validate=DAYS)

    @validates_schema
    def _in_order(self, data, **_kwargs):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError("Must not be before since.", "until")


@bp.get("/audit-log")
@menu_entry("", "Audit log")
@operator_page
@for_reports
def audit_log():
    args, errors = load_query(AuditArgsSchema(), limit=50)
    found = {"items": [], "next_cursor": None, "operators": {}}
    if not errors:
        since, until = args.pop("since"), args.pop("until")
        found = audit_trail.find_entries(since=clock.start_of_day(since) if since else None,
                                         until=clock.start_of_day(until + timedelta(days=1)) if until else None,
                                         **args)
    rows = [{**{column: getattr(entry, column, None) for column in COLUMNS},
             "operator": found["operators"].get(entry.operator_id, entry.operator_id)} for entry in found["items"]]
    return render("audit_log.html", 422 if errors else 200, rows=rows, columns=COLUMNS, errors=errors,
                  next_cursor=found["next_cursor"], filters=_filters())


def _filters() -> dict:
    return {name: request.args.get(name, "") for name in ("operator", "action", "since", "until")
            if "\x00" not in request.args.get(name, "")}
