"""The dashboard: one request for the page, one for its figures (the same report as GET /admin/stats, read
by the charts' script), the to-dos, and the figures as CSV."""
from datetime import timedelta

from flask import Response, request, url_for
from marshmallow import ValidationError

from blueprints.admin.stats import FiguresArgsSchema, FiguresSchema
from blueprints.console.base import bp, menu_entry, operator_page, render
from blueprints.console.i18n import translate, words
from services.platform import clock
from services.platform.errors import InvalidRequest
from services.platform.replica import for_reports
from services.read_models.to_dos import to_dos
from services.stats import report

DEFAULT_DAYS = 30
# what the pies name: ledger reasons and "none" (members without a level); other codes show as they are
NAMES = {"signin": "Sign-in", "signin_makeup": "Make-up", "task": "Task", "purchase": "Purchase",
         "store_purchase": "In-store purchase", "lottery": "Lottery", "lottery_prize": "Lottery prize",
         "mall": "Mall", "mall_refund": "Mall refund", "admin_adjust": "Operator", "expired": "Expired",
         "refund": "Refund", "levelup": "Level-up gift", "birthday": "Birthday",
         "invite_friend": "Invited friend's gift", "invite_inviter": "Invitation reward", "none": "No level"}

words({"From": "开始日期", "To": "结束日期", "Day": "按日", "Week": "按周", "Month": "按月", "Show": "查询",
       "Export CSV": "导出 CSV", "To-dos": "待办", "Orders to ship": "待发货订单", "Payments needing a person":
       "待人工处理的支付", "Refunds that failed": "退款失败", "Bill days with findings": "对账异常天数",
       "New members": "新增会员", "Active members": "活跃会员", "Sign-ins": "签到", "Make-ups": "补签",
       "Points issued": "积分发放", "Points spent": "积分消耗", "Points expired": "积分过期",
       "Points outstanding": "积分余额", "Liability (yuan)": "积分负债（元）", "Payments": "支付笔数",
       "Refunds": "退款笔数", "vs previous period": "较上期", "Where points came from": "积分来源",
       "Where points went": "积分去向", "Members by level": "会员等级分布", "Retention cohorts": "留存（同期群）",
       "Joined": "加入日期", "Day 1": "次日", "Day 7": "7 日", "Day 30": "30 日",
       "Payments and refunds (yuan)": "支付与退款（元）", "Points": "积分", "Members and activity": "会员与活跃",
       "Sign-ins and make-ups": "签到与补签", "Sign-in": "签到", "Make-up": "补签", "Task": "任务",
       "Purchase": "消费", "In-store purchase": "门店消费", "Lottery": "抽奖", "Lottery prize": "抽奖奖品",
       "Mall refund": "商城退款", "Operator": "人工调整", "Expired": "过期", "Refund": "退款",
       "Level-up gift": "升级礼", "Birthday": "生日礼", "No level": "无等级",
       "Invited friend's gift": "受邀好友礼", "Invitation reward": "邀请奖励",
       "Sign-in retention": "签到留存", "Activity retention": "活跃留存",
       "Invitations (邀请有礼)": "邀请有礼", "Friends joined": "好友加入", "Friends qualified": "好友达成",
       "Inviters rewarded": "邀请人获奖"})


@bp.get("/")
@menu_entry("", "Dashboard")
@operator_page
@for_reports
def dashboard():
    try:
        args, problems = _range(), None
    except InvalidRequest as error:
        args, problems = _range(default=True), error.details
    return render("dashboard.html", 400 if problems else 200, args=args, problems=problems, to_dos=to_dos(),
                  names={code: translate(name) for code, name in NAMES.items()},
                  data_url=_with_range("console.figures", args), csv_url=_with_range("console.figures_csv", args))


@bp.get("/figures.json")
@operator_page
@for_reports
def figures():
    return FiguresSchema().dump(report.report(**_report_args(_range())))


@bp.get("/figures.csv")
@operator_page
@for_reports
def figures_csv():
    args = _range()
    answer = report.report(**_report_args(args))
    name = f"figures-{args['from_']}-{args['to']}-{args['granularity']}.csv"
    return Response(report.as_csv(answer), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


def _range(default: bool = False) -> dict:
    """The query's range with the API's rules (the last 30 days by default)."""
    today = clock.today()
    query = {"from": str(today - timedelta(days=DEFAULT_DAYS - 1)), "to": str(today)}
    if not default:
        query.update((name, request.args[name]) for name in ("from", "to", "granularity") if name in request.args)
    try:
        args = FiguresArgsSchema().load(query)
    except ValidationError as error:
        raise InvalidRequest("The range is not valid.", details=error.messages) from None
    report.check_range(args["from_"], args["to"])
    return args


def _report_args(args: dict) -> dict:
    return {"since": args["from_"], "until": args["to"], "granularity": args["granularity"]}


def _with_range(endpoint: str, args: dict) -> str:
    return url_for(endpoint, **{"from": args["from_"].isoformat(), "to": args["to"].isoformat(),
                                "granularity": args["granularity"]})
