"""The daily figures of a small history, moved day by day through the services (joins, sign-ins with a
make-up, a task claim, a payment with its level gift and 支付有礼 pack, its partial refund confirmed two
days later, a mall order, an expiry, a guide's scan, write-off and in-store receipt), rolled up by the
worker's job after each midnight: every figure of every day equals a hand count, before and after a
re-roll, and the report of the range adds them up."""
import csv
import io
from datetime import date, timedelta

import pytest

from models.stats import FIGURE_COLUMNS
from services.ledger import points
from services.platform import clock as app_clock
from services.platform.db import transaction
from services.stats import rollup
from tests.stats.conftest import after_midnight, go, stats, stored
from tests.support.api import bearer, unique
from tests.support.guides import code_of, scan
from tests.support.mall import add_goods, order
from tests.support.payments import keyed, notify_xml, post_notify, start_payment, store_with_rule

D0 = date(2025, 3, 10)  # a Monday; the whole history is in March, where a make-up may mend a day


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def _created(res) -> dict:
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def _ok(res) -> dict:
    assert res.status_code == 200, res.get_json()
    return res.get_json()


@pytest.fixture
def programme(client, operator, clock):
    """Before the first day: a ladder (普通 with a make-up card a month; 白银 at 100 growth, whose gift is a
    coupon valid one day), a store with its 支付有礼 rule (≥ 50 元) and a guide, a daily sign-in task
    paying 7 points, and goods for 30 points."""
    go(clock, D0, "09:00")
    admin = operator()
    shop = store_with_rule(client, admin, min_amount_fen=5000, coupon={
        "name": "满50减10", "kind": "cash_off", "amount_fen": 1000, "min_spend_fen": 5000, "valid_days": 30})
    gift = _created(client.post("/api/v1/admin/coupon-templates", headers=admin, json={
        "name": "升级券", "kind": "cash_off", "amount_fen": 500, "min_spend_fen": 0, "valid_days": 1}))
    gift_pack = _created(client.post("/api/v1/admin/coupon-packs", headers=admin, json={
        "name": "升级礼包", "items": [{"template_id": gift["id"], "quantity": 1}]}))
    normal = _created(client.post("/api/v1/admin/levels", headers=admin, json={
        "code": "normal", "name": "普通", "threshold": 0, "makeup_cards_per_month": 1}))
    silver = _created(client.post("/api/v1/admin/levels", headers=admin, json={
        "code": "silver", "name": "白银", "threshold": 100, "levelup_pack_id": gift_pack["id"]}))
    phone = f"137{int(unique('p').rsplit('-', 1)[1]):08d}"[-11:]
    guide = _created(client.post("/api/v1/admin/guides", headers=admin, json={
        "store_id": shop["store_id"], "name": "小李", "phone": phone, "password": "guide-password"}))
    guide["headers"] = bearer(_ok(client.post("/api/v1/guide/auth/login", json={
        "phone": phone, "password": "guide-password"}))["token"])
    task = _created(client.post("/api/v1/admin/tasks", headers=admin, json={
        "code": "daily_signin", "title": "每日签到", "kind": "daily", "event": "signin", "target": 1,
        "reward_points": 7}))
    goods = add_goods(client, admin, price_points=30)
    return {"admin": admin, "store_id": shop["store_id"], "guide": guide, "task": task["code"], "goods": goods["id"],
            "levels": {"normal": str(normal["id"]), "silver": str(silver["id"])}}


def _sign_in(client, member):
    _ok(client.post("/api/v1/signin", headers=member["headers"]))


