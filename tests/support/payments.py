"""Paying in tests: start a payment, build WeChat Pay's signed notify from the sandbox, post it."""

from tests.support.api import unique

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
