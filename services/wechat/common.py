"""What the three adapters share: where the app keeps their clients, the Redis that holds access
tokens, wechatpy's API failures as WeChatError, and the notifications we refuse."""
import time
from contextlib import contextmanager
from typing import NamedTuple
from xml.etree import ElementTree

import requests
from flask import current_app
from wechatpy import WeChatClient
from wechatpy.enterprise import WeChatClient as WeComClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.pay import WeChatPay
from wechatpy.session.redisstorage import RedisStorage

from services.platform import metrics
from services.platform.errors import WeChatError
from services.platform.redis_client import get_redis

EXTENSION = "wechat"


class Clients(NamedTuple):
    miniprogram: WeChatClient
    wecom: WeComClient
    pay: WeChatPay


def clients() -> Clients:
    """The current app's clients, built by services.wechat.init_app."""
    return current_app.extensions[EXTENSION]


class TokenStorage(RedisStorage):
    """wechatpy's Redis token storage on the app's Redis, taken at the first token read and then kept
    (as the clients built on first use did): create_app, which builds the clients, touches no Redis."""

    def __init__(self, prefix: str):  # RedisStorage's own wants the Redis client now
        self.prefix = prefix
        self._redis = None

    @property
    def redis(self):
        if self._redis is None:
            self._redis = get_redis()
        return self._redis


def call(fn, *args, **kwargs):
    """Run a wechatpy client call, turning its failures into WeChatError (502)."""
    with measured(fn, args):
        try:
            return fn(*args, **kwargs)
        except WeChatClientException as exc:
            raise WeChatError(details={"errcode": exc.errcode, "errmsg": exc.errmsg}) from exc
        except requests.RequestException as exc:
            raise WeChatError("WeChat could not be reached.") from exc


@contextmanager
def measured(fn, args=()):
    """Count the wechatpy call made inside by API and outcome, for /metrics: ok; error, WeChat answered a
    failure (the WeChatError raised carries its codes); unreachable (it carries none)."""
    started, outcome = time.perf_counter(), "ok"
    try:
        yield
    except WeChatError as exc:
        outcome = "error" if exc.details else "unreachable"
        raise
    except Exception:
        outcome = "unexpected"
        raise
    finally:
        metrics.count_wechat_call(api_name(fn, args), outcome, time.perf_counter() - started)


def api_name(fn, args=()) -> str:
    """A wechatpy call's API: `wxa.send_subscribe_message`, `order.create`, or a raw get / post's endpoint
    (`sns/jscode2session`)."""
    if fn.__name__ in ("get", "post") and args:
        return str(args[0])
    owner = getattr(fn, "__self__", None)
    group = type(owner).__name__.removeprefix("WeChat").lower() if owner is not None else ""
    return f"{group}.{fn.__name__}" if group else fn.__name__


class InvalidNotification(Exception):
    """A notification, push or callback we must refuse (WeChat Pay: answer FAIL)."""


def xml_fields(xml) -> dict:
    """A flat XML message's fields as a dict of text."""
    return {child.tag: (child.text or "") for child in ElementTree.fromstring(xml)}
