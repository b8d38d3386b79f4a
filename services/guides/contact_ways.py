"""Each guide's WeCom 联系我 code (state `g<id>`), made when the guide gets a WeCom userid and kept with
the guide; while WeCom cannot be reached it is retried with backoff (the periodic job). And WeCom's
add-contact callback: a customer who added a guide through that code is bound to the guide (found
by unionid) if they have no guide yet; every change is recorded, a removal is not acted on."""
import logging

from sqlalchemy import or_, select

from models import Guide, Member, WeComContact, db
from services import wechat
from services.guides import bindings
from services.platform import clock
from services.platform.db import lock_row, transaction
from services.platform.errors import WeChatError

log = logging.getLogger(__name__)

RETRY_SECONDS, RETRY_MAX_SECONDS = 60, 6 * 3600
STATE_PREFIX = "g"


def make_for(guide_id: int) -> str:
    """Make the guide's 联系我 code unless it has one; what happened."""
    guide = db.session.get(Guide, guide_id)
    if guide is None or not guide.wecom_userid or guide.wecom_config_id or not wechat.wecom_configured():
        return "nothing to do"
    userid = guide.wecom_userid
    try:
        config_id, qr_code = wechat.wecom_contact_way(userid, f"{STATE_PREFIX}{guide.id}")
    except WeChatError as exc:
        with transaction():
            guide = lock_row(Guide, guide_id)
            guide.wecom_attempts += 1
            guide.wecom_error = str(exc.details or exc.message)[:255]
            guide.wecom_retry_at = clock.now() + clock.backoff(guide.wecom_attempts, first=RETRY_SECONDS,
                                                               most=RETRY_MAX_SECONDS)
        log.warning("guide %s: WeCom contact way not made (%s); retried later", guide_id, exc.details)
        return "retrying"
    with transaction():
        guide = lock_row(Guide, guide_id)
        if guide.wecom_userid == userid:  # not changed meanwhile
            guide.wecom_config_id, guide.wecom_qr_url, guide.wecom_error = config_id, qr_code, None
    return "made"


def make_missing() -> dict:
    """The periodic job: every guide with a WeCom userid and no code yet, whose retry time has come."""
    if not wechat.wecom_configured():
        return {"skipped": "WeCom is not configured"}
    due = list(db.session.scalars(select(Guide.id).where(
        Guide.wecom_userid.is_not(None), Guide.wecom_config_id.is_(None), Guide.status == "active",
        or_(Guide.wecom_retry_at.is_(None), Guide.wecom_retry_at <= clock.now())).order_by(Guide.id).limit(100)))
    db.session.rollback()
    outcome = {"checked": len(due)}
    for guide_id in due:
        result = make_for(guide_id)
        outcome[result] = outcome.get(result, 0) + 1
    return outcome


def handle_event(event: dict) -> None:
    """A decrypted `change_external_contact` event: record it; an add through a guide's code (state
    `g<id>`) binds the member WeCom's unionid finds, if unbound."""
    if event.get("Event") != "change_external_contact":
        return
    change, userid, external = event.get("ChangeType", ""), event.get("UserID", ""), event.get("ExternalUserID", "")
    guide = _guide_of_state(event.get("State") or "")
    unionid = member_id = None
    if change == "add_external_contact" and guide is not None and external:
        unionid = (wechat.wecom_external_contact(external).get("external_contact") or {}).get("unionid")
        member_id = unionid and db.session.scalar(select(Member.id).where(Member.unionid == unionid))
    with transaction():
        db.session.add(WeComContact(change_type=change[:32], wecom_userid=userid[:64], external_userid=external[:64],
                                    state=(event.get("State") or None) and event["State"][:64],
                                    guide_id=guide.id if guide else None, member_id=member_id or None,
                                    unionid=unionid, created_at=clock.now()))
        if member_id:
            bindings.bind(member_id, guide, "wecom")


def _guide_of_state(state: str) -> Guide | None:
    if not (state.startswith(STATE_PREFIX) and state[1:].isdigit() and len(state) <= 11):
        return None
    return db.session.get(Guide, int(state[1:]))
