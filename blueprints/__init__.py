"""HTTP only: each blueprint parses, calls one service, serialises. Every blueprint is registered here."""
from blueprints import (callbacks, coupons, guides, health, invites, leaderboards, ledger, levels, mall, members,
                        messages, payments, signin, tasks)
from blueprints.admin import coupons as admin_coupons
from blueprints.admin import guides as admin_guides
from blueprints.admin import invites as admin_invites
from blueprints.admin import levels as admin_levels
from blueprints.admin import mall as admin_mall
from blueprints.admin import members as admin_members
from blueprints.admin import payments as admin_payments
from blueprints.admin import signin as admin_signin
from blueprints.admin import stats as admin_stats
from blueprints.admin import tasks as admin_tasks
from blueprints import console

API_PREFIX = "/api/v1"
MEMBER_API = (members, levels, ledger, signin, leaderboards, payments, coupons, messages, tasks, mall, guides, invites,
              callbacks)
OPERATOR_API = (admin_members, admin_levels, admin_coupons, admin_payments, admin_signin, admin_tasks, admin_mall,
                admin_guides, admin_invites, admin_stats)


def register_blueprints(app, api):
    app.register_blueprint(health.blp)
    console.init_app(app)
    for module in MEMBER_API + OPERATOR_API:
        for blp in module.BLUEPRINTS:
            api.register_blueprint(blp, url_prefix=f"{API_PREFIX}{blp.url_prefix or ''}")
