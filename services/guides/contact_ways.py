"""Each active guide's WeCom 联系我 code (state `g<id>`), made when the guide gets a WeCom userid and kept
with the guide, removed at WeCom when the guide is disabled (a new one is made if they come back);
while WeCom cannot be reached either is retried with backoff (the periodic job). And WeCom's
add-contact callback: a customer who added an active guide through that code is bound to the guide
(found by unionid) if they have no guide yet; every change is recorded, a removal is not acted on."""
import logging
import re

from sqlalchemy import or_, select

from models import Guide, Member, WeComContact, db
from services.guides import bindings
from services.platform import clock, jobs
from services.platform.db import MAX_ID, after_commit, lock_row, transaction
from services.platform.errors import WeChatError
from services.wechat import wecom

log = logging.getLogger(__name__)

RETRY_SECONDS, RETRY_MAX_SECONDS = 60, 6 * 3600
STATE_PREFIX = "g"
# exactly what make_for writes: ASCII `g` and ASCII digits (str.isdigit() takes "²" and "１", int() "１")
STATE_PATTERN = re.compile(r"g([1-9][0-9]{0,9})")
MAKE, REMOVE = "services.guides.contact_ways.make_for", "services.guides.contact_ways.remove_for"


def make_for(guide_id: int) -> str:
    """Make an active guide's 联系我 code unless it has one; what happened."""
    guide = db.session.get(Guide, guide_id, populate_existing=True)
    if guide is None or guide.status != "active" or not guide.wecom_userid or guide.wecom_config_id \
            or not wecom.configured():
        return "nothing to do"
    userid = guide.wecom_userid
    try:
        config_id, qr_code = wecom.add_contact_way(userid, f"{STATE_PREFIX}{guide.id}")
    except WeChatError as exc:
        return _retry_later(guide_id, exc, "made", still_due=lambda locked: locked.wecom_config_id is None)
    with transaction():
        guide = lock_row(Guide, guide_id)
        kept = guide.wecom_userid == userid and guide.wecom_config_id is None  # not changed, nor made twice
        if kept:
            guide.wecom_config_id, guide.wecom_qr_url, guide.wecom_error = config_id, qr_code, None
            if guide.status != "active":  # disabled meanwhile: the code goes again
                queue_after_commit(REMOVE, guide.id)
    if not kept:
        _remove_spare(config_id)
    return "made" if kept else "spare"


def remove_for(guide_id: int) -> str:
    """Remove a disabled guide's 联系我 code at WeCom, so that it brings nobody more; what happened."""
    guide = db.session.get(Guide, guide_id, populate_existing=True)
    if guide is None or guide.status == "active" or not guide.wecom_config_id or not wecom.configured():
        return "nothing to do"
    config_id = guide.wecom_config_id
    try:
        wecom.delete_contact_way(config_id)
    except WeChatError as exc:
        return _retry_later(guide_id, exc, "removed", still_due=lambda locked: locked.wecom_config_id == config_id)
    with transaction():
        guide = lock_row(Guide, guide_id)
        if guide.wecom_config_id == config_id:
            guide.wecom_config_id = guide.wecom_qr_url = guide.wecom_error = None
            guide.wecom_attempts, guide.wecom_retry_at = 0, None
            if guide.status == "active":  # enabled again meanwhile: they get a new code
                queue_after_commit(MAKE, guide.id)
    return "removed"


def _retry_later(guide_id: int, exc: WeChatError, what: str, *, still_due) -> str:
    with transaction():
        guide = lock_row(Guide, guide_id)
        if not still_due(guide):  # a parallel run of the job did it
            return "nothing to do"
        guide.wecom_attempts += 1
        guide.wecom_error = str(exc.details or exc.message)[:255]
        guide.wecom_retry_at = clock.now() + clock.backoff(guide.wecom_attempts, first=RETRY_SECONDS,
                                                           most=RETRY_MAX_SECONDS)
    log.warning("guide %s: WeCom contact way not %s (%s); retried later", guide_id, what, exc.details)
    return "retrying"


def _remove_spare(config_id: str) -> None:
    """A code made in parallel with another, or for a userid since changed: nobody shows it."""
    try:
        wecom.delete_contact_way(config_id)
    except WeChatError as exc:
        log.warning("spare WeCom contact way %s not removed (%s)", config_id, exc.details)


def queue_after_commit(target: str, guide_id: int) -> None:
    """Run `target(guide_id)` as a job once the current transaction has committed."""
    after_commit(f"guide-contact-ways:{target}", guide_id, lambda ids: _queue(target, ids))


def _queue(target: str, guide_ids) -> None:
    for guide_id in dict.fromkeys(guide_ids):
        jobs.enqueue(target, guide_id)


def keep_in_step() -> dict:
    """The periodic job: make the codes active guides lack and remove disabled guides' codes, each
    when its retry time has come."""
    if not wecom.configured():
        return {"skipped": "WeCom is not configured"}
    missing = (Guide.status == "active") & Guide.wecom_userid.is_not(None) & Guide.wecom_config_id.is_(None)
    retired = (Guide.status != "active") & Guide.wecom_config_id.is_not(None)
    due_now = or_(Guide.wecom_retry_at.is_(None), Guide.wecom_retry_at <= clock.now())
    due = db.session.execute(select(Guide.id, Guide.status).where(missing | retired, due_now)
                             .order_by(Guide.id).limit(100)).all()
    db.session.rollback()
    outcome = {"checked": len(due)}
    for guide_id, status in due:
        result = make_for(guide_id) if status == "active" else remove_for(guide_id)
        outcome[result] = outcome.get(result, 0) + 1
    return outcome


def handle_event(event: dict) -> None:
    """A decrypted `change_external_contact` event: record it; an add through the code of an active
    guide (state `g<id>`) binds the member WeCom's unionid finds, if unbound."""
    if event.get("Event") != "change_external_contact":
        return
    change, userid, external = event.get("ChangeType", ""), event.get("UserID", ""), event.get("ExternalUserID", "")
    state = event.get("State") or ""
    guide_id = _guide_of_state(state)
    guide = db.session.get(Guide, guide_id) if guide_id else None
    unionid = member_id = None
    if change == "add_external_contact" and external and bindings.bindable(guide):
        unionid = (wecom.external_contact(external).get("external_contact") or {}).get("unionid")
        member_id = unionid and db.session.scalar(select(Member.id).where(Member.unionid == unionid))
    with transaction():
        db.session.add(WeComContact(change_type=change[:32], wecom_userid=userid[:64], external_userid=external[:64],
                                    state=state[:64] or None, guide_id=guide.id if guide else None,
                                    member_id=member_id or None, unionid=unionid, created_at=clock.now()))
        if member_id and bindings.bindable(lock_row(Guide, guide.id)):  # not disabled meanwhile
            bindings.bind(member_id, guide, "wecom")


def _guide_of_state(state: str) -> int | None:
    """The guide id a 联系我 state names, as make_for wrote it; None for anything else."""
    match = STATE_PATTERN.fullmatch(state)
    if match is None or int(match[1]) > MAX_ID:
        return None
    return int(match[1])
