"""What the payment tests share: a store with its 支付有礼 rule, a buyer, and paying through the sandbox."""
import pytest

from tests.conftest import unique

SUCCESS = "<return_code><![CDATA[SUCCESS]]></return_code>"


def store_with_rule(client, admin, *, min_amount_fen: int, coupon: dict, per_member_limit: int | None = None):
    """A store of its own with a 支付有礼 rule handing out a pack of one coupon of `coupon`'s template."""
    store = client.post("/api/v1/admin/stores", headers=admin, json={"name": unique("store")}).get_json()
    template = client.post("/api/v1/admin/coupon-templates", headers=admin, json=coupon).get_json()
    pack = client.post("/api/v1/admin/coupon-packs", headers=admin, json={
        "name": unique("pack"), "items": [{"template_id": template["id"], "quantity": 1}]}).get_json()
    rule = client.post("/api/v1/admin/payment-rules", headers=admin, json={
        "name": "满额送券", "min_amount_fen": min_amount_fen, "coupon_pack_id": pack["id"], "store_id": store["id"],
        "per_member_limit": per_member_limit})
    assert rule.status_code == 201, rule.get_json()
    return {"admin": admin, "store_id": store["id"], "pack_id": pack["id"], "template_id": template["id"],
            "rule_id": rule.get_json()["id"]}


@pytest.fixture
def shop(client, operator):
    """A store with its own 支付有礼 rule (pay ≥ 50 元 → a pack of one 满50减10 coupon)."""
    return store_with_rule(client, operator(), min_amount_fen=5000, coupon={
        "name": "满50减10", "kind": "cash_off", "amount_fen": 1000, "min_spend_fen": 5000, "valid_days": 30})


@pytest.fixture
def buyer(client, make_member, app):
    """A member who accepted the pay_success subscribe message once."""
    member = make_member()
    template_id = app.config["WECHAT_TEMPLATES"]["pay_success"]
    res = client.post("/api/v1/me/subscriptions", headers=member["headers"], json={"accepted": [template_id]})
    assert res.status_code == 200, res.get_json()
    return member


def keyed(headers):
    """Operator money POSTs carry an Idempotency-Key."""
    return {**headers, "Idempotency-Key": unique("op")}


def start_payment(client, member, amount_fen, **extra):
    res = client.post("/api/v1/payments", headers=member["headers"],
                      json={"amount_fen": amount_fen, "description": "门店消费", **extra})
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def notify_xml(wx, out_trade_no):
    """Pay the order at the sandbox and take the signed notification it would send."""
    return wx.post(f"pay/{out_trade_no}/pay", send=False)["xml"]


def post_notify(client, xml):
    res = client.post("/api/v1/payments/wechat/notify", data=xml, content_type="text/xml")
    assert res.status_code == 200 and res.mimetype == "text/xml"
    return SUCCESS in res.get_data(as_text=True)
