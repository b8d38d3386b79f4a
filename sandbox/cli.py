"""`flask wechat-sandbox` / `python -m sandbox`: run the sandbox in the foreground."""
import signal
import threading

import click

from .config import (SANDBOX_APPID, SANDBOX_MCH_ID, SANDBOX_PAY_KEY, SANDBOX_PUSH_URL,
                     SANDBOX_SECRET, SANDBOX_WECOM_CALLBACK_URL)
from .server import SandboxServer


def _on_sigterm(stop_event):
    """Make SIGTERM end the loop (only possible from the main thread)."""
    try:
        return signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    except ValueError:
        return None


@click.command("wechat-sandbox")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8701, show_default=True, type=int)
@click.option("--appid", default=SANDBOX_APPID, show_default=True)
@click.option("--secret", default=SANDBOX_SECRET, show_default=True)
@click.option("--mch-id", default=SANDBOX_MCH_ID, show_default=True)
@click.option("--pay-key", default=SANDBOX_PAY_KEY, show_default=True)
@click.option("--push-url", default=SANDBOX_PUSH_URL, show_default=True,
              help="the app's mini-program message-push URL")
@click.option("--wecom-callback-url", default=SANDBOX_WECOM_CALLBACK_URL, show_default=True,
              help="the app's WeCom callback URL")
def wechat_sandbox_command(host, port, appid, secret, mch_id, pay_key, push_url,
                           wecom_callback_url):
    """Run the WeChat sandbox (mini-program API, WeChat Pay v2, WeCom) until Ctrl-C/SIGTERM."""
    server = SandboxServer(host=host, port=port, appid=appid, secret=secret,
                           mch_id=mch_id, pay_key=pay_key, push_url=push_url,
                           wecom_callback_url=wecom_callback_url, log_requests=True).start()
    stop_event = threading.Event()
    previous = _on_sigterm(stop_event)
    click.echo(f"WeChat sandbox listening on {server.url}")
    try:
        while not stop_event.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        server.stop()
        click.echo("WeChat sandbox stopped")
