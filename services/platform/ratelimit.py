"""Fixed-window counters in Redis: a fast pre-filter, never the system of record.

`check` counts an attempt and refuses it over the limit; `password_login` counts failures only
(a login reserves a failure before the password is checked and gives it back when it succeeds).
RATE_LIMITS_ENABLED=0 turns every limit off (load tests from one address). With Redis away the limits
let everything through: they protect WeChat quotas and slow guessing, and SQL still decides every rule.
"""
import hashlib
import logging

from flask import current_app
from redis.exceptions import RedisError

from services.platform import clock, metrics
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
        metrics.count_refusal(name)
        raise RateLimited(_retry_after(window))


LOGIN_WINDOW = 900
# failed password logins a window allows: one address guessing one account; one address guessing
# many; and one account from everywhere, high enough that no single address can lock its owner out
# (successes never count)
LOGIN_FAILURES = (("pair", 5), ("address", 30), ("account", 100))


def password_login(kind: str, account: str, client_address: str, verify):
    """What `verify()` returns for a password login of `kind` (operator, guide), throttled on failures
    (429 over LOGIN_FAILURES); a failure (None) is a 401."""
    # counted before the check: parallel guesses that all read the counters first all got checked
    reserved = _reserve_failure(kind, account, client_address)
    try:
        found = verify()
    except Exception:
        _give_back(reserved)
        raise
    if found is None:
        raise Unauthorized("Wrong account or password.")  # the reserved failure stays counted
    _give_back(reserved)  # successes never count
    return found


def _login_limits(kind: str, account: str, client_address: str) -> list[tuple[str, int]]:
    account_key = hashlib.sha256(account.encode()).hexdigest()[:24]  # any text, as a safe key part
    subjects = {"pair": f"{account_key}@{client_address}", "address": client_address, "account": account_key}
    return [(_key(f"{kind}-login-{part}", subjects[part], LOGIN_WINDOW), limit) for part, limit in LOGIN_FAILURES]


def _reserve_failure(kind: str, account: str, client_address: str) -> list[str]:
    """Count one failure in each of the login's windows up front, in one round trip; the keys counted
    (none when limits are off or Redis is away). RateLimited, counting nothing, when one is over."""
    limits = _login_limits(kind, account, client_address)
    reserved = [key for key, _ in limits]
    counted = _add_each(reserved, LOGIN_WINDOW)
    if counted is None:
        return []
    if any(n > limit for n, (_, limit) in zip(counted, limits)):
        _give_back(reserved)  # a refused guess does not count, or one address could lock the account out
        metrics.count_refusal(f"{kind}-login")
        raise RateLimited(_retry_after(LOGIN_WINDOW))
    return reserved


def _over(counted: int | None, limit: int) -> bool:
    return counted is not None and counted > limit


def _key(name: str, subject: str, window: int) -> str:
    return f"rl:{{{name}:{subject}}}:{int(clock.now().timestamp()) // window}"


def _add(name: str, subject: str, window: int) -> int | None:
    counted = _add_each([_key(name, subject, window)], window)
    return None if counted is None else counted[0]


def _add_each(keys: list[str], window: int) -> list[int] | None:
    """INCR each key (each its own hash tag, so no MULTI: Cluster-safe); the counts, or None."""
    if not current_app.config["RATE_LIMITS_ENABLED"]:
        return None
    try:
        pipe = get_redis().pipeline(transaction=False)
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, window)
        return pipe.execute()[0::2]
    except (RedisError, OSError):
        log.warning("rate limits %s not counted: Redis away", keys, exc_info=True)
        return None


def _give_back(keys: list[str]) -> None:
    if not keys:
        return
    try:
        pipe = get_redis().pipeline(transaction=False)
        for key in keys:
            pipe.decr(key)
            pipe.expire(key, LOGIN_WINDOW)  # never a key without an end, should it have expired meanwhile
        pipe.execute()
    except (RedisError, OSError):
        log.warning("login reservations not given back: Redis away", exc_info=True)


def _retry_after(window: int) -> int:
    return window - int(clock.now().timestamp()) % window
