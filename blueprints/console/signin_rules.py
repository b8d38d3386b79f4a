"""Console pages for the sign-in rules: the rules in force today, every version, a new version (the API's
schema; it applies from the next business day), and changing or deleting a version as the API does."""
from flask import url_for
from marshmallow import Schema

from blueprints.admin.signin import SigninRuleChangesSchema, SigninRuleSchema
from blueprints.console.base import answer_form, bp, menu_entry, operator_page, render
from blueprints.console.forms import submit
from blueprints.console.i18n import words
from blueprints.console.sections import Section, button, edit_form, new_form, page, values_of
from services.platform import clock
from services.signin import rules

words({"Sign-in rules": "签到规则", "Rules in force today": "今日生效的规则", "Versions": "规则版本",
       "New version": "新建版本", "Edit version": "修改版本", "Delete version": "删除版本", "Delete": "删除",
       "Milestones": "里程碑奖励", "Rewards by cycle day": "周期内每日奖励", "defaults": "默认规则",
       "version": "版本", "day": "第几天", "points": "积分", "growth": "成长值", "coupon_pack_id": "券包 ID",
       "cycle_days": "周期天数", "after_cycle": "周期结束后", "restart": "重新开始", "rewards": "每日奖励",
       "milestones": "里程碑", "effective_from": "生效日期", "replaces_id": "取代版本", "days": "天数",
       "badge_code": "徽章代码", "badge_name": "徽章名称", "streak": "连续签到", "total": "累计签到",
       "A new version applies from the next business day; the rules in force today stay as they are.":
           "新版本从下一个营业日起生效，今天的规则不变。",
       "A version not yet in force changes in place; one already in force gets a new version from tomorrow.":
           "尚未生效的版本直接修改；已生效的版本会生成一个明天起生效的新版本。",
       "Only a version not yet in force can be deleted.": "只能删除尚未生效的版本。"})

VERSION_COLUMNS = ("id", "name", "cycle_days", "effective_from", "replaces_id")
MILESTONE_COLUMNS = ("kind", "days", "badge_code", "badge_name", "points", "growth", "coupon_pack_id")


@bp.get("/signin-rules")
@menu_entry("Configuration", "Sign-in rules")
@operator_page
def signin_rules():
    return render("config.html", **_page())


@bp.post("/signin-rules")
@operator_page(write=True)
def create_signin_rule():
    _, form = submit(SigninRuleSchema(), rules.create_rule)
    return answer_form(form, done=url_for("console.signin_rules"), page="config.html", **_page(form))


@bp.get("/signin-rules/<int:rule_id>")
@operator_page
def signin_rule(rule_id):
    return render("config.html", **_detail(rule_id))


@bp.post("/signin-rules/<int:rule_id>")
@operator_page(write=True)
def change_signin_rule(rule_id):
    rules.get_rule(rule_id)
    _, form = submit(SigninRuleChangesSchema(), lambda args: rules.update_rule(rule_id, args), partial=True)
    return answer_form(form, done=url_for("console.signin_rules"), page="config.html", **_detail(rule_id, form))


@bp.post("/signin-rules/<int:rule_id>/delete")
@operator_page(write=True)
def delete_signin_rule(rule_id):
    rules.get_rule(rule_id)
    _, form = submit(Schema(), lambda _: rules.delete_rule(rule_id))
    return answer_form(form, done=url_for("console.signin_rules"), page="config.html",
                       **({} if form.ok else _detail(rule_id, deleting=form)))


def _page(new=None) -> dict:
    today = rules.rules_for(clock.today())
    versions = rules.all_rules()
    current = next((row for row in versions if row.id == today.id), None)
    filled = values_of(current, SigninRuleSchema()) if current else {**rules.DEFAULT_RULE}
    return page("Sign-in rules", _in_force(today), Section(
        "Versions", rows=versions, columns=VERSION_COLUMNS, link=("console.signin_rule", "rule_id")),
        Section("New version", form=new or new_form(SigninRuleSchema(), filled),
                action=url_for("console.create_signin_rule"),
                note="A new version applies from the next business day; the rules in force today stay as they are."))


def _in_force(today) -> Section:
    days = [{"day": day, **reward} for day, reward in enumerate(today.rewards, start=1)]
    return Section("Rules in force today", facts=[("version", today.id or "defaults"),
                                                  ("cycle_days", today.cycle_days)],
                   rows=days, columns=("day", "points", "growth", "coupon_pack_id"))


def _detail(rule_id: int, changed=None, deleting=None) -> dict:
    rule = rules.get_rule(rule_id)
    milestones = Section("Milestones", rows=rule.milestones, columns=MILESTONE_COLUMNS)
    return page("Sign-in rules", Section(
        "Edit version", facts=[("effective_from", rule.effective_from), ("replaces_id", rule.replaces_id)],
        form=edit_form(SigninRuleChangesSchema(), rule, changed), submit="Save",
        action=url_for("console.change_signin_rule", rule_id=rule_id),
        note="A version not yet in force changes in place; one already in force gets a new version from tomorrow."),
        milestones, Section("Delete version", form=button(deleting), submit="Delete",
                            action=url_for("console.delete_signin_rule", rule_id=rule_id),
                            note="Only a version not yet in force can be deleted."),
        subtitle=f"#{rule.id} · {rule.name}", back=url_for("console.signin_rules"))
