"""What the three adapters share: where the app keeps their clients, the Redis that holds access
tokens, wechatpy's API failures as WeChatError, and the notifications we refuse."""
from typing import NamedTuple
from xml.etree import ElementTree

import requests
from flask import current_app
from wechatpy import WeChatClient
from wechatpy.enterprise import WeChatClient as WeComClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.pay import WeChatPay
from wechatpy.session.redisstorage import RedisStorage

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
    try:
        return fn(*args, **kwargs)
    except WeChatClientException as exc:
        raise WeChatError(details={"errcode": exc.errcode, "errmsg": exc.errmsg}) from exc
    except requests.RequestException as exc:
        raise WeChatError("WeChat could not be reached.") from exc


class InvalidNotification(Exception):
    """A notification, push or callback we must refuse (WeChat Pay: answer FAIL)."""


def xml_fields(xml) -> dict:
    """A flat XML message's fields as a dict of text."""
    return {child.tag: (child.text or "") for child in ElementTree.fromstring(xml)}
