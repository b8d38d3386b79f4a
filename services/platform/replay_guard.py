"""Replayed callbacks: WeChat's plain-mode push signs only (token, timestamp, nonce), not the body, so a
captured signature would carry any body; WeCom's signs the body but a captured callback could be sent again.

A callback is refused (403) when its timestamp is more than WINDOW from now, and each (timestamp, nonce)
is remembered per source for as long as it could pass that check. WeChat and WeCom send a callback again
when it is not answered within 5 s (three times), and their documents leave open whether the copy keeps
its timestamp and nonce: a delivery seen before is answered without being handled again (`once`), and
only the URL verifications, which have nothing to do twice, refuse it. With Redis away the nonce is not
checked (logged); the window still holds.
"""
import logging
from contextlib import contextmanager

from redis.exceptions import RedisError

from services.platform import clock
from services.platform.errors import Forbidden
from services.platform.redis_client import get_redis

log = logging.getLogger(__name__)

WINDOW = 300  # seconds either side of now; WeChat's retries come within 15 s


def refuse_replay(source: str, timestamp: str, nonce: str) -> None:
    """Forbidden unless `timestamp` is within WINDOW of now and (timestamp, nonce) is new from `source`."""
    if not _first_delivery(source, timestamp, nonce):
        raise Forbidden("This request was sent before.")


@contextmanager
def once(source: str, timestamp: str, nonce: str):
    """Whether to handle a delivery: only the first of (timestamp, nonce) from `source` (Forbidden outside
    the window). Forgotten when its handling raises, so that WeChat's retry is handled."""
    first = _first_delivery(source, timestamp, nonce)
    if not first:
        log.info("a %s callback seen before (a retry or a replay) is not handled again", source)
    try:
        yield first
    except Exception:
        if first:
            _forget(source, timestamp, nonce)
        raise


def refuse_stale(timestamp: str) -> None:
    """Forbidden unless `timestamp` (Unix seconds) is within WINDOW of now."""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12) or \
            abs(int(timestamp) - clock.now().timestamp()) > WINDOW:
        raise Forbidden("The request's timestamp is too far from now.")


def _first_delivery(source: str, timestamp: str, nonce: str) -> bool:
    refuse_stale(timestamp)
    try:
        # kept past the window's far end: a timestamp up to WINDOW ahead passes for 2 * WINDOW
        return bool(get_redis().set(_key(source, timestamp, nonce), 1, nx=True, ex=2 * WINDOW))
    except (RedisError, OSError):
        log.warning("%s callback nonce not checked: Redis away", source, exc_info=True)
        return True


def _forget(source: str, timestamp: str, nonce: str) -> None:
    try:
        get_redis().delete(_key(source, timestamp, nonce))
    except (RedisError, OSError):
        log.warning("%s callback nonce not forgotten: Redis away", source, exc_info=True)


def _key(source: str, timestamp: str, nonce: str) -> str:
    # one key per delivery, used alone: no hash tag, so one source's keys spread over a Cluster's slots
    return f"replay:{source}:{timestamp}:{nonce}"
