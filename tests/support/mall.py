"""The mall in tests: add goods, place and pay orders, read a member's points."""
from models import db
from services.ledger import points
from tests.support.api import unique

ADDRESS = {"userName": "张三", "telNumber": "13800000000", "provinceName": "上海市", "cityName": "上海市",
           "countyName": "浦东新区", "detailInfo": "世纪大道 1 号", "postalCode": "200120"}



def add_goods(client, admin, **fields):
    body = {"name": unique("goods"), "kind": "physical", "price_points": 100, "price_fen": 0, "stock": 10, **fields}
    res = client.post("/api/v1/admin/goods", headers=admin, json=body)
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def order(client, member, goods_id, quantity=1, address=ADDRESS, headers=None, **extra):
    body = {"goods_id": goods_id, "quantity": quantity, **extra}
    if address is not None:
        body["address"] = address
    return client.post("/api/v1/mall/orders", headers={**member["headers"], **(headers or {})}, json=body)


def placed(res):
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def member_points(member):
    db.session.rollback()
    return points.summary(member["member"]["id"])
