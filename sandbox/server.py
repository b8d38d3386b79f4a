"""SandboxServer: the sandbox app served over real HTTP from a daemon thread."""
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import create_sandbox_app
from .config import (SANDBOX_APPID, SANDBOX_MCH_ID, SANDBOX_PAY_KEY, SANDBOX_SECRET,
                     SandboxConfig)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class SandboxServer:
    def __init__(self, host="127.0.0.1", port=0, appid=SANDBOX_APPID, secret=SANDBOX_SECRET,
                 mch_id=SANDBOX_MCH_ID, pay_key=SANDBOX_PAY_KEY, log_requests=False,
                 **options):
        """``options``: further SandboxConfig fields (token_ttl, close_min_age, ...)."""
        self.host, self.port = host, port
        self._handler = WSGIRequestHandler if log_requests else _QuietHandler
        self.config = SandboxConfig(appid=appid, secret=secret, mch_id=mch_id,
                                    pay_key=pay_key, **options)
        self.app = create_sandbox_app(self.config)
        self._server = None
        self._thread = None

    @property
    def state(self):
        return self.app.extensions["wechat_sandbox"]

    @property
    def url(self):
        if self._server is None:
            raise RuntimeError("SandboxServer is not started")
        return f"http://{self.host}:{self._server.server_port}/"

    def start(self):
        if self._server is not None:
            return self
        self._server = make_server(self.host, self.port, self.app, threaded=True,
                                   request_handler=self._handler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="wechat-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
