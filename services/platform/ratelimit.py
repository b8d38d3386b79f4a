"""Fixed-window counters in Redis: a fast pre-filter, never the system of record.

`check` counts an attempt and refuses it over the limit; `peek` and `count` split that for limits
on failures (count only what failed, refuse once too many did). RATE_LIMITS_ENABLED=0 turns every
limit off (load tests from one address). With Redis away the limits let everything through: they
protect WeChat quotas and slow guessing, and SQL still decides every rule.
"""
import hashlib
import logging

from flask import current_app
from redis.exceptions import RedisError

from services.platform import clock
from services.platform.errors import ServiceError, Unauthorized
from services.platform.redis_client import get_redis

log = logging.getLogger(__name__)


class RateLimited(ServiceError):
    status, code, message = 429, "rate_limited", "Too many attempts; try again later."

    def __init__(self, retry_after: int):
        super().__init__(details={"retry_after": retry_after})
        self.retry_after = retry_after


def check(name: str, subject: str, *, limit: int, window: int) -> None:
    """Count one attempt; raise RateLimited when `subject` made more than `limit` in the window."""
    if _over(_add(name, subject, window), limit):
        raise RateLimited(_retry_after(window))


def refuse_if_over(name: str, subject: str, *, limit: int, window: int) -> None:
    """Raise RateLimited when `subject` already has `limit` counted in this window (counting nothing)."""
    if _over(_read(name, subject, window), limit - 1):
        raise RateLimited(_retry_after(window))


def count(name: str, subject: str, *, window: int) -> None:
    """Count one (failed) attempt against `subject`."""
    _add(name, subject, window)


LOGIN_WINDOW = 900
# failed password logins a window allows: one address guessing one account; one address guessing
# many; and one account from everywhere, high enough that no single address can lock its owner out
# (successes never count)
LOGIN_FAILURES = (("pair", 5), ("address", 30), ("account", 100))


def password_login(kind: str, account: str, client_address: str, verify):
    """What `verify()` returns for a password login of `kind` (operator, guide), throttled on failures
    (429 over LOGIN_FAILURES); a failure (None) is a 401."""
    account_key = hashlib.sha256(account.encode()).hexdigest()[:24]  # any text, as a safe key part
    subjects = {"pair": f"{account_key}@{client_address}", "address": client_address, "account": account_key}
    for part, limit in LOGIN_FAILURES:
        refuse_if_over(f"{kind}-login-{part}", subjects[part], limit=limit, window=LOGIN_WINDOW)
    found = verify()
    if found is None:
        for part, _ in LOGIN_FAILURES:
            count(f"{kind}-login-{part}", subjects[part], window=LOGIN_WINDOW)
        raise Unauthorized("Wrong account or password.")
    return found


def _over(counted: int | None, limit: int) -> bool:
    return counted is not None and counted > limit


def _key(name: str, subject: str, window: int) -> str:
    return f"rl:{{{name}:{subject}}}:{int(clock.now().timestamp()) // window}"


def _add(name: str, subject: str, window: int) -> int | None:
    if not current_app.config["RATE_LIMITS_ENABLED"]:
        return None
    try:
        pipe = get_redis().pipeline()
        pipe.incr(key := _key(name, subject, window))
        pipe.expire(key, window)
        return pipe.execute()[0]
    except (RedisError, OSError):
        log.warning("rate limit %s not counted: Redis away", name, exc_info=True)
        return None


def _read(name: str, subject: str, window: int) -> int | None:
    if not current_app.config["RATE_LIMITS_ENABLED"]:
        return None
    try:
        return int(get_redis().get(_key(name, subject, window)) or 0)
    except (RedisError, OSError):
        log.warning("rate limit %s not read: Redis away", name, exc_info=True)
        return None


def _retry_after(window: int) -> int:
    return window - int(clock.now().timestamp()) % window
