"""The points mall: goods, orders in points and in points plus cash through the sandbox's signed
notify, time-outs, cancel, shipping, refunds through the refund notify, limits, and the audit."""
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from models import AuditLog, Goods, MallOrder, MemberEvent, Payment, PointsEntry, PointsHold, Refund, VirtualCode, db
from models.message import OutboxMessage as Message
from services.ledger import audit
from services.mall import goods as catalogue
from services.mall import orders
from services.payments import payments
from tests.support.api import assert_error, unique
from tests.support.console import signed_in
from tests.support.db import row_counts
from tests.support.mall import ADDRESS, add_goods, member_points, order, placed
from tests.support.payments import keyed, notify_xml, post_notify

NOTHING_WRITTEN = (MallOrder, PointsEntry, PointsHold, Payment, MemberEvent)




def high_level(client, admin):
    """A level no test member reaches."""
    code = unique("vip")
    res = client.post("/api/v1/admin/levels", headers=admin, json={
        "code": code.replace("-", "_")[-32:], "name": "VIP", "threshold": 10**8 + int(code.rsplit("-", 1)[1])})
    assert res.status_code == 201, res.get_json()
    return res.get_json()






def goods_row(goods_id):
    db.session.rollback()
    return db.session.get(Goods, goods_id)




def assert_clean():
    db.session.rollback()
    assert audit.check_books()["problems"] == []


def test_operators_add_goods_and_members_see_what_they_can_afford_reach_and_still_order(client, operator, make_member):
    admin = operator()
    level = high_level(client, admin)
    cheap = add_goods(client, admin, category="kitchen", price_points=50, per_member_limit=2)
    gold = add_goods(client, admin, category="kitchen", price_points=10, min_level_id=level["id"])
    mixed = add_goods(client, admin, category="kitchen", price_points=500, price_fen=1990)
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "goods.create", AuditLog.target_id == str(cheap["id"]))) == 1
    member = make_member(points_=100)
    visitor = client.get("/api/v1/mall/goods", query_string={"category": "kitchen", "limit": 100}).get_json()
    assert {cheap["id"], gold["id"], mixed["id"]} <= {item["id"] for item in visitor["items"]}
    seen = {item["id"]: item for item in client.get("/api/v1/mall/goods", headers=member["headers"], query_string={
        "category": "kitchen", "limit": 100}).get_json()["items"]}
    assert (seen[cheap["id"]]["affordable"], seen[cheap["id"]]["limit_left"], seen[cheap["id"]]["locked_by_level"]) == (
        True, 2, False)
    assert seen[gold["id"]]["locked_by_level"] is True and seen[gold["id"]]["min_level"] == level["code"]
    assert seen[mixed["id"]]["affordable"] is False and seen[mixed["id"]]["member_price_fen"] == 1990
    one = client.get(f"/api/v1/mall/goods/{mixed['id']}").get_json()
    assert (one["price_points"], one["price_fen"], one["stock"], one["kind"]) == (500, 1990, 10, "physical")
    client.delete(f"/api/v1/admin/goods/{mixed['id']}", headers=admin)
    assert assert_error(client.get(f"/api/v1/mall/goods/{mixed['id']}"), 404)["code"] == "not_found"
    assert mixed["id"] not in {item["id"] for item in client.get("/api/v1/mall/goods", query_string={
        "category": "kitchen", "limit": 100}).get_json()["items"]}


