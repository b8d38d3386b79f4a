"""What the payment tests share: a store with its 支付有礼 rule, a buyer, and paying through the sandbox."""
import pytest

from tests.support.payments import store_with_rule


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








