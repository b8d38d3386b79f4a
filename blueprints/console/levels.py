"""Console pages for levels: the ladder (list, add, change, remove: the API's schemas and audited services)
and the level policy (the one in force, the one waiting for the next evaluation, and changing it)."""
from flask import g, url_for
from marshmallow import Schema

from blueprints.admin.levels import LevelChangesSchema, LevelSchema, PolicyFieldsSchema
from blueprints.console.base import answer_form, bp, menu_entry, operator_page, render
from blueprints.console.forms import submit
from blueprints.console.i18n import words
from blueprints.console.sections import Section, button, edit_form, new_form, page
from services.levels import levels, policy

words({"Levels": "会员等级", "Level ladder": "等级阶梯", "New level": "新增等级", "Edit level": "编辑等级",
       "Remove level": "删除等级", "Delete": "删除", "Level policy": "等级规则", "Change the policy": "修改等级规则",
       "code": "代码", "threshold": "成长值门槛", "points_multiplier_pct": "积分倍率（%）",
       "makeup_cards_per_month": "每月补签卡", "mall_discount_pct": "商城折扣（%）", "exclusive_goods": "专享商品",
       "levelup_pack_id": "升级礼包 ID", "birthday_points": "生日积分", "birthday_pack_id": "生日礼包 ID",
       "growth_window": "成长值统计周期", "downgrade": "降级规则", "grace_days": "保级宽限天数",
       "next_evaluation": "下次评定", "lifetime": "终身累计", "calendar_year": "自然年",
       "rolling_12_months": "滚动 12 个月", "none": "不降级", "one_level": "降一级", "in force": "生效中",
       "pending": "待生效", "version": "版本",
       "Its members move to the level below it.": "该等级的会员将移到下一级。",
       "A new policy applies from the next evaluation.": "新规则从下次评定起生效。"})

LEVEL_COLUMNS = ("id", "code", "name", "threshold", "points_multiplier_pct", "mall_discount_pct",
                 "makeup_cards_per_month", "exclusive_goods")
POLICY_COLUMNS = ("version", "growth_window", "downgrade", "grace_days", "effective_from")


@bp.get("/levels")
@menu_entry("Configuration", "Levels")
@operator_page
def level_ladder():
    return render("config.html", **_page())


@bp.post("/levels")
@operator_page(write=True)
def create_level():
    _, form = submit(LevelSchema(), lambda args: levels.create_level(g.operator.id, args))
    return answer_form(form, done=url_for("console.level_ladder"), page="config.html", **_page(new=form))


@bp.post("/level-policy")
@operator_page(write=True)
def change_level_policy():
    _, form = submit(PolicyFieldsSchema(), lambda args: policy.set_policy(g.operator.id, **args))
    return answer_form(form, done=url_for("console.level_ladder"), page="config.html", **_page(policy_form=form))


@bp.get("/levels/<int:level_id>")
@operator_page
def level_detail(level_id):
    return render("config.html", **_detail(level_id))


@bp.post("/levels/<int:level_id>")
@operator_page(write=True)
def change_level(level_id):
    levels.get_level(level_id)
    _, form = submit(LevelChangesSchema(), lambda args: levels.update_level(g.operator.id, level_id, args),
                     partial=True)
    return answer_form(form, done=url_for("console.level_detail", level_id=level_id), page="config.html",
                       **_detail(level_id, form))


@bp.post("/levels/<int:level_id>/delete")
@operator_page(write=True)
def delete_level(level_id):
    levels.get_level(level_id)
    _, form = submit(Schema(), lambda _: levels.delete_level(g.operator.id, level_id))
    return answer_form(form, done=url_for("console.level_ladder"), page="config.html",
                       **({} if form.ok else _detail(level_id, deleting=form)))


def _page(new=None, policy_form=None) -> dict:
    now = policy.describe()
    versions = [{"version": "in force", **now}] + ([{"version": "pending", **now["pending"]}] if now["pending"] else [])
    return page("Levels", Section("Level ladder", rows=levels.all_levels(), columns=LEVEL_COLUMNS,
                                  link=("console.level_detail", "level_id")),
                Section("New level", form=new or new_form(LevelSchema()), action=url_for("console.create_level")),
                Section("Level policy", rows=versions, columns=POLICY_COLUMNS,
                        facts=[("next_evaluation", now["next_evaluation"])]),
                Section("Change the policy", form=policy_form or new_form(PolicyFieldsSchema(), now["pending"] or now),
                        action=url_for("console.change_level_policy"), submit="Save",
                        note="A new policy applies from the next evaluation."))


def _detail(level_id: int, changed=None, deleting=None) -> dict:
    level = levels.get_level(level_id)
    return page("Levels", Section("Edit level", form=edit_form(LevelChangesSchema(), level, changed), submit="Save",
                                  action=url_for("console.change_level", level_id=level_id)),
                Section("Remove level", form=button(deleting), submit="Delete",
                        action=url_for("console.delete_level", level_id=level_id),
                        note="Its members move to the level below it."),
                subtitle=f"#{level.id} · {level.name}", back=url_for("console.level_ladder"))
