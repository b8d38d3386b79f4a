"""The sandbox Flask application."""
from flask import Flask

from . import control_callbacks, control_pay  # noqa: F401  (add routes to the control blueprint)
from .config import SandboxConfig
from .control import bp as control_bp
from .mp_api import bp as mp_bp
from .orders import OrderBook
from .pay_api import bp as pay_bp
from .refunds import RefundBook
from .store import Store
from .wecom import WeComBook
from .wecom_api import bp as wecom_bp


class Sandbox:
    """All sandbox state; every part shares ``store.lock``."""

    def __init__(self, config):
        self.config = config
        self.store = Store(config)
        self.orders = OrderBook(self.store)
        self.refunds = RefundBook(self.orders)
        self.wecom = WeComBook(self.store)

    def reset(self):
        with self.store.lock:
            self.store.reset()
            self.orders.reset()
            self.wecom.reset()


def create_sandbox_app(config=None):
    """Flask app speaking WeChat's mini-program API, WeChat Pay v2, WeCom and a control API.

    ``config``: a SandboxConfig, a mapping of its fields, or None for the defaults.
    """
    config = SandboxConfig.coerce(config)
    app = Flask("wechat_sandbox")
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["wechat_sandbox"] = Sandbox(config)
    for blueprint in (mp_bp, wecom_bp, pay_bp, control_bp):
        app.register_blueprint(blueprint)
    return app