@pytest.fixture
def history(client, wx, login, clock, programme):
    """Five days (D0…D4), the worker's job after each midnight; what some stored rows said on the way."""
    seen = {}
    go(clock, day(0))
    a, b, c = login(), login(), login()
    _sign_in(client, a)
    _ok(client.post(f"/api/v1/tasks/{programme['task']}/claim", headers=a["headers"]))
    _sign_in(client, b)
    with transaction():  # welcome points that lapse when day 3 begins
        points.earn(c["member"]["id"], 30, reason="welcome", business_key=unique("welcome"),
                    expires_at=app_clock.start_of_day(day(3)))
    after_midnight(clock, day(0))

    go(clock, day(1))
    _sign_in(client, a)
    _sign_in(client, c)
    d = login()
    payment = start_payment(client, a, 10000, store_id=programme["store_id"])["payment"]
    assert post_notify(client, notify_xml(wx, payment["out_trade_no"]))  # 100 growth: 白银, its gift; the pack
    after_midnight(clock, day(1))
    seen["day 1's streaks before the make-up"] = stored(day(1))["streaks"]

    go(clock, day(2))
    _sign_in(client, a)
    _sign_in(client, b)
    _ok(client.post("/api/v1/signin/makeup", headers=b["headers"], json={"day": str(day(1))}))  # with the card
    assert order(client, a, programme["goods"]).status_code == 201
    refund = _ok(client.post(f"/api/v1/admin/payments/{payment['id']}/refund", headers=keyed(programme["admin"]),
                             json={"amount_fen": 4000, "reason": "退一件"}))
    assert refund["status"] == "processing"
    after_midnight(clock, day(2))
    seen["day 2 before the refund was confirmed"] = stored(day(2))

    go(clock, day(3))
    assert points.expire_due() == (1, 30)
    _sign_in(client, d)
    guide = programme["guide"]
    assert scan(client, guide, code_of(client, a)["code"]).status_code == 200  # bound to him by the store already
    (coupon,) = _ok(client.get("/api/v1/coupons?status=unused", headers=a["headers"]))["items"]  # the gift lapsed
    _ok(client.post(f"/api/v1/guide/coupons/{coupon['code']}/redeem", headers=guide["headers"]))
    assert scan(client, guide, code_of(client, b)["code"]).status_code == 200  # b's first guide
    _ok(client.post(f"/api/v1/guide/members/{b['member']['id']}/purchases", headers=guide["headers"],
                    json={"amount_fen": 2000, "receipt_no": "R1"}))
    after_midnight(clock, day(3))
    seen["day 2 the day after"] = stored(day(2))

    go(clock, day(4))
    xml = wx.post(f"refunds/{refund['out_refund_no']}/notify", send=False)["xml"]
    _ok(client.post("/api/v1/payments/wechat/refund-notify", data=xml, content_type="text/xml"))
    after_midnight(clock, day(4))
    return {**programme, "seen": seen}


def _figures(levels: dict, **given) -> dict:
    """A day's figures: zero but what is given (streaks and guides by the parts given)."""
    streaks = {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0, "6": 0, "7+": 0, **given.pop("streaks", {})}
    return {**dict.fromkeys(FIGURE_COLUMNS, 0), **{name: {} for name in rollup.DETAILS},
            "guides": {"stores": {}, "guides": {}}, "members_by_level": levels, "streaks": streaks, **given}


def _guides(store_id, guide_id, **counts) -> dict:
    counts = {"bindings": 0, "purchases": 0, "purchases_fen": 0, "write_offs": 0, **counts}
    return {"stores": {str(store_id): counts}, "guides": {str(guide_id): counts}}


