"""Console pages for lotteries: the list with each prize's share of the total weight, adding one with its
prizes (a JSON list, checked by the API's schema), a lottery's prizes, and closing it (audited)."""
from flask import g, url_for
from marshmallow import Schema

from blueprints.admin.mall import LotterySchema
from blueprints.console.base import answer_form, bp, menu_entry, operator_page, render
from blueprints.console.forms import submit
from blueprints.console.i18n import words
from blueprints.console.sections import Section, button, new_form, page
from services.mall import lotteries

words({"Lotteries": "抽奖", "New lottery": "新增抽奖", "Prizes": "奖品", "Close the lottery": "关闭抽奖",
       "Close": "关闭", "cost_points": "每次消耗积分", "daily_limit": "每日次数", "active": "启用中",
       "prizes": "奖品", "odds": "概率", "weight": "权重", "drawn": "已抽出", "goods_id": "商品 ID",
       "points": "积分", "none": "谢谢参与", "goods": "商品",
       'Prizes as a JSON list: [{"name", "kind": points/coupon/goods/none, "points", "coupon_template_id", '
       '"goods_id", "weight", "stock"}]; a prize\'s odds are its weight over the total.':
           '奖品为 JSON 列表：[{"name", "kind": points/coupon/goods/none, "points", "coupon_template_id", '
           '"goods_id", "weight", "stock"}]；中奖概率 = 权重 / 总权重。',
       "Draws already made stay.": "已有的抽奖记录保留。"})

LOTTERY_COLUMNS = ("id", "name", "cost_points", "daily_limit", "starts_at", "ends_at", "active", "odds")
PRIZE_COLUMNS = ("id", "name", "kind", "points", "coupon_template_id", "goods_id", "weight", "odds", "stock",
                 "drawn")
HELP = ('Prizes as a JSON list: [{"name", "kind": points/coupon/goods/none, "points", "coupon_template_id", '
        '"goods_id", "weight", "stock"}]; a prize\'s odds are its weight over the total.')


@bp.get("/lotteries")
@menu_entry("Configuration", "Lotteries")
@operator_page
def lottery_list():
    return render("config.html", **_page())


@bp.post("/lotteries")
@operator_page(write=True)
def create_lottery():
    _, form = submit(LotterySchema(), lambda args: lotteries.create_lottery(g.operator, args))
    return answer_form(form, done=url_for("console.lottery_list"), page="config.html", **_page(form))


@bp.get("/lotteries/<int:lottery_id>")
@operator_page
def lottery_detail(lottery_id):
    return render("config.html", **_detail(lottery_id))


@bp.post("/lotteries/<int:lottery_id>/close")
@operator_page(write=True)
def close_lottery(lottery_id):
    lotteries.get_lottery(lottery_id)
    _, form = submit(Schema(), lambda _: lotteries.deactivate_lottery(g.operator, lottery_id))
    return answer_form(form, done=url_for("console.lottery_detail", lottery_id=lottery_id), page="config.html",
                       **_detail(lottery_id, form))


def _page(new=None) -> dict:
    rows = [{**{name: getattr(lottery, name) for name in LOTTERY_COLUMNS[:-1]},
             "odds": " · ".join(f"{prize['name']} {prize['odds']}" for prize in _prizes(lottery))}
            for lottery in lotteries.all_lotteries()]
    return page("Lotteries", Section("Lotteries", rows=rows, columns=LOTTERY_COLUMNS,
                                     link=("console.lottery_detail", "lottery_id")),
                Section("New lottery", form=new or new_form(LotterySchema()), note=HELP,
                        action=url_for("console.create_lottery")))


def _detail(lottery_id: int, closing=None) -> dict:
    lottery = lotteries.get_lottery(lottery_id)
    return page("Lotteries", Section("Prizes", rows=_prizes(lottery), columns=PRIZE_COLUMNS, facts=[
        (name, getattr(lottery, name)) for name in ("cost_points", "daily_limit", "starts_at", "ends_at", "active")]),
                Section("Close the lottery", form=button(closing), submit="Close", note="Draws already made stay.",
                        action=url_for("console.close_lottery", lottery_id=lottery_id)) if lottery.active else None,
                subtitle=f"#{lottery.id} · {lottery.name}", back=url_for("console.lottery_list"))


def _prizes(lottery) -> list[dict]:
    """The prizes with their weight as a share of the lottery's total weight."""
    total = sum(prize.weight for prize in lottery.prizes)
    return [{**{name: getattr(prize, name) for name in PRIZE_COLUMNS if name != "odds"},
             "odds": f"{prize.weight / total:.2%}" if total else "—"} for prize in lottery.prizes]
