"""The sold-out mark (services/mall/sold_out.py): once the last unit is gone, an order is answered
out_of_stock from Redis without a statement to the database; anything that puts units back removes
it (a restock, a cancelled order, uploaded codes); a winner's late mark never covers a put-back; a
wrong mark is repaired from SQL."""
from sqlalchemy import event

from models import db
from services.index import redis_repair
from services.mall import sold_out
from services.platform.db import transaction
from services.platform.redis_client import get_redis
from tests.support.api import assert_error
from tests.support.mall import add_goods, order, placed


def _statements(call):
    seen = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = call()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return result, [s for s in seen if "redis_repair" not in s]  # the repair poll may run on any request


def _sold_out(client, admin, make_member, **fields):
    goods = add_goods(client, admin, stock=1, **fields)
    placed(order(client, make_member(points_=500), goods["id"]))
    assert get_redis().exists(sold_out.key(goods["id"]))
    return goods


def test_after_the_last_unit_an_order_is_refused_without_the_database(client, operator, make_member):
    goods = _sold_out(client, operator(), make_member)
    loser = make_member(points_=500)
    client.get("/api/v1/signin/calendar", headers=loser["headers"])  # the member's card in Redis, as after a read
    res, statements = _statements(lambda: order(client, loser, goods["id"]))
    error = assert_error(res, 409)
    assert error["code"] == "out_of_stock" and error["details"] == {"goods_id": goods["id"], "stock": 0}
    assert statements == []


def test_a_restock_removes_the_mark_and_orders_go_through(client, operator, make_member):
    admin = operator()
    goods = _sold_out(client, admin, make_member)
    res = client.patch(f"/api/v1/admin/goods/{goods['id']}", headers=admin, json={"stock": 3})
    assert res.status_code == 200, res.get_json()
    assert not get_redis().exists(sold_out.key(goods["id"]))
    placed(order(client, make_member(points_=500), goods["id"]))


def test_a_cancelled_order_puts_its_unit_back_and_removes_the_mark(client, operator, make_member, wx):
    admin = operator()
    goods = add_goods(client, admin, stock=1, price_fen=990)
    member = make_member(points_=500)
    pending = placed(order(client, member, goods["id"]))["order"]
    assert get_redis().exists(sold_out.key(goods["id"]))
    assert client.post(f"/api/v1/mall/orders/{pending['id']}/cancel", headers=member["headers"]).status_code == 200
    assert not get_redis().exists(sold_out.key(goods["id"]))
    placed(order(client, make_member(points_=500), goods["id"]))


def test_uploaded_codes_remove_the_mark(client, operator, make_member):
    admin = operator()
    goods = add_goods(client, admin, kind="virtual", price_points=10, stock=0)
    client.post(f"/api/v1/admin/goods/{goods['id']}/codes", headers=admin, json={"csv": "A-1"})
    placed(order(client, make_member(points_=500), goods["id"], address=None))
    assert get_redis().exists(sold_out.key(goods["id"]))
    client.post(f"/api/v1/admin/goods/{goods['id']}/codes", headers=admin, json={"csv": "A-2"})
    assert not get_redis().exists(sold_out.key(goods["id"]))
    placed(order(client, make_member(points_=500), goods["id"], address=None))


def test_a_winners_late_mark_never_covers_a_put_back(client, operator):
    goods = add_goods(client, operator(), stock=1)
    with transaction():
        sold_out.taken(goods["id"], 0)  # the winner took the last unit and read the put-back count…
        sold_out.put_back(goods["id"])  # …a put-back counts up before the winner's mark is written
    assert not get_redis().exists(sold_out.key(goods["id"]))
    with transaction():
        sold_out.taken(goods["id"], 0)  # nothing put back since: the mark is written
    assert get_redis().exists(sold_out.key(goods["id"]))


def test_a_wrong_mark_is_repaired_from_sql(client, operator, make_member):
    admin = operator()
    on_sale = add_goods(client, admin, stock=2)
    gone = _sold_out(client, admin, make_member)
    get_redis().set(sold_out.key(on_sale["id"]), 1)  # corrupt: a mark on goods in stock
    get_redis().delete(sold_out.key(gone["id"]))
    redis_repair.note(sold_out.REPAIR_KIND)
    redis_repair.repair_waiting()
    assert not get_redis().exists(sold_out.key(on_sale["id"]))
    assert get_redis().exists(sold_out.key(gone["id"]))
    placed(order(client, make_member(points_=500), on_sale["id"]))