def hand_count(programme) -> dict:
    """Every figure of every day, counted by hand from the history above."""
    normal, silver = programme["levels"]["normal"], programme["levels"]["silver"]
    store, guide = programme["store_id"], programme["guide"]["id"]
    after_d1 = {normal: 3, silver: 1}
    return {
        day(0): _figures(
            {normal: 3}, new_members=3, active_members=2, total_members=3, signins=2, points_issued=47,
            points_outstanding=47, growth_issued=2, tasks_claimed=1, streaks={"1": 2}, cycle_rewards={"1": 2},
            points_issued_by_reason={"signin": 10, "task": 7, "welcome": 30}, tasks={programme["task"]: 1}),
        day(1): _figures(
            after_d1, new_members=1, active_members=2, total_members=4, signins=2, points_issued=110,
            points_outstanding=157, growth_issued=102, payments=1, payments_fen=10000, payment_packs=1,
            coupons_issued=2, guide_bindings=1, active_d1=2, signed_d1=2, streaks={"1": 1, "2": 2},
            cycle_rewards={"1": 1, "2": 1}, points_issued_by_reason={"purchase": 100, "signin": 10},
            payments_by_kind={"purchase": {"payments": 1, "payments_fen": 10000}},
            coupon_packs_by_source={"levelup": 1, "payment": 1}, guides=_guides(store, guide, bindings=1)),
        day(2): _figures(
            after_d1, active_members=2, total_members=4, signins=2, makeups=1, points_issued=15, points_spent=30,
            points_outstanding=142, growth_issued=2, refunds=1, refunds_fen=4000, mall_orders=1, mall_units=1,
            mall_points=30, coupons_expired=1, streaks={"3": 2}, cycle_rewards={"1": 1, "3": 1},
            points_issued_by_reason={"signin": 15}, points_spent_by_reason={"mall": 30},
            mall_by_kind={"physical": {"orders": 1, "units": 1, "points": 30, "cash_fen": 0}}),
        day(3): _figures(
            after_d1, active_members=3, total_members=4, signins=1, points_issued=25, points_expired=30,
            points_outstanding=137, growth_issued=21, coupons_used=1, guide_bindings=1, store_purchases=1,
            store_purchases_fen=2000, write_offs=1, streaks={"1": 1}, cycle_rewards={"1": 1},
            points_issued_by_reason={"signin": 5, "store_purchase": 20},
            guides=_guides(store, guide, bindings=1, purchases=1, purchases_fen=2000, write_offs=1)),
        day(4): _figures(
            after_d1, total_members=4, points_reversed=40, points_outstanding=97, growth_reversed=40,
            points_reversed_by_reason={"refund": 40}),
    }


def test_every_figure_of_every_day_equals_the_hand_count_before_and_after_a_re_roll(app, history):
    expected = hand_count(history)
    for when, figures in expected.items():
        assert stored(when) == figures, when
    rerun = app.test_cli_runner().invoke(args=["rollup-stats", "--from", str(day(-2)), "--to", str(day(4))])
    assert rerun.exit_code == 0, rerun.output
    assert f"rolled up {day(-2)} to {day(4)} (7 days): 0 new, 0 changed, 7 unchanged" in rerun.output
    assert f"at the end of {day(4)}: 4 members, 97 points outstanding (0.97 yuan)" in rerun.output
    for when, figures in expected.items():
        assert stored(when) == figures, when


def test_a_refund_confirmed_two_days_later_moves_the_day_it_was_asked_at_the_re_roll(history):
    before, after = history["seen"]["day 2 before the refund was confirmed"], stored(day(2))
    assert (before["refunds"], before["refunds_fen"]) == (0, 0)
    assert history["seen"]["day 2 the day after"] == before  # still processing
    assert (after["refunds"], after["refunds_fen"]) == (1, 4000)
    moved = {name: value for name, value in after.items() if before[name] != value}
    assert moved == {"refunds": 1, "refunds_fen": 4000}
    assert stored(day(4))["points_reversed"] == 40  # the ledger's entry is of the day it was posted


def test_a_make_up_moves_the_streaks_of_the_day_it_mends_at_the_next_roll(history):
    assert history["seen"]["day 1's streaks before the make-up"] == {**_figures({})["streaks"], "1": 1, "2": 1}
    assert stored(day(1))["streaks"] == {**_figures({})["streaks"], "1": 1, "2": 2}


def _api_view(figures: dict, levels: dict) -> dict:
    """A stored day as the series shows it (levels by code, the liability, the cohorts' returns apart)."""
    shown = {name: value for name, value in figures.items() if not name.startswith(("active_d", "signed_d"))}
    codes = {level_id: code for code, level_id in levels.items()}
    return {**shown, "date": None, "days": 1, "active_member_days": figures["active_members"],
            "liability_fen": figures["points_outstanding"],
            "members_by_level": {codes[level_id]: count for level_id, count in figures["members_by_level"].items()}}


