"""The operator console: server-rendered pages (Jinja + htmx, charts by Apache ECharts) for the brand's
staff, signed in with the operator accounts of the API. Every page is a thin view over the same services
(and forms over the same schemas) as the operator API. Its pages live in one module each; this wires them."""
# each module adds its routes to bp and its pages to the menu, in this order
from blueprints.console import auth, dashboard  # noqa: F401, I001
from blueprints.console import members, orders  # noqa: F401
from blueprints.console import signin_rules, levels, tasks, mall, lotteries, coupons, payment_rules  # noqa: F401
from blueprints.console import stores, audit_log  # noqa: F401
from blueprints.console.base import bp, csrf


def init_app(app) -> None:
    # checked by the console's own before_request (base.protect_changes), never on the JSON API
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    csrf.init_app(app)
    app.register_blueprint(bp)
