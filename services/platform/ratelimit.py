"""Fixed-window counters in Redis: a fast pre-filter, never the system of record."""
from services.platform import clock
from services.platform.errors import ServiceError
from services.platform.redis_client import get_redis


class RateLimited(ServiceError):
    status, code, message = 429, "rate_limited", "Too many attempts; try again later."


def check(name: str, subject: str, *, limit: int, window: int) -> None:
    """Count one attempt; raise RateLimited when `subject` made more than `limit` in the window."""
    bucket = int(clock.now().timestamp()) // window
    key = f"rl:{{{name}:{subject}}}:{bucket}"
    pipe = get_redis().pipeline()
    pipe.incr(key)
    pipe.expire(key, window)
    count, _ = pipe.execute()
    if count > limit:
        raise RateLimited(details={"retry_after": window - int(clock.now().timestamp()) % window})
