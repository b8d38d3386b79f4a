"""Console pages for members: the search (as GET /admin/members), one member's page (profile, level and its
history, a month of sign-ins, points and growth ledgers, mall orders, coupons, guide, invited friends) with its sections
paged by htmx, and the admin's points adjustment (once per form) and freezing, through the API's schemas
and audited services."""
import json

from flask import abort, g, request, url_for

from blueprints.admin.members import AdjustPointsSchema, MemberSearchSchema, MemberStatusSchema
from blueprints.console.base import answer_form, bp, menu_entry, operator_page, render
from blueprints.console.forms import form_for, submit
from blueprints.console.i18n import words
from blueprints.console.keyed import keyed, once
from blueprints.console.query import load_query
from blueprints.signin import CalendarArgsSchema
from services.coupons import coupons
from services.invites import invitations
from services.ledger import grants, growth, points
from services.levels import member_level
from services.mall import orders
from services.members import cards, operators
from services.members import members as member_rows
from services.platform.replica import for_reports
from services.read_models import member_view
from services.signin import calendar

words({"Member": "会员", "Search by id, phone, openid or nickname": "按 ID、手机号、openid 或昵称搜索",
       "Profile": "资料", "Level": "等级", "Level history": "等级变动", "Points": "积分", "Growth": "成长值",
       "Points ledger": "积分流水", "Growth ledger": "成长值流水", "Sign-in calendar": "签到日历",
       "Mall orders": "商城订单", "Coupons": "优惠券", "Guide": "专属导购", "No guide": "未绑定导购",
       "Adjust points": "调整积分", "Member status": "会员状态", "Freeze or unfreeze": "冻结 / 解冻",
       "id": "ID", "openid": "openid", "nickname": "昵称", "phone": "手机号", "created_at": "创建时间",
       "active": "正常", "frozen": "已冻结", "delta": "变动", "reason": "原因", "kind": "类型",
       "balance_after": "变动后余额", "total_after": "变动后累计", "reference": "关联", "balance": "余额",
       "available": "可用", "growth": "成长值", "growth_to_next": "距下一等级", "next_level": "下一等级",
       "from": "原等级", "to": "新等级", "cause": "原因", "at": "时间", "streak": "连续签到",
       "total_days": "累计签到", "longest_streak": "最长连续", "signed": "已签", "made_up": "补签",
       "missed": "未签", "today": "今天", "future": "未来", "code": "券码", "template_id": "模板 ID",
       "valid_until": "有效期至", "source": "来源", "order_no": "订单号", "goods_name": "商品", "points": "积分",
       "amount_fen": "金额（分）", "earn": "获得", "spend": "消费", "expire": "过期", "reverse": "冲正",
       "Invited friends": "邀请的好友", "member_id": "会员 ID", "state": "状态", "refusal": "拒绝原因",
       "joined_at": "加入时间", "qualified_at": "达成时间", "rewarded_at": "奖励时间", "joined": "已加入",
       "qualified": "已达成", "rewarded": "已奖励", "reversed": "已退回", "refused": "已拒绝",
       "Previous month": "上个月", "Next month": "下个月", "Adjust": "调整", "store": "门店"})

PAGE = 20
MEMBER_COLUMNS = ("id", "nickname", "phone", "openid", "status", "created_at")
# a member page's paged sections: the operator-side read of each, and its columns
SECTIONS = {
    "points": (lambda member_id, cursor: points.find_entries(member_id, limit=PAGE, cursor=cursor),
               ("id", "kind", "delta", "balance_after", "reason", "reference", "created_at")),
    "growth": (lambda member_id, cursor: growth.find_entries(member_id, limit=PAGE, cursor=cursor),
               ("id", "kind", "delta", "total_after", "reason", "reference", "created_at")),
    "orders": (lambda member_id, cursor: orders.find_orders(status=None, member_id=member_id, goods_id=None,
                                                            limit=PAGE, cursor=cursor),
               ("id", "order_no", "goods_name", "status", "points", "amount_fen", "created_at")),
    "coupons": (lambda member_id, cursor: coupons.find_coupons(member_id, status=None, limit=PAGE, cursor=cursor),
                ("id", "code", "template_id", "status", "source", "valid_until")),
    # as GET /admin/members/{id}/invites: the latest friends, one page
    "invites": (lambda member_id, _cursor: {"items": invitations.member_invitations(member_id)["friends"],
                                            "next_cursor": None},
                ("member_id", "nickname", "state", "refusal", "joined_at", "qualified_at", "rewarded_at")),
}
SECTION_TITLES = {"points": "Points ledger", "growth": "Growth ledger", "orders": "Mall orders", "coupons": "Coupons",
                  "invites": "Invited friends"}


