"""Subscribe messages: one-time grants, an outbox written in the business transaction, and delivery.

A caller's service calls `enqueue(...)` inside its own transaction; the delivery job is queued only
after that transaction commits (an after_commit listener), and a periodic sweep sends whatever a
lost job or a Redis outage left pending. Delivery claims a row, commits, calls WeChat with no lock
held, then records the outcome: every attempt is a MessageAttempt row.
"""
import datetime as dt
import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select, true, update

from models import Member, db
from models.message import MessageAttempt, OutboxMessage, SubscriptionGrant
from services.platform import clock, jobs
from services.platform.db import after_commit, lock_row, transaction
from services.platform.errors import InvalidRequest, WeChatError
from services.platform.metrics import Gauge, age_seconds
from services.wechat import miniprogram

log = logging.getLogger(__name__)

DELIVER = "services.messages.messages.deliver"
SWEEP = "services.messages.messages.deliver_due"

REFUSED = 43101  # the member has no grant (left) or refused: drop, never retry
# Our request is wrong: retrying cannot help, and it is a bug in our data or config.
BAD_REQUEST = {47003: "a value breaks the template's limits", 40037: "invalid template_id",
               41030: "invalid page", 40003: "invalid openid"}


def _config(name: str) -> int:
    return int(current_app.config[name])


# -- grants -----------------------------------------------------------------------------------

def templates() -> dict[str, str]:
    """Template key -> subscribe template id, from WECHAT_TEMPLATES."""
    return dict(current_app.config["WECHAT_TEMPLATES"])


def granted_members(template_key: str, *, narrowed=lambda member_id: true(), batch: int = 500):
    """The members holding a grant of a template, in batches of ids in id order (none when the template
    is not configured); `narrowed(member_id)` is a further condition on the member's id column. Each
    batch is read once the caller is done with the one before, so the caller may commit in between."""
    template_id = templates().get(template_key)
    after = 0
    while template_id is not None and (ids := list(db.session.scalars(
            select(SubscriptionGrant.member_id)
            .where(SubscriptionGrant.template_id == template_id, SubscriptionGrant.grants > 0,
                   SubscriptionGrant.member_id > after, narrowed(SubscriptionGrant.member_id))
            .order_by(SubscriptionGrant.member_id).limit(batch)))):
        yield ids
        after = ids[-1]


def grants(member: Member) -> list[dict]:
    """Sends left per configured template: [{"key", "template_id", "grants"}]."""
    left = dict(db.session.execute(select(SubscriptionGrant.template_id, SubscriptionGrant.grants)
                                   .where(SubscriptionGrant.member_id == member.id)).all())
    return [{"key": key, "template_id": tid, "grants": left.get(tid, 0)} for key, tid in templates().items()]


def record_grants(member: Member, accepted_template_ids: list[str]) -> dict[str, int]:
    """Add one send per template the member accepted; returns sends left per template key."""
    keys_by_id = {tid: key for key, tid in reversed(list(templates().items()))}
    unknown = sorted({tid for tid in accepted_template_ids if tid not in keys_by_id})
    if unknown:
        raise InvalidRequest("Unknown subscribe template ids.", status=422,
                             details={"accepted": {"unknown": unknown}})
    with transaction():
        # the member's lock serialises first grants, so two requests never insert the same row
        lock_row(Member, member.id)
        for tid in dict.fromkeys(accepted_template_ids):
            _add_grant(member.id, keys_by_id[tid], tid)
    return {item["key"]: item["grants"] for item in grants(member)}


def _add_grant(member_id: int, key: str, template_id: str) -> None:
    grant = db.session.scalar(select(SubscriptionGrant).where(
        SubscriptionGrant.member_id == member_id, SubscriptionGrant.template_id == template_id))
    if grant is None:
        grant = SubscriptionGrant(member_id=member_id, template_key=key, template_id=template_id, grants=0)
        db.session.add(grant)
    grant.grants += 1
    grant.updated_at = clock.now()
    db.session.flush()


# -- the outbox -------------------------------------------------------------------------------