def test_pure_points_orders_deliver_every_kind_in_one_go(client, operator, make_member):
    admin = operator()
    template = client.post("/api/v1/admin/coupon-templates", headers=admin, json={
        "name": "5 元券", "kind": "cash_off", "amount_fen": 500, "min_spend_fen": 0, "valid_days": 7}).get_json()
    physical = add_goods(client, admin, price_points=100)
    coupon = add_goods(client, admin, kind="coupon", coupon_template_id=template["id"], price_points=20,
                       per_order_limit=3)
    virtual = add_goods(client, admin, kind="virtual", price_points=30, stock=0, per_order_limit=2)
    res = client.post(f"/api/v1/admin/goods/{virtual['id']}/codes", headers=admin, data="code\nAAA-1\nAAA-2\nAAA-3\nAAA-1\n",
                      content_type="text/csv")
    assert res.status_code == 200 and res.get_json() == {"added": 3, "skipped": 0, "stock": 3}, res.get_json()
    again = client.post(f"/api/v1/admin/goods/{virtual['id']}/codes", headers=admin, json={"csv": "AAA-3\nAAA-4"})
    assert again.get_json() == {"added": 1, "skipped": 1, "stock": 4}
    member = make_member(points_=1000)

    shipped = placed(order(client, member, physical["id"]))
    assert shipped["pay"] is None and shipped["order"]["status"] == "paid" and shipped["order"]["points"] == 100
    coupons = placed(order(client, member, coupon["id"], quantity=3, address=None))["order"]
    assert coupons["status"] == "completed" and len(coupons["coupons"]) == 3
    owned = {c["code"] for c in client.get("/api/v1/coupons", headers=member["headers"]).get_json()["items"]}
    assert set(coupons["coupons"]) <= owned
    codes = placed(order(client, member, virtual["id"], quantity=2, address=None))["order"]
    assert codes["status"] == "completed" and [c["code"] for c in codes["codes"]] == ["AAA-1", "AAA-2"]
    assert member_points(member)["balance"] == 1000 - 100 - 60 - 60
    assert (goods_row(virtual["id"]).stock, goods_row(virtual["id"]).sold) == (2, 2)
    assert db.session.scalar(select(func.count()).select_from(MemberEvent).where(
        MemberEvent.member_id == member["member"]["id"], MemberEvent.type == "mall_redeemed")) == 3
    assert_clean()


def _cash_goods(client, admin, **fields):
    return add_goods(client, admin, **{"price_points": 200, "price_fen": 990, **fields})


def test_points_plus_cash_is_held_then_completed_by_the_signed_notify_once(client, operator, make_member, wx):
    goods = _cash_goods(client, operator())
    member = make_member(points_=500)
    answer = placed(order(client, member, goods["id"]))
    assert answer["order"]["status"] == "pending_payment" and answer["order"]["amount_fen"] == 990
    assert {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"} <= set(answer["pay"])
    assert member_points(member) | {"expiring": None} == {"balance": 500, "frozen": 200, "available": 300,
                                                            "expiring": None}
    assert (goods_row(goods["id"]).stock, goods_row(goods["id"]).reserved) == (9, 1)
    payment = db.session.get(Payment, answer["order"]["payment_id"])
    xml = notify_xml(wx, payment.out_trade_no)
    for _ in range(3):
        assert post_notify(client, xml)
    got = client.get(f"/api/v1/mall/orders/{answer['order']['id']}", headers=member["headers"]).get_json()
    assert got["status"] == "paid" and got["paid_at"]
    assert member_points(member)["balance"] == 300 and member_points(member)["frozen"] == 0
    assert (goods_row(goods["id"]).reserved, goods_row(goods["id"]).sold) == (0, 1)
    assert_clean()


def test_an_unpaid_order_times_out_releasing_points_and_stock_and_a_late_payment_is_refunded(
        client, operator, make_member, wx, clock):
    goods = _cash_goods(client, operator())
    member = make_member(points_=500)
    first = placed(order(client, member, goods["id"]))["order"]
    second = placed(order(client, member, goods["id"]))["order"]
    assert member_points(member)["available"] == 100
    clock.advance(timedelta(minutes=16))
    wx.post("faults", api="closeorder", errcode="SYSTEMERROR", times=-1)  # WeChat cannot close the first…
    try:
        payments.reconcile_all()  # …so the scheduled time-out closes it here only, and the payer still can pay
    finally:
        wx.delete("faults")
    got = client.get(f"/api/v1/mall/orders/{second['id']}", headers=member["headers"]).get_json()  # the read
    assert got["status"] == "cancelled" and got["cancelled_at"]
    db.session.rollback()
    assert db.session.get(MallOrder, first["id"]).status == "cancelled"
    assert member_points(member)["available"] == 500 and member_points(member)["frozen"] == 0
    assert (goods_row(goods["id"]).stock, goods_row(goods["id"]).reserved) == (10, 0)
    late_xml = notify_xml(wx, db.session.get(Payment, first["payment_id"]).out_trade_no)
    assert post_notify(client, late_xml)  # paid after the close: the money goes back, the order stays cancelled
    db.session.rollback()
    late = db.session.get(Payment, first["payment_id"])
    assert late.paid_after_close and late.status == "paid"
    assert db.session.scalar(select(Refund).where(Refund.payment_id == late.id)).amount_fen == 990
    assert db.session.get(MallOrder, first["id"]).status == "cancelled"
    assert member_points(member)["balance"] == 500
    assert_clean()


def test_the_member_cancels_an_unpaid_order_and_cannot_cancel_a_paid_one(client, operator, make_member, wx):
    admin = operator()
    goods = _cash_goods(client, admin)
    member = make_member(points_=500)
    pending = placed(order(client, member, goods["id"]))["order"]
    res = client.post(f"/api/v1/mall/orders/{pending['id']}/cancel", headers=member["headers"])
    assert res.status_code == 200 and res.get_json()["status"] == "cancelled", res.get_json()
    assert member_points(member)["available"] == 500 and goods_row(goods["id"]).stock == 10
    pure = placed(order(client, member, add_goods(client, admin)["id"]))["order"]
    assert assert_error(client.post(f"/api/v1/mall/orders/{pure['id']}/cancel", headers=member["headers"]),
                        409)["code"] == "not_cancellable"
    assert_clean()


def test_a_replayed_idempotency_key_makes_one_order(client, operator, make_member):
    goods = _cash_goods(client, operator())
    member = make_member(points_=1000)
    key = {"Idempotency-Key": unique("order")}
    answers = [order(client, member, goods["id"], headers=key) for _ in range(3)]
    assert [res.status_code for res in answers] == [201] * 3
    assert len({res.get_json()["order"]["id"] for res in answers}) == 1
    assert answers[0].get_json()["pay"] == answers[2].get_json()["pay"]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(MallOrder).where(
        MallOrder.member_id == member["member"]["id"])) == 1
    assert member_points(member)["frozen"] == 200


