"""The mini-program's customer-service session: a member who enters it or writes to it is answered,
through the customer-service message API, with their guide's QR (an image uploaded as temporary
media, kept until shortly before WeChat drops it), or the store's default answer without a guide.

WeChat lets a reply follow only the member's own step (2 messages a minute after entering, 5 in 48 h
after writing), and sends a push again when it is not answered in 5 s: a push is answered once, by
its sender and creation time, and at most once a minute per member.
"""
import io
import logging

import requests
import segno
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select

from models import Guide, GuideBinding, Member, db
from services.guides import guides
from services.payments import stores
from services.platform.errors import WeChatError
from services.platform.redis_client import cached, get_redis
from services.wechat import miniprogram

log = logging.getLogger(__name__)

MEDIA_KEEP_SECONDS = 3 * 24 * 3600 - 3600  # WeChat keeps temporary media 3 days
REPLY_GAP_SECONDS = 60
QR_DOWNLOAD_TIMEOUT = 3


def answers(message: dict) -> bool:
    """Whether a push is one this service answers: the member entered the session or wrote to it."""
    return (message.get("MsgType") == "event" and message.get("Event") == "user_enter_tempsession") or \
        message.get("MsgType") in ("text", "image", "miniprogrampage")


def handle_push(message: dict) -> str:
    """Answer a push once; what was sent (nothing, guide_qr or default_text)."""
    openid = message.get("FromUserName") or ""
    if not answers(message) or not openid or not _first_time(openid, message.get("CreateTime") or ""):
        return "nothing"
    member_id = db.session.scalar(select(Member.id).where(Member.openid == openid))
    row = member_id and db.session.execute(select(Guide).join(GuideBinding, GuideBinding.guide_id == Guide.id)
                                           .where(GuideBinding.member_id == member_id)).first()
    guide = row[0] if row else None
    try:
        if guide is not None and guides.qr_url(guide):
            miniprogram.send_service_image(openid, _media_for(guide))
            return "guide_qr"
        miniprogram.send_service_text(openid, _default_text(guide))
        return "default_text"
    except WeChatError as exc:  # e.g. 45015: the member's window closed; nothing to retry
        log.warning("customer-service reply to a member failed: %s", exc.details)
        return "failed"


def _first_time(openid: str, created: str) -> bool:
    """Once per push (WeChat's retries carry the same creation time) and once a minute per member."""
    try:
        redis = get_redis()
        return bool(redis.set(f"cs-push:{openid}:{created}", 1, nx=True, ex=3600)) and bool(
            redis.set(f"cs-reply:{openid}", 1, nx=True, ex=REPLY_GAP_SECONDS))
    except RedisError:
        return True  # answering twice beats not answering


def _media_for(guide: Guide) -> str:
    def upload() -> str:
        return miniprogram.upload_temporary_image(_qr_png(guides.qr_url(guide)))

    return cached(f"guide:{guide.id}:cs-media:{guide.wecom_config_id or ''}", MEDIA_KEEP_SECONDS, upload).decode()


def _qr_png(url: str) -> bytes:
    """The QR image at `url` (WeCom's 联系我 code, or the guide's upload); if it cannot be fetched, a QR
    of the link drawn here."""
    try:
        res = requests.get(url, timeout=QR_DOWNLOAD_TIMEOUT)
        if res.ok and res.headers.get("Content-Type", "").startswith("image/"):
            return res.content
    except requests.RequestException:
        pass
    buffer = io.BytesIO()
    segno.make_qr(url).save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def _default_text(guide: Guide | None) -> str:
    store = stores.find_store(guide.store_id) if guide else None
    return (store.service_reply if store and store.service_reply else None) or current_app.config["SERVICE_REPLY"]
