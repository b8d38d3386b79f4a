"""The operator console: server-rendered pages (Jinja + htmx, charts by Apache ECharts) for the brand's
staff, signed in with the operator accounts of the API. Every page is a thin view over the same services
(and forms over the same schemas) as the operator API. Its pages live in one module each; this wires them."""
from blueprints.console import auth, dashboard, mall  # noqa: F401  (their routes join bp)
from blueprints.console.base import bp, csrf


def init_app(app) -> None:
    # checked by the console's own before_request (base.protect_changes), never on the JSON API
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    csrf.init_app(app)
    app.register_blueprint(bp)