def enqueue(member_id: int, template_key: str, data: dict, *, business_key: str,
            page: str | None = None) -> OutboxMessage | None:
    """Write a message to the outbox, using one of the member's grants; None when there is none.

    Call it inside the business transaction (it only flushes). A repeated business key returns the
    first message and uses no grant. The delivery job is queued after the commit.
    """
    return _write(member_id, template_key, data, business_key=business_key, page=page)[0]


def enqueue_new(member_id: int, template_key: str, data: dict, *, business_key: str, page: str | None = None) -> bool:
    """enqueue for batch jobs that count what they wrote: True when the message was written now (False:
    written before under its business key, or no grant, or no template)."""
    return _write(member_id, template_key, data, business_key=business_key, page=page)[1]


def _write(member_id, template_key, data, *, business_key, page) -> tuple[OutboxMessage | None, bool]:
    """(the message under the business key, whether it was written now)."""
    existing = db.session.scalar(select(OutboxMessage).where(OutboxMessage.business_key == business_key))
    if existing is not None:
        return existing, False
    template_id = templates().get(template_key)
    if template_id is None:  # a message must never fail the business change it reports
        log.warning("no subscribe template %r in WECHAT_TEMPLATES; message %s not written", template_key, business_key)
        return None, False
    used = db.session.execute(
        update(SubscriptionGrant)
        .where(SubscriptionGrant.member_id == member_id, SubscriptionGrant.template_id == template_id,
               SubscriptionGrant.grants > 0)
        .values(grants=SubscriptionGrant.grants - 1, updated_at=clock.now())
        .execution_options(synchronize_session=False))
    if used.rowcount != 1:
        return None, False
    now = clock.now()
    message = OutboxMessage(member_id=member_id, template_key=template_key, template_id=template_id,
                            data={k: str(v) for k, v in data.items()}, page=page, business_key=business_key,
                            status="pending", attempts=0, next_attempt_at=now, created_at=now)
    db.session.add(message)
    db.session.flush()
    after_commit("outbox", message.id, _queue_all)
    return message, True


def _queue_all(message_ids: list[int]) -> None:
    for message_id in message_ids:
        _queue(message_id)


def _queue(message_id: int, at: dt.datetime | None = None) -> None:
    try:
        jobs.enqueue(DELIVER, message_id, at=at)
    except Exception:  # nothing may escape once the data is committed; the message is safe in the outbox
        log.warning("could not queue outbox message %s; the sweep will send it", message_id, exc_info=True)


# -- value formatters (WeChat's limits per keyword type) ----------------------------------------

def _fit(text, limit: int) -> str:
    text = " ".join(str(text).split()) or "-"
    return text if len(text) <= limit else text[:limit - 1] + "…"


def thing(text) -> str:
    """A `thing` value: at most 20 characters."""
    return _fit(text, 20)


def phrase(text) -> str:
    """A `phrase` value: at most 5 characters."""
    return _fit(text, 5)


def name(text) -> str:
    """A `name` value: at most 10 characters."""
    return _fit(text, 10)


def character_string(text) -> str:
    """A `character_string` value (order numbers): ASCII, at most 32 characters."""
    return _fit(str(text).encode("ascii", "ignore").decode(), 32)


def amount(fen: int) -> str:
    """An `amount` value from integer fen: 8800 -> "88.00元"."""
    if fen < 0:
        raise ValueError("amounts are not negative")
    yuan, cents = divmod(int(fen), 100)
    return f"{yuan}.{cents:02d}元"


def number(n: int) -> str:
    """A `number` value: digits only, at most 32."""
    if int(n) < 0:
        raise ValueError("numbers are not negative")
    return str(int(n))


def date(value: dt.date | dt.datetime) -> str:
    """A `date` value, the business day: "2026年11月23日"."""
    day = clock.local(value).date() if isinstance(value, dt.datetime) else value
    return f"{day.year}年{day.month}月{day.day}日"


def time(at: dt.datetime) -> str:
    """A `time` value in the business time zone: "2026年11月23日 14:05"."""
    local = clock.local(at)
    return f"{date(local.date())} {local:%H:%M}"


# -- delivery ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Claim:
    message_id: int
    attempt: int
    openid: str
    template_id: str
    data: dict
    page: str | None
    retry_at: dt.datetime


