"""A member's invite code: their id and a MAC under the app's secret, so a code needs no table and
cannot be made up for a member; the share card's path and scene, and the mini-program code (wxacode,
scene `i=<code>`), kept in Redis like a guide's: it never changes, and WeChat limits how often codes
are made."""
import hashlib
import hmac

from flask import current_app

from services.platform.redis_client import cached
from services.wechat import miniprogram

MAC_CHARS = 6
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
SCENE_PREFIX = "i="
SHARE_PATH = "pages/index/index"
KEEP_SECONDS = 30 * 24 * 3600


def code_for(member_id: int) -> str:
    return _base36(member_id) + _mac(member_id)


def member_of(code: str) -> int | None:
    """The member a code (or a scanned scene `i=<code>`) names; None for anything else."""
    code = (code or "").strip().lower().replace("%3d", "=").removeprefix(SCENE_PREFIX)
    body, mac = code[:-MAC_CHARS], code[-MAC_CHARS:]
    if not 1 <= len(body) <= 12 or any(char not in DIGITS for char in code):
        return None
    member_id = int(body, 36)
    return member_id if hmac.compare_digest(mac, _mac(member_id)) else None


def share(member_id: int) -> dict:
    """What the mini-program needs for a share card and a mini-program code."""
    code = code_for(member_id)
    return {"code": code, "path": f"{SHARE_PATH}?invite={code}", "scene": SCENE_PREFIX + code}


def wxa_code(member_id: int) -> bytes:
    """The member's mini-program code as a PNG (made once, then kept)."""
    scene = SCENE_PREFIX + code_for(member_id)
    return cached(f"invite:{member_id}:wxacode", KEEP_SECONDS, lambda: miniprogram.wxa_code(scene, page=None))


def _mac(member_id: int) -> str:
    digest = hmac.new(_secret(), f"invite:{member_id}".encode(), hashlib.sha256).digest()
    return _base36(int.from_bytes(digest[:8], "big"))[-MAC_CHARS:].rjust(MAC_CHARS, "0")


def _secret() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    return secret.encode() if isinstance(secret, str) else secret


def _base36(number: int) -> str:
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = DIGITS[digit] + out
        if not number:
            return out