@bp.get("/members")
@menu_entry("", "Members")
@operator_page
@for_reports
def members():
    args, errors = load_query(MemberSearchSchema(), limit=50)
    listing = operators.find_members(**args) if not errors else {"items": [], "next_cursor": None}
    return render("members.html", 422 if errors else 200, listing=listing, columns=MEMBER_COLUMNS, errors=errors,
                  q=args.get("q") or "")


@bp.get("/members/<int:member_id>")
@operator_page
def member(member_id):
    return render("member.html", **_page(member_id))


@bp.get("/members/<int:member_id>/<any(points, growth, orders, coupons):section>")
@operator_page
def member_section(member_id, section):
    member_rows.get_member(member_id)
    return render("_member_section.html", **_section(member_id, section, _cursor()))


@bp.post("/members/<int:member_id>/points")
@operator_page(write=True)
def adjust_points(member_id):
    member_rows.get_member(member_id)
    _, form = submit(AdjustPointsSchema(), once(
        lambda args, key: grants.adjust_points(g.operator, member_id, request_key=key, **args)))
    return answer_form(keyed(form) if not form.ok else form, done=url_for("console.member", member_id=member_id),
                       page="member.html", **_page(member_id, points_form=form))


@bp.post("/members/<int:member_id>/status")
@operator_page(write=True)
def member_status(member_id):
    member_rows.get_member(member_id)
    _, form = submit(MemberStatusSchema(), lambda args: member_rows.set_status(g.operator.id, member_id, **args))
    return answer_form(form, done=url_for("console.member", member_id=member_id), page="member.html",
                       **_page(member_id, status_form=form))


def _page(member_id: int, **forms) -> dict:
    found = member_rows.get_member(member_id)
    month, month_error = _month()
    return {
        "profile": member_view.profile(found.id), "level": member_level.detail(member_id),
        "calendar": _calendar(member_id, month), "month_error": month_error,
        "sections": [_section(member_id, name, None) for name in SECTIONS],
        "points_form": forms.get("points_form") or keyed(form_for(AdjustPointsSchema())),
        "status_form": forms.get("status_form") or form_for(
            MemberStatusSchema(), {"status": "active" if found.status == "frozen" else "frozen"}),
    }


def _calendar(member_id: int, month: str | None) -> dict:
    """The month as the member's GET /signin/calendar shows it (read from SQL), its days as a list."""
    shown = calendar.calendar(cards.from_sql(member_id), month, None)
    return {**shown, "days": json.loads(shown["days"])}


def _month() -> tuple[str | None, str | None]:
    """The calendar's month asked for (?month=YYYY-MM, the API's rule); a bad one shows this month and says so."""
    errors = CalendarArgsSchema().validate({"month": request.args["month"]} if request.args.get("month") else {})
    if errors:
        return None, "month: Use YYYY-MM."
    return request.args.get("month") or None, None


def _section(member_id: int, name: str, cursor: str | None) -> dict:
    read, columns = SECTIONS[name]
    return {"member_id": member_id, "name": name, "title": SECTION_TITLES[name], "columns": columns,
            "listing": read(member_id, cursor)}


def _cursor() -> str | None:
    cursor = request.args.get("cursor") or None
    if cursor is not None and (len(cursor) > 64 or not cursor.isascii()):
        abort(400, "The cursor is not valid.")
    return cursor
