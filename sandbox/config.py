"""Sandbox configuration: the credentials it accepts and a few behaviour switches.

The app's config.py takes its sandbox defaults from the constants here, so both sides agree.
"""
from dataclasses import dataclass, fields
from typing import Optional

SANDBOX_APPID = "wx5a4db0c1sandbox"
SANDBOX_SECRET = "sandbox-app-secret-0123456789abcdef"
SANDBOX_MCH_ID = "1900000109"
SANDBOX_PAY_KEY = "sandboxpaykey0123456789abcdefABC"
# the mini-program's original id (ToUserName of message pushes) and its message-push settings
SANDBOX_ORIGINAL_ID = "gh_5a4db0c1a0b0"
SANDBOX_WECHAT_TOKEN = "sandboxtoken"
SANDBOX_WECHAT_AES_KEY = "c2FuZGJveC13ZWNoYXQtcHVzaC1hZXMta2V5LTAxMjM"  # 43 chars, 32 bytes
# WeCom (企业微信): the corp, its customer-contact secret and the callback's token / EncodingAESKey
SANDBOX_WECOM_CORP_ID = "ww5a4db0c1sandbox0"
SANDBOX_WECOM_SECRET = "sandbox-wecom-contact-secret-0123456789abcd"
SANDBOX_WECOM_TOKEN = "sandboxwecomtoken"
SANDBOX_WECOM_AES_KEY = "c2FuZGJveC13ZWNvbS1jYWxsYmFjay1hZXNrZXktMDE"  # 43 chars, 32 bytes
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
