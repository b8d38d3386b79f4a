"""Console pages for the mall's goods: the list, adding and changing goods (the API's schemas and audited
services), and a virtual goods' codes uploaded as a CSV file."""
from contextlib import closing

from flask import abort, g, request, url_for

from blueprints.admin.mall import GoodsChangesSchema, OperatorGoodsSchema
from blueprints.console.base import answer_form, bp, menu_entry, operator_page, render
from blueprints.console.forms import Form, submit
from blueprints.console.i18n import translate, words
from blueprints.console.sections import edit_form, new_form
from services.mall import goods as catalogue
from services.platform.errors import ServiceError

words({"Goods": "商品", "Mall": "商城", "New goods": "新增商品", "Edit goods": "编辑商品", "Upload codes": "上传卡密",
       "name": "名称", "description": "描述", "images": "图片", "category": "分类", "kind": "类型",
       "price_points": "积分价", "price_fen": "现金价（分）", "coupon_template_id": "优惠券模板 ID", "stock": "库存",
       "per_order_limit": "每单限购", "per_member_limit": "每人限购", "min_level_id": "最低等级 ID",
       "level_discount": "享等级折扣", "starts_at": "开始时间", "ends_at": "结束时间", "status": "状态",
       "on_sale": "在售", "off_sale": "已下架", "physical": "实物", "virtual": "虚拟卡密", "coupon": "优惠券",
       "sold": "已售", "reserved": "已预留", "csv": "CSV 文件", "Codes added: {added}, skipped: {skipped}.":
       "新增卡密 {added} 个，跳过 {skipped} 个。"})

GOODS_COLUMNS = ("id", "name", "kind", "price_points", "price_fen", "stock", "sold", "status")


@bp.get("/goods")
@menu_entry("Mall", "Goods")
@operator_page
def goods_list():
    return render("goods.html", listing=_listing(request.args.get("cursor")), columns=GOODS_COLUMNS,
                  form=new_form(OperatorGoodsSchema()))


@bp.post("/goods")
@operator_page(write=True)
def create_goods():
    _, form = submit(OperatorGoodsSchema(), lambda args: catalogue.create_goods(g.operator, args))
    return answer_form(form, done=url_for("console.goods_list"), page="goods.html",
                       listing=_listing(None), columns=GOODS_COLUMNS)


@bp.get("/goods/<int:goods_id>")
@operator_page
def goods_detail(goods_id):
    goods = catalogue.get_goods(goods_id)
    return render("goods_detail.html", goods=goods, form=_changes_form(goods))


@bp.post("/goods/<int:goods_id>")
@operator_page(write=True)
def change_goods(goods_id):
    goods = catalogue.get_goods(goods_id)
    _, form = submit(GoodsChangesSchema(), lambda args: catalogue.update_goods(g.operator, goods_id, args),
                     partial=True)
    return answer_form(form, done=url_for("console.goods_detail", goods_id=goods_id), page="goods_detail.html",
                       goods=goods)


@bp.post("/goods/<int:goods_id>/codes")
@operator_page(write=True)
def upload_codes(goods_id):
    upload = request.files.get("csv")
    if upload is None or not upload.filename:
        abort(400, "Choose a CSV file of codes.")
    with closing(upload):  # a large one is spooled to a temporary file
        text = upload.read(catalogue.MAX_CODES_CHARS + 1).decode("utf-8", errors="replace")
    codes = Form([])
    try:
        added = catalogue.add_codes(g.operator, goods_id, text)
        codes.ok = True
        codes.errors.append(translate("Codes added: {added}, skipped: {skipped}.", **added))
    except ServiceError as error:
        codes.errors.append(error.message)
    goods = catalogue.get_goods(goods_id)
    return render("goods_detail.html", 200 if codes.ok else 422, goods=goods, form=_changes_form(goods),
                  codes=codes)


def _changes_form(goods) -> Form:
    return edit_form(GoodsChangesSchema(), goods)


def _listing(cursor: str | None) -> dict:
    return catalogue.find_goods(category=None, limit=50, cursor=cursor)
