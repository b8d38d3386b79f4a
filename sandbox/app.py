"""The sandbox Flask application."""
from flask import Flask

from . import control_pay  # noqa: F401  (adds the pay routes to the control blueprint)
from .config import SandboxConfig
from .control import bp as control_bp
from .mp_api import bp as mp_bp
from .orders import OrderBook
from .pay_api import bp as pay_bp
from .refunds import RefundBook
from .store import Store


class Sandbox:
    """All sandbox state; every part shares ``store.lock``."""

    def __init__(self, config):
        self.config = config
        self.store = Store(config)
        self.orders = OrderBook(self.store)
        self.refunds = RefundBook(self.orders)

    def reset(self):
        with self.store.lock:
            self.store.reset()
            self.orders.reset()


def create_sandbox_app(config=None):
    """Flask app speaking WeChat's mini-program API, WeChat Pay v2 and a control API.

    ``config``: a SandboxConfig, a mapping of its fields, or None for the defaults.
    """
    config = SandboxConfig.coerce(config)
    app = Flask("wechat_sandbox")
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["wechat_sandbox"] = Sandbox(config)
    for blueprint in (mp_bp, pay_bp, control_bp):
        app.register_blueprint(blueprint)
    return app