def deliver(message_id: int) -> str:
    """Send one outbox message (the job); returns its outcome, or "skipped" if not pending and due."""
    claim = _claim(message_id)
    if claim is None:
        return "skipped"
    errcode, error = _send(claim)
    return _record(claim, errcode, error)


def deliver_due(limit: int = 100) -> int:
    """The sweep: deliver pending messages whose next attempt is due; returns how many were tried."""
    ids = list(db.session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= clock.now())
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)))
    db.session.commit()  # end the read before sending: no transaction stays open during HTTP calls
    return sum(deliver(message_id) != "skipped" for message_id in ids)


def _retry_delay(attempt: int) -> dt.timedelta:
    return clock.backoff(attempt, first=_config("MESSAGE_RETRY_SECONDS"), most=_config("MESSAGE_RETRY_MAX_SECONDS"))


def _claim(message_id: int) -> _Claim | None:
    """Take the message for one attempt: a conditional update, so two workers never both send it."""
    with transaction():
        row = db.session.execute(
            select(OutboxMessage, Member.openid).join(Member, Member.id == OutboxMessage.member_id)
            .where(OutboxMessage.id == message_id).execution_options(populate_existing=True)).first()
        now = clock.now()
        if row is None or row[0].status != "pending" or row[0].next_attempt_at > now:
            return None
        message, openid = row
        attempt, retry_at = message.attempts + 1, now + _retry_delay(message.attempts + 1)
        # the next attempt is due after the backoff: if this worker dies mid-send, the sweep retries
        claimed = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending",
                   OutboxMessage.attempts == message.attempts)
            .values(attempts=attempt, next_attempt_at=retry_at)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            return None
        return _Claim(message_id, attempt, openid, message.template_id, dict(message.data), message.page, retry_at)


def _send(claim: _Claim) -> tuple[int | None, str | None]:
    """Call WeChat with no transaction open: (None, None) when sent, else (errcode or None, error)."""
    try:
        miniprogram.send_subscribe_message(claim.openid, claim.template_id, claim.data, claim.page)
    except WeChatError as exc:
        return exc.details.get("errcode"), str(exc.details.get("errmsg") or exc.message)[:256]
    except Exception as exc:  # anything unexpected is one more failed attempt, not a lost message
        log.exception("sending outbox message %s failed", claim.message_id)
        return None, type(exc).__name__
    return None, None


def _outcome(claim: _Claim, errcode: int | None, error: str | None) -> str:
    if error is None:
        return "sent"
    if errcode == REFUSED:
        return "dropped"
    if errcode in BAD_REQUEST:
        log.error("WeChat refused outbox message %s (%s, errcode %s: %s); data %s; fix the caller",
                  claim.message_id, BAD_REQUEST[errcode], errcode, error, claim.data)
        return "dropped"
    return "failed" if claim.attempt >= _config("MESSAGE_MAX_ATTEMPTS") else "retry"


def _record(claim: _Claim, errcode: int | None, error: str | None) -> str:
    """Write the attempt and the message's new state; queue the retry after the commit."""
    outcome, now = _outcome(claim, errcode, error), clock.now()
    changes = {"last_errcode": errcode, "last_error": error}
    if outcome != "retry":
        changes["status"] = outcome
    if outcome == "sent":
        changes["sent_at"] = now
    with transaction():
        db.session.add(MessageAttempt(message_id=claim.message_id, attempted_at=now, outcome=outcome,
                                      errcode=errcode, error=error))
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claim.message_id, OutboxMessage.status == "pending",
                   OutboxMessage.attempts == claim.attempt)
            .values(**changes).execution_options(synchronize_session=False))
    if outcome == "retry":
        _queue(claim.message_id, at=claim.retry_at)
    return outcome


def gauges() -> list[Gauge]:
    """The outbox for /metrics: messages by status, and how long the oldest pending one has waited."""
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    oldest = db.session.scalar(select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending"))
    return [Gauge("loyalty_outbox_messages", "Subscribe messages in the outbox by status (pending: still to send)",
                  counts.get(status, 0), {"status": status}) for status in ("pending", "failed")] + \
        [Gauge("loyalty_outbox_oldest_pending_age_seconds", "How long the oldest pending message has waited",
               age_seconds(oldest))]
