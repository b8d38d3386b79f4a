"""Console pages for coupons: templates and packs, each listed (newest first), added, changed and switched
off with the API's schemas and services (a template's terms stay as created)."""
from flask import request, url_for
from marshmallow import Schema

from blueprints.admin.coupons import (CouponPackChangesSchema, CouponPackSchema, CouponTemplateChangesSchema,
                                      CouponTemplateSchema)
from blueprints.console.base import answer_form, bp, menu_entry, operator_page, render
from blueprints.console.forms import submit
from blueprints.console.i18n import words
from blueprints.console.sections import Section, button, edit_form, new_form, page
from services.coupons import catalog

PACK_NOTE = 'Items as a JSON list: [{"template_id": 1, "quantity": 2}]; each template once.'

words({"Coupon templates": "优惠券模板", "Coupon packs": "券包", "New coupon template": "新增优惠券模板",
       "New coupon pack": "新增券包", "kind": "类型", "cash_off": "满减券", "discount": "折扣券", "gift": "礼品券",
       "amount_fen": "减免金额（分）", "discount_pct": "折扣（%）", "min_spend_fen": "最低消费（分）",
       "gift_name": "礼品名称", "channel": "使用渠道", "online": "线上", "store": "门店", "all": "全部",
       "total_stock": "总库存", "per_member_limit": "每人限领", "active": "启用中", "valid_days": "有效天数",
       "valid_from": "有效期开始", "valid_until": "有效期结束", "issued": "已发放", "items": "券包内容",
       "template_id": "模板 ID", "Edit coupon template": "编辑优惠券模板", "Edit coupon pack": "编辑券包",
       "Switch off": "停用", "Switch it off": "停用",
       "quantity": "数量", "created_at": "创建时间",
       "Its terms stay as created; coupons already issued stay usable.": "券面条款创建后不变；已发放的券仍可使用。",
       PACK_NOTE: '券包内容为 JSON 列表：[{"template_id": 1, "quantity": 2}]；每个模板只出现一次。'})

TEMPLATE_COLUMNS = ("id", "name", "kind", "amount_fen", "discount_pct", "min_spend_fen", "valid_days", "issued",
                    "total_stock", "active")
PACK_COLUMNS = ("id", "name", "items", "active", "created_at")
PAGE_SIZE = 50


@bp.get("/coupon-templates")
@menu_entry("Configuration", "Coupon templates")
@operator_page
def coupon_templates():
    return render("config.html", **_templates(request.args.get("cursor")))


@bp.post("/coupon-templates")
@operator_page(write=True)
def create_coupon_template():
    _, form = submit(CouponTemplateSchema(), catalog.create_template)
    return answer_form(form, done=url_for("console.coupon_templates"), page="config.html",
                       **_templates(None, form))


@bp.get("/coupon-packs")
@menu_entry("Configuration", "Coupon packs")
@operator_page
def coupon_packs():
    return render("config.html", **_packs(request.args.get("cursor")))


@bp.post("/coupon-packs")
@operator_page(write=True)
def create_coupon_pack():
    _, form = submit(CouponPackSchema(), lambda args: catalog.create_pack(**args))
    return answer_form(form, done=url_for("console.coupon_packs"), page="config.html", **_packs(None, form))


@bp.get("/coupon-templates/<int:template_id>")
@operator_page
def coupon_template(template_id):
    return render("config.html", **_template(template_id))


@bp.post("/coupon-templates/<int:template_id>")
@operator_page(write=True)
def change_coupon_template(template_id):
    catalog.get_template(template_id)
    _, form = submit(CouponTemplateChangesSchema(), lambda args: catalog.update_template(template_id, args),
                     partial=True)
    return answer_form(form, done=url_for("console.coupon_template", template_id=template_id), page="config.html",
                       **_template(template_id, form))


@bp.post("/coupon-templates/<int:template_id>/disable")
@operator_page(write=True)
def disable_coupon_template(template_id):
    catalog.get_template(template_id)
    _, form = submit(Schema(), lambda _: catalog.deactivate_template(template_id))
    return answer_form(form, done=url_for("console.coupon_template", template_id=template_id), page="config.html",
                       **_template(template_id, disabling=form))


@bp.get("/coupon-packs/<int:pack_id>")
@operator_page
def coupon_pack(pack_id):
    return render("config.html", **_pack(pack_id))


@bp.post("/coupon-packs/<int:pack_id>")
@operator_page(write=True)
def change_coupon_pack(pack_id):
    catalog.get_pack(pack_id)
    _, form = submit(CouponPackChangesSchema(), lambda args: catalog.update_pack(pack_id, args))
    return answer_form(form, done=url_for("console.coupon_pack", pack_id=pack_id), page="config.html",
                       **_pack(pack_id, form))


def _templates(cursor: str | None, new=None) -> dict:
    found = catalog.find_templates(limit=PAGE_SIZE, cursor=cursor)
    return page("Coupon templates", Section("Coupon templates", rows=found["items"], columns=TEMPLATE_COLUMNS,
                                            next_cursor=found["next_cursor"]),
                Section("New coupon template", form=new or new_form(CouponTemplateSchema()),
                        action=url_for("console.create_coupon_template")))


def _packs(cursor: str | None, new=None) -> dict:
    found = catalog.find_packs(limit=PAGE_SIZE, cursor=cursor)
    rows = [{"id": pack.id, "name": pack.name, "active": pack.active, "created_at": pack.created_at,
             "items": ", ".join(f"#{item.template_id} × {item.quantity}" for item in pack.items)}
            for pack in found["items"]]
    return page("Coupon packs", Section("Coupon packs", rows=rows, columns=PACK_COLUMNS,
                                        link=("console.coupon_pack", "pack_id"), next_cursor=found["next_cursor"]),
                Section("New coupon pack", form=new or new_form(CouponPackSchema()),
                        action=url_for("console.create_coupon_pack"),
                        note=PACK_NOTE))


def _template(template_id: int, changed=None, disabling=None) -> dict:
    template = catalog.get_template(template_id)
    terms = [(name, getattr(template, name)) for name in ("kind", "amount_fen", "discount_pct", "min_spend_fen",
                                                          "gift_name", "channel", "issued")]
    return page("Coupon templates", Section(
        "Edit coupon template", facts=terms, form=edit_form(CouponTemplateChangesSchema(), template, changed),
        submit="Save", action=url_for("console.change_coupon_template", template_id=template_id),
        note="Its terms stay as created; coupons already issued stay usable."),
        Section("Switch it off", form=button(disabling), submit="Switch off",
                action=url_for("console.disable_coupon_template", template_id=template_id))
        if template.active else None,
        subtitle=f"#{template.id} · {template.name}", back=url_for("console.coupon_templates"))


def _pack(pack_id: int, changed=None) -> dict:
    pack = catalog.get_pack(pack_id)
    items = [{"template_id": item.template_id, "quantity": item.quantity} for item in pack.items]
    return page("Coupon packs", Section(
        "Edit coupon pack", form=changed or new_form(CouponPackChangesSchema(), {
            "name": pack.name, "active": pack.active, "items": items}),
        submit="Save", action=url_for("console.change_coupon_pack", pack_id=pack_id), note=PACK_NOTE),
        subtitle=f"#{pack.id} · {pack.name}", back=url_for("console.coupon_packs"))
