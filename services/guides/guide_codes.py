"""A guide's mini-program code (wxacode, scene `g=<id>`), kept in Redis: it never changes, and WeChat
limits how often codes are made."""
from models import Guide
from services.platform.redis_client import cached
from services.wechat import miniprogram

PAGE = None  # the mini-program's home page opens with the scene
KEEP_SECONDS = 30 * 24 * 3600


def wxa_code(guide: Guide) -> bytes:
    return cached(f"guide:{guide.id}:wxacode", KEEP_SECONDS, lambda: miniprogram.wxa_code(f"g={guide.id}", page=PAGE))
