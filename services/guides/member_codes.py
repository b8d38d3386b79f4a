"""Member codes: an 18-digit number that changes every STEP_SECONDS, shown as a QR for a guide to scan.

The first 10 digits are the member id masked with a keyed function of the time step (so a code does
not show who it is), the last 8 an HMAC of the member id and the step under the member's own secret.
A scan unmasks the id for this step and the one before (one step of skew), and checks the HMAC: a
primary-key read per candidate, never a table scan. A code is used once: Redis SET NX (with a TTL
past the code's life) refuses a repeat fast, and the member's last scanned step in SQL, moved only
forwards by a conditional update, refuses it even after Redis lost its keys.
"""
import hashlib
import hmac
import re
import secrets
from functools import lru_cache

import segno
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select, update

from models import MemberCodeSecret, db
from services.platform import clock
from services.platform.db import MAX_ID, insert_once, transaction
from services.platform.errors import Conflict
from services.platform.redis_client import get_redis

STEP_SECONDS = 60
ID_DIGITS, CHECK_DIGITS = 10, 8
SKEW_STEPS = 1
USED_TTL_SECONDS = (SKEW_STEPS + 2) * STEP_SECONDS
CODE = re.compile(f"[0-9]{{{ID_DIGITS + CHECK_DIGITS}}}")  # ASCII: `\d` takes "١٢٣", and int() reads it


class CodeExpired(Conflict):
    code = "code_expired"
    message = "This member code is no longer valid: ask for the code on screen now."


def current_code(member_id: int) -> dict:
    """The member's code now, the seconds it has left, and its QR as SVG."""
    now = clock.now().timestamp()
    step = int(now) // STEP_SECONDS
    code = _code(member_id, _secret(member_id), step)
    return {"code": code, "expires_in": STEP_SECONDS - int(now) % STEP_SECONDS, "qr_svg": qr_svg(code)}


@lru_cache(maxsize=4096)
def qr_svg(code: str) -> str:
    return segno.make_qr(code, error="m").svg_inline(scale=4, border=2)


def _secret(member_id: int) -> str:
    row = _row(member_id)
    if row is not None:
        return row.secret
    with transaction():
        insert_once(MemberCodeSecret.__table__, key="member_id", member_id=member_id, secret=secrets.token_hex(32))
    return _row(member_id).secret


def _row(member_id: int) -> MemberCodeSecret | None:
    return db.session.scalar(select(MemberCodeSecret).where(MemberCodeSecret.member_id == member_id)
                             .execution_options(populate_existing=True))


def _mask(step: int) -> int:
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), f"member-code:{step}".encode(), hashlib.sha256)
    return int(digest.hexdigest(), 16) % 10**ID_DIGITS


def _code(member_id: int, secret: str, step: int) -> str:
    masked = (member_id + _mask(step)) % 10**ID_DIGITS
    check = int(hmac.new(secret.encode(), f"{member_id}:{step}".encode(), hashlib.sha256).hexdigest(), 16)
    return f"{masked:0{ID_DIGITS}d}{check % 10**CHECK_DIGITS:0{CHECK_DIGITS}d}"


def use(code: str) -> int:
    """The member a code shown now belongs to, the code used up (inside the caller's transaction);
    CodeExpired for a stale, used, malformed or unknown code (they are not told apart)."""
    if not CODE.fullmatch(code):
        raise CodeExpired()
    now_step = int(clock.now().timestamp()) // STEP_SECONDS
    for step in range(now_step, now_step - SKEW_STEPS - 1, -1):
        member_id = (int(code[:ID_DIGITS]) - _mask(step)) % 10**ID_DIGITS
        if not 0 < member_id <= MAX_ID:
            continue
        row = _row(member_id)
        if row is not None and hmac.compare_digest(_code(member_id, row.secret, step), code):
            _use_once(member_id, step)
            return member_id
    raise CodeExpired()


def _use_once(member_id: int, step: int) -> None:
    try:
        if not get_redis().set(f"member-code:{{m:{member_id}}}:{step}", 1, nx=True, ex=USED_TTL_SECONDS):
            raise CodeExpired()
    except RedisError:  # SQL below still refuses a code used before
        pass
    moved = db.session.execute(update(MemberCodeSecret).where(
        MemberCodeSecret.member_id == member_id,
        (MemberCodeSecret.last_scanned_step.is_(None)) | (MemberCodeSecret.last_scanned_step < step))
        .values(last_scanned_step=step).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        raise CodeExpired()
