"""A loopback WeChat sandbox: mini-program server API, WeChat Pay v2 and WeCom customer contact.

Independent of wechatpy (it implements the protocol from WeChat's documentation), so it can
check the app's wechatpy usage. See README.md in this package for the control API.

Importing the package loads only its credentials (the app's development defaults, config.py); the
server loads with its own modules: `from sandbox.server import SandboxServer`.
"""
from .config import (SANDBOX_APPID, SANDBOX_MCH_ID, SANDBOX_ORIGINAL_ID, SANDBOX_PAY_KEY,
                     SANDBOX_PUSH_URL, SANDBOX_SECRET, SANDBOX_WECHAT_AES_KEY,
                     SANDBOX_WECHAT_TOKEN, SANDBOX_WECOM_AES_KEY, SANDBOX_WECOM_CALLBACK_URL,
                     SANDBOX_WECOM_CORP_ID, SANDBOX_WECOM_SECRET, SANDBOX_WECOM_TOKEN,
                     SandboxConfig)

__all__ = [
    "SANDBOX_APPID", "SANDBOX_SECRET", "SANDBOX_MCH_ID", "SANDBOX_PAY_KEY",
    "SANDBOX_ORIGINAL_ID", "SANDBOX_WECHAT_TOKEN", "SANDBOX_WECHAT_AES_KEY", "SANDBOX_PUSH_URL",
    "SANDBOX_WECOM_CORP_ID", "SANDBOX_WECOM_SECRET", "SANDBOX_WECOM_TOKEN",
    "SANDBOX_WECOM_AES_KEY", "SANDBOX_WECOM_CALLBACK_URL", "SandboxConfig",
]
