"""A guide's mini-program code (wxacode, scene `g=<id>`), kept in Redis: it never changes, and WeChat
limits how often codes are made."""
from redis.exceptions import RedisError

from models import Guide
from services.platform.redis_client import get_redis
from services.wechat import miniprogram

PAGE = None  # the mini-program's home page opens with the scene
KEEP_SECONDS = 30 * 24 * 3600


def wxa_code(guide: Guide) -> bytes:
    key = f"guide:{guide.id}:wxacode"
    try:
        png = get_redis().get(key)
    except RedisError:
        png = None
    if png:
        return png
    png = miniprogram.wxa_code(f"g={guide.id}", page=PAGE)
    try:
        get_redis().set(key, png, ex=KEEP_SECONDS)
    except RedisError:
        pass
    return png
