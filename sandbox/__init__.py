"""A loopback WeChat sandbox: mini-program server API and WeChat Pay v2.

Independent of wechatpy (it implements the protocol from WeChat's documentation), so it can
check the app's wechatpy usage. See README.md in this package for the control API.
"""
from .app import create_sandbox_app
from .config import (SANDBOX_APPID, SANDBOX_MCH_ID, SANDBOX_PAY_KEY, SANDBOX_SECRET,
                     SandboxConfig)
from .crypto import decrypt_req_info, sign
from .server import SandboxServer

__all__ = [
    "SANDBOX_APPID", "SANDBOX_SECRET", "SANDBOX_MCH_ID", "SANDBOX_PAY_KEY",
    "SandboxConfig", "SandboxServer", "create_sandbox_app", "sign", "decrypt_req_info",
]