def test_a_shipped_order_refunded_through_the_refund_notify_three_times_reverses_once(
        client, operator, make_member, wx, app):
    admin = operator()
    goods = _cash_goods(client, admin)
    member = make_member(points_=500)
    template_id = app.config["WECHAT_TEMPLATES"]["order_shipped"]
    client.post("/api/v1/me/subscriptions", headers=member["headers"], json={"accepted": [template_id]})
    placed_order = placed(order(client, member, goods["id"]))["order"]
    out_trade_no = db.session.get(Payment, placed_order["payment_id"]).out_trade_no
    assert post_notify(client, notify_xml(wx, out_trade_no))
    res = client.post(f"/api/v1/admin/orders/{placed_order['id']}/ship", headers=admin, json={"tracking_no": "SF123"})
    assert res.status_code == 200 and res.get_json()["status"] == "shipped", res.get_json()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Message).where(
        Message.member_id == member["member"]["id"], Message.template_key == "order_shipped")) == 1
    assert member_points(member)["balance"] == 300
    res = client.post(f"/api/v1/admin/orders/{placed_order['id']}/refund", headers=admin, json={"reason": "退货"})
    assert assert_error(res, 400)["code"] == "invalid_request"  # no Idempotency-Key
    res = client.post(f"/api/v1/admin/orders/{placed_order['id']}/refund", headers=keyed(admin), json={"reason": "退货"})
    assert res.status_code == 200 and res.get_json()["status"] == "shipped", res.get_json()  # until WeChat confirms
    refund = db.session.scalar(select(Refund).where(Refund.payment_id == placed_order["payment_id"]))
    xml = wx.post(f"refunds/{refund.out_refund_no}/notify", send=False)["xml"]
    for _ in range(3):
        assert client.post("/api/v1/payments/wechat/refund-notify", data=xml, content_type="text/xml").status_code == 200
    got = client.get(f"/api/v1/mall/orders/{placed_order['id']}", headers=member["headers"]).get_json()
    assert got["status"] == "refunded" and got["refunded_at"]
    assert member_points(member) | {"expiring": None} == {"balance": 500, "frozen": 0, "available": 500,
                                                            "expiring": None}
    assert (goods_row(goods["id"]).stock, goods_row(goods["id"]).sold) == (10, 0)
    assert db.session.scalar(select(func.count()).select_from(PointsEntry).where(
        PointsEntry.business_key.like(f"mall-refund:{got['order_no']}"))) == 1
    assert_clean()


