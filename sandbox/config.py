"""Sandbox configuration: the credentials it accepts and a few behaviour switches."""
from dataclasses import dataclass, fields
from typing import Optional

SANDBOX_APPID = "wx5a4db0c1sandbox"
SANDBOX_SECRET = "sandbox-app-secret-0123456789abcdef"
SANDBOX_MCH_ID = "1900000109"
SANDBOX_PAY_KEY = "sandboxpaykey0123456789abcdefABC"


@dataclass
class SandboxConfig:
    appid: str = SANDBOX_APPID
    secret: str = SANDBOX_SECRET
    mch_id: str = SANDBOX_MCH_ID
    pay_key: str = SANDBOX_PAY_KEY
    token_ttl: int = 7200            # access_token lifetime (seconds)
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
