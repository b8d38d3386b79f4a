"""A coupon a store's own 支付有礼 rule gave is that store's: paid with there, refused at another store's
checkout and online (409 coupon_not_usable, other_store), as a guide of another store cannot write it off."""
import pytest

from tests.support.api import assert_error
from tests.support.payments import notify_xml, post_notify, start_payment, store_with_rule


@pytest.fixture
def earned(client, wx, operator, make_member):
    """A member holding the coupon store A's rule gave them, and another store B."""
    admin = operator()
    shop = store_with_rule(client, admin, min_amount_fen=0, coupon={
        "name": "本店满20减5", "kind": "cash_off", "amount_fen": 500, "min_spend_fen": 2000, "valid_days": 30})
    other = client.post("/api/v1/admin/stores", headers=admin, json={"name": "另一家店"}).get_json()
    member = make_member()
    paid = start_payment(client, member, 1000, store_id=shop["store_id"])["payment"]
    assert post_notify(client, notify_xml(wx, paid["out_trade_no"]))
    [code] = client.get(f"/api/v1/payments/{paid['id']}", headers=member["headers"]).get_json()["rewards"]["coupons"]
    return {"member": member, "code": code, "store": shop["store_id"], "other_store": other["id"]}


@pytest.mark.parametrize("where", ["other_store", None])
def test_pay_with_a_stores_own_coupon_elsewhere_is_refused(client, earned, where):
    body = {"amount_fen": 3000, "description": "门店消费", "coupon_code": earned["code"]}
    if where:
        body["store_id"] = earned[where]
    error = assert_error(client.post("/api/v1/payments", headers=earned["member"]["headers"], json=body), 409)
    assert (error["code"], error["details"]["reason"]) == ("coupon_not_usable", "other_store")


def test_pay_with_a_stores_own_coupon_there_takes_it_off(client, earned):
    started = start_payment(client, earned["member"], 3000, store_id=earned["store"], coupon_code=earned["code"])
    assert started["payment"]["amount_fen"] == 2500