def test_the_report_adds_the_days_up_compares_with_the_range_before_and_draws_the_cohorts(client, clock, operator,
                                                                                         history):
    go(clock, day(5))
    viewer = operator("viewer")
    answer = _ok(stats(client, viewer, from_=day(0), to=day(4)))
    expected = hand_count(history)
    assert [{**bucket, "date": None} for bucket in answer["series"]] == [
        _api_view(expected[when], history["levels"]) for when in sorted(expected)]
    totals = answer["totals"]
    assert {name: totals[name] for name in ("days", "new_members", "active_members", "active_member_days",
                                            "total_members", "signins", "makeups", "points_issued", "points_spent",
                                            "points_expired", "points_reversed", "points_outstanding",
                                            "liability_fen", "payments_fen", "refunds_fen", "mall_orders",
                                            "coupons_issued", "coupons_used", "coupons_expired", "guide_bindings",
                                            "store_purchases_fen")} == {
        "days": 5, "new_members": 4, "active_members": 2, "active_member_days": 9, "total_members": 4,
        "signins": 7, "makeups": 1, "points_issued": 197, "points_spent": 30, "points_expired": 30,
        "points_reversed": 40, "points_outstanding": 97, "liability_fen": 97, "payments_fen": 10000,
        "refunds_fen": 4000, "mall_orders": 1, "coupons_issued": 2, "coupons_used": 1, "coupons_expired": 1,
        "guide_bindings": 2, "store_purchases_fen": 2000}
    assert totals["points_issued_by_reason"] == {"purchase": 100, "signin": 40, "store_purchase": 20, "task": 7,
                                                 "welcome": 30}
    assert totals["redemption_rate"] == 30 / 197 and totals["breakage_rate"] == 30 / 197
    # the five days before were rolled up by the job, with nothing in them: a zero baseline, never a ratio
    assert answer["previous"]["days"] == 5 and answer["previous"]["new_members"] == 0
    assert answer["previous"]["redemption_rate"] is None and set(answer["change"].values()) == {None}
    assert answer["cohorts"][:3] == [
        {"date": str(day(0)), "new_members": 3, "retention": {"d1": 2 / 3, "d7": None, "d30": None},
         "signin_retention": {"d1": 2 / 3, "d7": None, "d30": None}},
        {"date": str(day(1)), "new_members": 1, "retention": {"d1": 0.0, "d7": None, "d30": None},
         "signin_retention": {"d1": 0.0, "d7": None, "d30": None}},
        {"date": str(day(2)), "new_members": 0, "retention": {"d1": None, "d7": None, "d30": None},
         "signin_retention": {"d1": None, "d7": None, "d30": None}}]
    for granularity, first in (("week", day(0)), ("month", date(2025, 3, 1))):
        (bucket,) = _ok(stats(client, viewer, from_=day(0), to=day(4), granularity=granularity))["series"]
        assert bucket == {**{name: value for name, value in totals.items() if not name.endswith("_rate")},
                          "date": str(first)}


def test_a_range_reaching_today_ends_with_todays_figures_computed_live(client, clock, operator, history):
    go(clock, day(5))
    answer = _ok(stats(client, operator("viewer"), from_=day(3), to=day(9)))
    assert (answer["to"], answer["through"]) == (str(day(9)), str(day(5)))
    assert [bucket["date"] for bucket in answer["series"]] == [str(day(n)) for n in (3, 4, 5)]
    today = answer["series"][-1]
    assert (today["days"], today["total_members"], today["points_outstanding"], today["signins"]) == (1, 4, 97, 0)
    assert stored(day(5)) is None  # never stored: the day is not over


def test_the_series_as_csv_for_finance(client, clock, operator, history):
    go(clock, day(5))
    res = client.get("/api/v1/admin/stats.csv", headers=operator("viewer"),
                     query_string={"from": str(day(0)), "to": str(day(4))})
    assert res.status_code == 200 and res.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(res.get_data(as_text=True))))
    assert [row["date"] for row in rows] == [str(day(n)) for n in range(5)]
    assert (rows[0]["new_members"], rows[0]["points_issued"], rows[0]["points_issued:welcome"]) == ("3", "47", "30")
    assert (rows[1]["payments_fen"], rows[1]["points_issued:welcome"]) == ("10000", "0")
    assert rows[2]["points_spent:mall"] == "30"
    assert rows[4]["points_outstanding"] == "97"
