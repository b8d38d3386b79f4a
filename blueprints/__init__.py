"""HTTP only: each blueprint parses, calls one service, serialises."""
from blueprints import (admin, admin_coupons, admin_payments, admin_signin, coupons, health, leaderboards, members,
                        payments, points, signin, subscriptions)

API_PREFIX = "/api/v1"


def register_blueprints(app, api):
    app.register_blueprint(health.blp)
    for module in (members, points, signin, leaderboards, payments, coupons, subscriptions, admin, admin_coupons,
                   admin_payments, admin_signin):
        for blp in module.BLUEPRINTS:
            api.register_blueprint(blp, url_prefix=f"{API_PREFIX}{blp.url_prefix or ''}")
