"""Levels in tests: set the policy, run an evaluation, read a member's level."""
from tests.support.dates import at


def set_policy(client, admin, growth_window, downgrade, grace_days=30):
    res = client.put("/api/v1/admin/level-policy", headers=admin,
                     json={"growth_window": growth_window, "downgrade": downgrade, "grace_days": grace_days})
    assert res.status_code == 200, res.get_json()
    return res.get_json()


def evaluate(app, clock, when):
    clock.freeze(at(when))
    result = app.test_cli_runner().invoke(args=["evaluate-levels"])
    assert result.exit_code == 0, result.output
    return result.output


def level_of(client, member):
    res = client.get("/api/v1/me/level", headers=member["headers"])
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    return body["level"]["code"], body