def test_a_refunded_virtual_order_voids_its_codes_for_good(client, operator, make_member):
    admin = operator()
    goods = add_goods(client, admin, kind="virtual", price_points=30, stock=0)
    client.post(f"/api/v1/admin/goods/{goods['id']}/codes", headers=admin, json={"csv": "V-1\nV-2"})
    member = make_member(points_=100)
    first = placed(order(client, member, goods["id"], address=None))["order"]
    res = client.post(f"/api/v1/admin/orders/{first['id']}/refund", headers=keyed(admin), json={"reason": "客诉"})
    assert res.status_code == 200 and res.get_json()["status"] == "refunded", res.get_json()
    assert member_points(member)["balance"] == 100
    second = placed(order(client, member, goods["id"], address=None))["order"]
    assert [c["code"] for c in second["codes"]] == ["V-2"]  # V-1 was shown: never handed out again
    assert client.get(f"/api/v1/mall/orders/{first['id']}", headers=member["headers"]).get_json()["codes"] == [
        {"code": "V-1", "status": "void"}]
    assert (goods_row(goods["id"]).stock, goods_row(goods["id"]).total) == (0, 1)
    assert assert_error(order(client, member, goods["id"], address=None), 409)["code"] == "out_of_stock"
    assert_clean()


def test_shipped_orders_complete_when_confirmed_or_days_after_shipping(client, operator, make_member, clock, app,
                                                                      monkeypatch):
    monkeypatch.setitem(app.config, "MALL_CONFIRM_DAYS", 2)
    admin = operator()
    goods = add_goods(client, admin)
    member = make_member(points_=1000)
    confirmed, read, by_job = (placed(order(client, member, goods["id"]))["order"] for _ in range(3))
    for one in (confirmed, read, by_job):
        client.post(f"/api/v1/admin/orders/{one['id']}/ship", headers=admin, json={"tracking_no": "YT1"})
    res = client.post(f"/api/v1/mall/orders/{confirmed['id']}/confirm", headers=member["headers"])
    assert res.status_code == 200 and res.get_json()["status"] == "completed"
    clock.advance(timedelta(days=1, hours=23))
    assert client.get(f"/api/v1/mall/orders/{read['id']}", headers=member["headers"]).get_json()["status"] == "shipped"
    clock.advance(timedelta(hours=1, minutes=1))
    assert client.get(f"/api/v1/mall/orders/{read['id']}", headers=member["headers"]).get_json()["status"] == "completed"
    assert orders.complete_received() == 1
    assert orders.get_order(by_job["id"]).status == "completed"
    assert assert_error(client.post(f"/api/v1/admin/orders/{read['id']}/ship", headers=operator(),
                                    json={"tracking_no": "YT2"}), 409)["code"] == "not_shippable"


@pytest.mark.parametrize("case", ["insufficient_points", "out_of_stock", "per_order", "per_member", "level",
                                  "window", "off_sale", "address"])
def test_refused_orders_change_nothing(client, operator, make_member, case):
    admin = operator()
    level = high_level(client, admin)
    fields = {"insufficient_points": {"price_points": 5000}, "out_of_stock": {"stock": 1},
              "per_order": {"per_order_limit": 1}, "per_member": {"per_member_limit": 1},
              "level": {"min_level_id": level["id"]},
              "window": {"starts_at": "2099-01-01T00:00:00+08:00"}, "off_sale": {"status": "off_sale"},
              "address": {}}[case]
    goods = add_goods(client, admin, **fields)
    member = make_member(points_=1000)
    if case in ("out_of_stock", "per_member"):
        placed(order(client, member if case == "per_member" else make_member(points_=1000), goods["id"]))
    before, stock = row_counts(*NOTHING_WRITTEN), goods_row(goods["id"]).stock
    res = order(client, member, goods["id"], quantity=2 if case == "per_order" else 1,
                address=None if case == "address" else ADDRESS)
    expected = {"insufficient_points": (409, "insufficient_points"), "out_of_stock": (409, "out_of_stock"),
                "per_order": (409, "limit_reached"), "per_member": (409, "limit_reached"),
                "level": (403, "forbidden"), "window": (409, "not_on_sale"), "off_sale": (404, "not_found"),
                "address": (400, "invalid_request")}[case]
    assert assert_error(res, expected[0])["code"] == expected[1]
    assert row_counts(*NOTHING_WRITTEN) == before and goods_row(goods["id"]).stock == stock
    assert_clean()


