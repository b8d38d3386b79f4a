"""Sandbox configuration: the credentials it accepts and a few behaviour switches.

The credentials are the app's development defaults (config.py's DEVELOPMENT_WECHAT and DEVELOPMENT_WECOM):
the sandbox takes them from there, so both sides agree and the app never imports the sandbox.
"""
from dataclasses import dataclass, fields
from typing import Optional

from config import DEVELOPMENT_WECHAT, DEVELOPMENT_WECOM

SANDBOX_APPID = DEVELOPMENT_WECHAT["WECHAT_APPID"]
SANDBOX_SECRET = DEVELOPMENT_WECHAT["WECHAT_SECRET"]
SANDBOX_MCH_ID = DEVELOPMENT_WECHAT["WECHAT_MCH_ID"]
SANDBOX_PAY_KEY = DEVELOPMENT_WECHAT["WECHAT_PAY_KEY"]
# the mini-program's original id (ToUserName of message pushes) and its message-push settings
SANDBOX_ORIGINAL_ID = "gh_5a4db0c1a0b0"
SANDBOX_WECHAT_TOKEN = DEVELOPMENT_WECHAT["WECHAT_TOKEN"]
SANDBOX_WECHAT_AES_KEY = DEVELOPMENT_WECHAT["WECHAT_AES_KEY"]
SANDBOX_WECOM_CORP_ID = DEVELOPMENT_WECOM["WECOM_CORP_ID"]
SANDBOX_WECOM_SECRET = DEVELOPMENT_WECOM["WECOM_SECRET"]
SANDBOX_WECOM_TOKEN = DEVELOPMENT_WECOM["WECOM_TOKEN"]
SANDBOX_WECOM_AES_KEY = DEVELOPMENT_WECOM["WECOM_AES_KEY"]
# Where WeChat / WeCom push to: set in their consoles, not by the app, so a sandbox setting
# (the app's default address, like WECHAT_NOTIFY_URL's); control calls may pass "url" instead.
SANDBOX_PUSH_URL = "http://127.0.0.1:8700/api/v1/wechat/callback"
SANDBOX_WECOM_CALLBACK_URL = "http://127.0.0.1:8700/api/v1/wecom/callback"


@dataclass
class SandboxConfig:
    appid: str = SANDBOX_APPID
    secret: str = SANDBOX_SECRET
    mch_id: str = SANDBOX_MCH_ID
    pay_key: str = SANDBOX_PAY_KEY
    original_id: str = SANDBOX_ORIGINAL_ID
    wechat_token: str = SANDBOX_WECHAT_TOKEN
    wechat_aes_key: str = SANDBOX_WECHAT_AES_KEY
    push_url: Optional[str] = SANDBOX_PUSH_URL
    wecom_corp_id: str = SANDBOX_WECOM_CORP_ID
    wecom_secret: str = SANDBOX_WECOM_SECRET
    wecom_token: str = SANDBOX_WECOM_TOKEN
    wecom_aes_key: str = SANDBOX_WECOM_AES_KEY
    wecom_callback_url: Optional[str] = SANDBOX_WECOM_CALLBACK_URL
    token_ttl: int = 7200            # access_token lifetime (seconds), WeChat's and WeCom's
    code_ttl: int = 300              # wx.login / phone code lifetime (seconds)
    close_min_age: int = 0           # WeChat refuses closeorder in the first 300 s; 0 = off
    refund_notify_url: Optional[str] = None  # merchant-platform default for refund notifies
    notify_timeout: float = 10.0     # seconds to wait for the app to answer a notification

    @classmethod
    def coerce(cls, config):
        """Accept a SandboxConfig, a mapping (unknown keys ignored) or None."""
        if isinstance(config, cls):
            return config
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(config or {}).items() if k in names})
