"""Console pages for after-payment (支付有礼) rules: the list, adding one, changing one and switching it off
(the API's schemas and services)."""
from flask import url_for
from marshmallow import Schema

from blueprints.admin.payments import PaymentRuleChangesSchema, PaymentRuleSchema
from blueprints.console.base import answer_form, bp, menu_entry, operator_page, render
from blueprints.console.forms import submit
from blueprints.console.i18n import words
from blueprints.console.sections import Section, button, edit_form, new_form, page
from services.payments import rules

words({"After-payment rules": "支付有礼", "New rule": "新增规则", "Edit rule": "编辑规则", "Switch off": "停用",
       "Switch the rule off": "停用规则", "min_amount_fen": "最低支付金额（分）", "coupon_pack_id": "券包 ID",
       "store_id": "门店 ID", "starts_at": "开始时间", "ends_at": "结束时间", "per_member_limit": "每人次数上限",
       "active": "启用中",
       "A payment of at least the amount earns the coupon pack; payments already rewarded keep what they got.":
           "支付满该金额即得券包；已发放的奖励不受修改影响。"})

RULE_COLUMNS = ("id", "name", "min_amount_fen", "coupon_pack_id", "store_id", "starts_at", "ends_at",
                "per_member_limit", "active")
NOTE = "A payment of at least the amount earns the coupon pack; payments already rewarded keep what they got."


@bp.get("/payment-rules")
@menu_entry("Configuration", "After-payment rules")
@operator_page
def payment_rules():
    return render("config.html", **_page())


@bp.post("/payment-rules")
@operator_page(write=True)
def create_payment_rule():
    _, form = submit(PaymentRuleSchema(), rules.create_rule)
    return answer_form(form, done=url_for("console.payment_rules"), page="config.html", **_page(form))


@bp.get("/payment-rules/<int:rule_id>")
@operator_page
def payment_rule(rule_id):
    return render("config.html", **_detail(rule_id))


@bp.post("/payment-rules/<int:rule_id>")
@operator_page(write=True)
def change_payment_rule(rule_id):
    rules.get_rule(rule_id)
    _, form = submit(PaymentRuleChangesSchema(), lambda args: rules.update_rule(rule_id, args), partial=True)
    return answer_form(form, done=url_for("console.payment_rule", rule_id=rule_id), page="config.html",
                       **_detail(rule_id, form))


@bp.post("/payment-rules/<int:rule_id>/disable")
@operator_page(write=True)
def disable_payment_rule(rule_id):
    rules.get_rule(rule_id)
    _, form = submit(Schema(), lambda _: rules.deactivate_rule(rule_id))
    return answer_form(form, done=url_for("console.payment_rule", rule_id=rule_id), page="config.html",
                       **_detail(rule_id, disabling=form))


def _page(new=None) -> dict:
    return page("After-payment rules", Section("After-payment rules", rows=rules.all_rules(), columns=RULE_COLUMNS,
                                               link=("console.payment_rule", "rule_id")),
                Section("New rule", form=new or new_form(PaymentRuleSchema()), note=NOTE,
                        action=url_for("console.create_payment_rule")))


def _detail(rule_id: int, changed=None, disabling=None) -> dict:
    rule = rules.get_rule(rule_id)
    return page("After-payment rules", Section(
        "Edit rule", form=edit_form(PaymentRuleChangesSchema(), rule, changed), submit="Save", note=NOTE,
        action=url_for("console.change_payment_rule", rule_id=rule_id)),
        Section("Switch the rule off", form=button(disabling), submit="Switch off",
                action=url_for("console.disable_payment_rule", rule_id=rule_id)) if rule.active else None,
        subtitle=f"#{rule.id} · {rule.name}", back=url_for("console.payment_rules"))
