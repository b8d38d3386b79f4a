"""Members: WeChat login, profile, phone binding, token revocation."""
from redis.exceptions import RedisError
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from models import Member, db
from services.index import redis_index, redis_repair
from services.leaderboards import standings
from services.members import cards
from services.platform import audit_trail, clock, ratelimit, round_trips, tokens
from services.platform.areas import wiring
from services.platform.db import get_row, lock_one, lock_row, transaction
from services.platform.errors import NotFound, TokenRevoked
from services.platform.redis_client import thread_client
from services import events
from services.wechat import miniprogram

PROFILE_FIELDS = ("nickname", "avatar_url", "birthday", "gender")


LOGIN_PER_ADDRESS, LOGIN_WINDOW = 120, 60  # wx.login codes one address may exchange a minute


def login(*, code: str, client_address: str, invite: str | None = None) -> tuple[Member, str]:
    """Exchange a wx.login code for the member (created on first login) and a bearer token. An inviter's
    code (`invite`) goes to the `referral_followers`, told whether this login created the member."""
    ratelimit.check("member-login", client_address, limit=LOGIN_PER_ADDRESS, window=LOGIN_WINDOW)
    session = miniprogram.code_to_session(code)
    referral = {"code": invite, "client_address": client_address} if invite else None
    try:
        member = _upsert_member(session, referral)
    except IntegrityError:
        # A parallel first login of the same openid inserted it first; ours is now an update.
        member = _upsert_member(session, referral)
    return member, tokens.issue("member", member.id, member.token_version)


def _upsert_member(session: dict, referral: dict | None) -> Member:
    with transaction():
        member = lock_one(select(Member).where(Member.openid == session["openid"]))
        created = member is None
        if created:
            member = create_member(session["openid"])
        member.unionid = session.get("unionid") or member.unionid
        member.updated_at = clock.now()
        for follow in wiring().referral_followers.values() if referral else ():
            follow(member, created=created, **referral)
    return member


def create_member(openid: str) -> Member:
    """A new member, followed by the areas that keep something per member (`join_followers`: the
    ledger's accounts, the entry level)."""
    now = clock.now()
    member = Member(openid=openid, nickname="", avatar_url="", gender=0, status="active", token_version=0,
                    created_at=now, updated_at=now)
    db.session.add(member)
    db.session.flush()
    for follow in wiring().join_followers.values():
        follow(member)
    return member


def authenticate(claims: tokens.Claims, prefetch=None) -> tuple[cards.Card, list | None]:
    """The card of the member a verified token speaks for, if the token has not been revoked.

    The card comes from Redis, in one round trip with the calls `prefetch(member_id)` returns (their
    results come back second; None when Redis is away and the card came from SQL).
    """
    redis_repair.run_if_due()
    calls = [("get", cards.key(claims.id)), *(prefetch(claims.id) if prefetch else ())]
    try:
        if all(call[0] == "get" for call in calls):  # the member's own keys, one slot: one MGET
            raw, *fetched = thread_client().mget([call[1] for call in calls])
        else:
            raw, *fetched = redis_index.execute(calls)
        card = cards.load(claims.id, raw)
    except (RedisError, OSError):
        card, fetched = cards.from_sql(claims.id), None
    if card is None or card.token_version != claims.version:
        raise TokenRevoked()
    return card, fetched


def get_member(member_id: int) -> Member:
    return get_row(Member, member_id, missing="No such member.")


def profile_read(member_id: int) -> round_trips.Read:
    """The member's profile fields (a row), as a read to go in one round trip with others (GET /me)."""
    return round_trips.Read(((_PROFILE, {"member": member_id}),), _found)


_PROFILE = select(Member.id, Member.nickname, Member.avatar_url, Member.phone, Member.birthday, Member.gender,
                  Member.status, Member.created_at).where(Member.id == bindparam("member"))


def _found(rows: list):
    if not rows:
        raise NotFound("No such member.")
    return rows[0]


def update_profile(member: Member, changes: dict) -> Member:
    """Change the member's own profile fields."""
    with transaction():
        for field in PROFILE_FIELDS:
            if field in changes:
                setattr(member, field, changes[field])
        member.updated_at = clock.now()
        if {"nickname", "avatar_url"} & changes.keys():
            standings.profile_changed(member)
        if member.nickname and member.avatar_url and member.birthday:  # counted once, ever
            events.emit(member.id, "profile_completed", business_key=f"profile_completed:{member.id}")
    return member


def bind_phone(member: Member, *, code: str) -> Member:
    """Bind the phone number WeChat returns for a getPhoneNumber code."""
    phone = miniprogram.phone_number(code)
    with transaction():
        member.phone = phone
        member.updated_at = clock.now()
        events.emit(member.id, "phone_bound", business_key=f"phone_bound:{member.id}")
    return member


def revoke_tokens(member_id: int) -> None:
    """Invalidate every token issued to the member so far (logout, or an operator's revocation)."""
    with transaction():
        member = lock_row(Member, member_id, missing="No such member.")
        member.token_version += 1
        cards.changed(member)


def set_status(operator_id: int, member_id: int, *, status: str, reason: str) -> Member:
    """Freeze or unfreeze a member (a frozen member can neither earn nor spend), audited."""
    with transaction():
        member = lock_row(Member, member_id, missing="No such member.")
        if member.status != status:
            audit_trail.record(operator_id, f"member.{status}", target_type="member", target_id=member_id,
                             reason=reason, details={"from": member.status})
            member.status = status
            member.updated_at = clock.now()
    return member