def test_another_members_order_is_not_found_and_bad_bodies_are_refused(client, operator, make_member):
    goods = add_goods(client, operator())
    owner, other = make_member(points_=500), make_member(points_=500)
    mine = placed(order(client, owner, goods["id"]))["order"]
    for path in (f"/api/v1/mall/orders/{mine['id']}", "/api/v1/mall/orders/2147483648"):
        assert assert_error(client.get(path, headers=other["headers"]), 404)["code"] == "not_found"
    assert assert_error(client.post(f"/api/v1/mall/orders/{mine['id']}/cancel", headers=other["headers"]), 404)
    before = row_counts(*NOTHING_WRITTEN)
    for body in ({"goods_id": goods["id"], "quantity": 0}, {"goods_id": goods["id"], "quantity": -1},
                 {"goods_id": goods["id"], "quantity": 10**12}, {"quantity": 1}, {"goods_id": "1", "quantity": 1},
                 {"goods_id": goods["id"], "quantity": "2"}, {"goods_id": goods["id"], "color": "red"},
                 {"goods_id": goods["id"], "address": {"userName": "x"}}, {"goods_id": 2**40}):
        res = client.post("/api/v1/mall/orders", headers=other["headers"], json=body)
        assert 400 <= res.status_code < 500, (body, res.status_code)
        assert_error(res, res.status_code)
    assert assert_error(client.post("/api/v1/mall/orders", headers=other["headers"], json={"goods_id": 2147483647}),
                        404)["code"] == "not_found"
    assert row_counts(*NOTHING_WRITTEN) == before
    assert assert_error(client.post("/api/v1/mall/orders", json={"goods_id": goods["id"]}), 401)


@pytest.mark.parametrize("price_fen", [0, 990], ids=["pure_points", "points_and_cash"])
def test_flash_sale_fifty_members_race_for_five(client, operator, make_member, live_server, price_fen):
    goods = add_goods(client, operator(), price_points=100, price_fen=price_fen, stock=5)
    members = [make_member(points_=150) for _ in range(50)]

    def attempt(member):
        return requests.post(f"{live_server}/api/v1/mall/orders", headers=member["headers"], timeout=60,
                             json={"goods_id": goods["id"], "address": ADDRESS})

    with ThreadPoolExecutor(max_workers=25) as pool:
        answers = list(pool.map(attempt, members))
    codes = sorted(res.status_code for res in answers)
    assert codes == [201] * 5 + [409] * 45, codes
    assert all(res.json()["error"]["code"] == "out_of_stock" for res in answers if res.status_code == 409)
    row = goods_row(goods["id"])
    assert row.stock == 0 and row.reserved + row.sold == 5
    assert db.session.scalar(select(func.count()).select_from(MallOrder).where(MallOrder.goods_id == goods["id"])) == 5
    for member, res in zip(members, answers):
        if res.status_code == 409:
            assert member_points(member) | {"expiring": None} == {"balance": 150, "frozen": 0, "available": 150,
                                                                    "expiring": None}
    assert_clean()


def test_audit_ledger_reports_broken_mall_books(app, client, operator, make_member):
    from tests.support.audit import assert_reported, corrupted
    admin = operator()
    goods = _cash_goods(client, admin)
    virtual = add_goods(client, admin, kind="virtual", price_points=10, stock=0)
    client.post(f"/api/v1/admin/goods/{virtual['id']}/codes", headers=admin, json={"csv": "C-1\nC-2"})
    member = make_member(points_=500)
    pending = placed(order(client, member, goods["id"]))["order"]
    delivered = placed(order(client, member, virtual["id"], address=None))["order"]
    code_id = db.session.scalar(select(VirtualCode.id).where(VirtualCode.order_id == delivered["id"]))
    with corrupted("UPDATE goods SET reserved = reserved - 1, sold = sold + 1 WHERE id = :g",
                   "UPDATE goods SET reserved = reserved + 1, sold = sold - 1 WHERE id = :g", g=goods["id"]):
        assert_reported(app, f"goods {goods['id']}: reserved 0", f"goods {goods['id']}: sold 1")
    with corrupted("UPDATE points_hold SET status = 'released' WHERE business_key = :k",
                   "UPDATE points_hold SET status = 'open' WHERE business_key = :k",
                   k=f"mall:{pending['order_no']}:hold"):
        assert_reported(app, f"mall order {pending['id']} (pending_payment): its hold is released")
    with corrupted("UPDATE virtual_code SET order_id = NULL, status = 'available' WHERE id = :c",
                   "UPDATE virtual_code SET order_id = :o, status = 'delivered' WHERE id = :c",
                   c=code_id, o=delivered["id"]):
        assert_reported(app, f"mall order {delivered['id']} (completed): 0 codes for 1 units",
                        f"virtual goods {virtual['id']}")
    assert_clean()


def test_wechat_refusing_the_pay_order_cancels_it_and_gives_everything_back(client, operator, make_member, wx):
    goods = _cash_goods(client, operator())
    member = make_member(points_=500)
    wx.post("faults", api="unifiedorder", errcode="SYSTEMERROR", times=1)
    try:
        assert assert_error(order(client, member, goods["id"]), 502)["code"] == "wechat_error"
    finally:
        wx.delete("faults")
    db.session.rollback()
    assert db.session.scalar(select(MallOrder.status).where(MallOrder.member_id == member["member"]["id"])) == "cancelled"
    assert member_points(member)["available"] == 500 and goods_row(goods["id"]).stock == 10
    assert_clean()


