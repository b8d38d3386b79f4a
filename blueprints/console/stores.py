"""Console pages for stores and their guides: the stores (list, add), a store's guides (list, add), and a
guide's page: their QR (the WeCom 联系我 code or their own QR image, and the mini-program code members scan
to bind), changing them, and moving their members to another guide (audited, as the API does)."""
from flask import Response, flash, g, request, url_for

from blueprints.admin.guides import GuideChangesSchema, OperatorGuideSchema, TransferSchema
from blueprints.admin.payments import StoreSchema
from blueprints.console.base import answer_form, bp, menu_entry, operator_page, render
from blueprints.console.forms import submit
from blueprints.console.i18n import translate, words
from blueprints.console.sections import Section, edit_form, new_form, page
from services.guides import guide_codes, guides
from services.payments import stores

words({"Stores and guides": "门店与导购", "Stores": "门店", "New store": "新增门店", "Guides": "导购",
       "New guide": "新增导购", "Edit guide": "编辑导购", "Guide's QR": "导购二维码",
       "Move their members": "转移会员", "Move": "转移", "phone": "手机号", "password": "密码",
       "wecom_userid": "企业微信 userid", "qr_image_url": "二维码图片 URL", "status": "状态", "active": "启用中",
       "disabled": "已停用", "store_id": "门店 ID", "to_guide_id": "转入导购 ID", "reason": "原因",
       "wecom_qr_url": "企业微信联系我二维码", "wecom_error": "企业微信错误", "Mini-program code": "小程序码",
       "Members moved: {moved}.": "已转移会员 {moved} 人。",
       "Members who scan the mini-program code bind to the guide; the QR above adds them on WeCom.":
           "会员扫描小程序码即绑定该导购；上方二维码用于添加导购企业微信。",
       "Every member of this guide moves to another active guide of the same store.":
           "该导购的全部会员将转给同门店的另一位在职导购。"})

STORE_COLUMNS = ("id", "name", "active")
GUIDE_COLUMNS = ("id", "name", "phone", "wecom_userid", "status", "created_at")
PAGE_SIZE = 50


@bp.get("/stores")
@menu_entry("Configuration", "Stores and guides")
@operator_page
def store_list():
    return render("config.html", **_stores())


@bp.post("/stores")
@operator_page(write=True)
def create_store():
    _, form = submit(StoreSchema(), lambda args: stores.create_store(**args))
    return answer_form(form, done=url_for("console.store_list"), page="config.html", **_stores(form))


@bp.get("/stores/<int:store_id>")
@operator_page
def store_detail(store_id):
    return render("config.html", **_store(store_id, request.args.get("cursor")))


@bp.post("/stores/<int:store_id>/guides")
@operator_page(write=True)
def create_guide(store_id):
    stores.get_store(store_id)
    _, form = submit(OperatorGuideSchema(), lambda args: guides.create_guide(g.operator, args))
    return answer_form(form, done=url_for("console.store_detail", store_id=store_id), page="config.html",
                       **_store(store_id, None, form))


@bp.get("/guides/<int:guide_id>")
@operator_page
def guide_detail(guide_id):
    return render("config.html", **_guide(guide_id))


@bp.post("/guides/<int:guide_id>")
@operator_page(write=True)
def change_guide(guide_id):
    guide = guides.get_guide(guide_id)
    # the form shows every current value: send the API only what the operator changed (a WeCom userid sent
    # again would make its 联系我 code anew)
    _, form = submit(GuideChangesSchema(), lambda args: guides.update_guide(g.operator, guide_id, {
        name: value for name, value in args.items() if getattr(guide, name, None) != value}))
    return answer_form(form, done=url_for("console.guide_detail", guide_id=guide_id), page="config.html",
                       **_guide(guide_id, changed=form))


@bp.post("/guides/<int:guide_id>/transfer")
@operator_page(write=True)
def transfer_members(guide_id):
    guides.get_guide(guide_id)
    moved, form = submit(TransferSchema(), lambda args: guides.transfer_members(g.operator, guide_id, **args))
    if form.ok:
        flash(translate("Members moved: {moved}.", moved=moved))
    return answer_form(form, done=url_for("console.guide_detail", guide_id=guide_id), page="config.html",
                       **_guide(guide_id, moving=form))


@bp.get("/guides/<int:guide_id>/wxacode.png")
@operator_page
def guide_wxacode(guide_id):
    """The guide's mini-program code, as the guide's own /guide/qrcode gives it."""
    return Response(guide_codes.wxa_code(guides.get_guide(guide_id)), mimetype="image/png")


def _stores(new=None) -> dict:
    return page("Stores and guides", Section("Stores", rows=stores.all_stores(), columns=STORE_COLUMNS,
                                             link=("console.store_detail", "store_id")),
                Section("New store", form=new or new_form(StoreSchema()), action=url_for("console.create_store")))


def _store(store_id: int, cursor: str | None, new=None) -> dict:
    store = stores.get_store(store_id)
    found = guides.find_guides(store_id=store_id, limit=PAGE_SIZE, cursor=cursor)
    return page("Stores and guides", Section("Guides", rows=found["items"], columns=GUIDE_COLUMNS,
                                             link=("console.guide_detail", "guide_id"),
                                             next_cursor=found["next_cursor"]),
                Section("New guide", form=new or new_form(OperatorGuideSchema(), {"store_id": store_id}),
                        action=url_for("console.create_guide", store_id=store_id)),
                subtitle=f"#{store.id} · {store.name}", back=url_for("console.store_list"))


def _guide(guide_id: int, changed=None, moving=None) -> dict:
    guide = guides.get_guide(guide_id)
    facts = [(name, getattr(guide, name)) for name in ("store_id", "phone", "status", "wecom_userid", "wecom_error")]
    return page("Stores and guides", Section("Guide's QR", facts=facts, image=guides.qr_url(guide)),
                Section("Mini-program code", image=url_for("console.guide_wxacode", guide_id=guide_id),
                        note="Members who scan the mini-program code bind to the guide; the QR above adds them on "
                             "WeCom."),
                Section("Edit guide", form=edit_form(GuideChangesSchema(), guide, changed), submit="Save",
                        action=url_for("console.change_guide", guide_id=guide_id)),
                Section("Move their members", form=moving or new_form(TransferSchema()), submit="Move",
                        action=url_for("console.transfer_members", guide_id=guide_id),
                        note="Every member of this guide moves to another active guide of the same store."),
                subtitle=f"#{guide.id} · {guide.name}", back=url_for("console.store_detail", store_id=guide.store_id))