def test_a_lottery_goods_prize_is_a_free_order_shipped_once_the_member_gives_an_address(client, operator, make_member):
    admin = operator()
    goods = add_goods(client, admin, stock=1)
    lottery = client.post("/api/v1/admin/lotteries", headers=admin, json={
        "name": "实物抽奖", "cost_points": 1, "daily_limit": 5,
        "prizes": [{"name": "保温杯", "kind": "goods", "goods_id": goods["id"], "weight": 1}]}).get_json()
    member = make_member(points_=10)
    won = client.post(f"/api/v1/lottery/{lottery['id']}/draw", headers=member["headers"]).get_json()
    assert won["prize"]["kind"] == "goods" and won["prize"]["order_id"], won
    prize_order = client.get(f"/api/v1/mall/orders/{won['prize']['order_id']}", headers=member["headers"]).get_json()
    assert (prize_order["status"], prize_order["points"], prize_order["amount_fen"]) == ("paid", 0, 0)
    ship = f"/api/v1/admin/orders/{prize_order['id']}/ship"
    assert assert_error(client.post(ship, headers=admin, json={"tracking_no": "SF1"}), 409)["code"] == "not_shippable"
    res = client.post(f"/api/v1/mall/orders/{prize_order['id']}/address", headers=member["headers"],
                      json={"address": ADDRESS})
    assert res.status_code == 200 and res.get_json()["address"]["userName"] == "张三", res.get_json()
    assert client.post(ship, headers=admin, json={"tracking_no": "SF1"}).get_json()["status"] == "shipped"
    # the goods' one unit is gone: the prize is drawn around, the draw wins nothing
    assert client.post(f"/api/v1/lottery/{lottery['id']}/draw", headers=member["headers"]).get_json()["prize"] is None
    assert (goods_row(goods["id"]).stock, goods_row(goods["id"]).sold) == (0, 1)
    assert_clean()


def test_the_members_level_takes_its_discount_off_the_cash_part_and_opens_its_goods(client, operator, make_member):
    admin = operator()
    code = unique("vip")
    threshold = 9 * 10**8 + int(code.rsplit("-", 1)[1])
    level = client.post("/api/v1/admin/levels", headers=admin, json={
        "code": code.replace("-", "_")[-32:], "name": "黑金", "threshold": threshold, "mall_discount_pct": 80}).get_json()
    goods = _cash_goods(client, admin, price_fen=1000, min_level_id=level["id"])
    undiscounted = _cash_goods(client, admin, price_fen=1000, level_discount=False)
    member = make_member(points_=1000, growth_=threshold)
    seen = client.get(f"/api/v1/mall/goods/{goods['id']}", headers=member["headers"]).get_json()
    assert (seen["member_price_fen"], seen["locked_by_level"]) == (800, False)
    placed_order = placed(order(client, member, goods["id"]))["order"]
    assert (placed_order["amount_fen"], placed_order["discount_fen"]) == (800, 200)
    assert placed(order(client, member, undiscounted["id"]))["order"]["amount_fen"] == 1000
    assert assert_error(order(client, make_member(points_=1000), goods["id"]), 403)["code"] == "forbidden"


def test_codes_beyond_one_uploads_size_are_refused_from_the_api_and_the_console(app, client, operator, monkeypatch):
    monkeypatch.setattr(catalogue, "MAX_CODES_CHARS", 1000)  # the rule, not two megabytes through the test client
    admin = operator()
    goods = add_goods(client, admin, kind="virtual", stock=0)
    text = "c" * 1001
    res = client.post(f"/api/v1/admin/goods/{goods['id']}/codes", headers={**admin, "Content-Type": "text/csv"},
                      data=text)
    assert_error(res, 400)
    console, token = signed_in(app)
    page = console.post(f"/console/goods/{goods['id']}/codes", content_type="multipart/form-data",
                        data={"csv": (io.BytesIO(text.encode()), "codes.csv"), "csrf_token": token})
    assert page.status_code == 422 and "At most 1000 characters." in page.get_data(as_text=True)
    assert client.get(f"/api/v1/admin/goods/{goods['id']}", headers=admin).get_json()["stock"] == 0
