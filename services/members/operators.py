"""Operators: accounts, login, member lookup, audited points adjustments and growth grants."""
from sqlalchemy import or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from models import GrowthAccount, Member, Operator, db
from services.ledger import growth, points
from services.members.member_lock import lock_member
from services.platform import audit_trail, clock, ratelimit, tokens
from services.platform.db import lock_row, transaction
from services.platform.errors import Conflict, Forbidden, InvalidRequest, NotFound, Unauthorized
from services.platform.pagination import page

ADJUST_LIMIT = 1_000_000  # points in one manual adjustment


def create_operator(*, username: str, password: str, role: str = "admin") -> Operator:
    """Add an operator account."""
    if len(password) < 8:
        raise InvalidRequest("The password needs at least 8 characters.")
    with transaction():
        if db.session.scalar(select(Operator.id).where(Operator.username == username)):
            raise Conflict(f"Operator {username!r} already exists.", code="operator_exists")
        operator = Operator(username=username, password_hash=generate_password_hash(password), role=role,
                            active=True, token_version=0, created_at=clock.now())
        db.session.add(operator)
    return operator


def login(*, username: str, password: str, client_address: str) -> str:
    """A bearer token for an operator's username and password; too many failures are a 429."""
    def verify():
        operator = db.session.scalar(select(Operator).where(Operator.username == username))
        if operator is not None and operator.active and check_password_hash(operator.password_hash, password):
            return operator
        return None

    operator = ratelimit.password_login("operator", username, client_address, verify)
    return tokens.issue("operator", operator.id, operator.token_version)


def revoke_tokens(operator: Operator, operator_id: int) -> None:
    """Sign an operator out everywhere (logout, or an admin's revocation), audited."""
    with transaction():
        target = lock_row(Operator, operator_id)
        if target is None:
            raise NotFound("No such operator.")
        target.token_version += 1
        audit_trail.record(operator.id, "operator.revoke_tokens", target_type="operator", target_id=operator_id,
                           reason=None, details={"token_version": target.token_version})


def authenticate(claims: tokens.Claims, *, write: bool) -> Operator:
    """The operator a verified token speaks for; viewers may only read."""
    operator = db.session.get(Operator, claims.id)
    if operator is None or not operator.active or operator.token_version != claims.version:
        raise Unauthorized("The token has been revoked.", details={"reason": "revoked"})
    if write and operator.role != "admin":
        raise Forbidden("This operator may only read.")
    return operator


def find_members(*, q: str | None, limit: int, cursor: str | None) -> dict:
    """Members matching an id, openid, phone or nickname fragment."""
    stmt = select(Member)
    if q:
        conditions = [Member.openid == q, Member.phone == q, Member.nickname.contains(q, autoescape=True)]
        if q.isascii() and q.isdigit() and len(q) < 12:  # isdigit() alone takes "²", which int() refuses
            conditions.append(Member.id == int(q))
        stmt = stmt.where(or_(*conditions))
    return page(db.session, stmt, id_column=Member.id, limit=limit, cursor=cursor)


def adjust_points(operator: Operator, member_id: int, *, delta: int, reason: str, request_key: str) -> int:
    """Credit or debit a member's points by hand, audited; a debit never goes below zero. A frozen
    member earns nothing, but an operator may still debit them."""
    if delta == 0:
        raise InvalidRequest("delta must not be zero.", details={"delta": ["Must not be zero."]})
    business_key = f"admin:{operator.id}:{request_key}"
    with transaction():
        lock_member(member_id)
        movement = {"reason": "admin_adjust", "business_key": business_key, "reference": f"operator:{operator.id}"}
        entry_id = (points.earn(member_id, delta, **movement) if delta > 0
                    else points.spend(member_id, -delta, frozen_too=True, **movement).id)
        audit_trail.record_once(operator.id, "points.adjust", target_type="points_entry", target_id=entry_id,
                              reason=reason, details={"member_id": member_id, "delta": delta})
        balance = points.summary(member_id)["balance"]
    return balance


def grant_growth(operator: Operator, member_id: int, *, amount: int, reason: str, request_key: str) -> int:
    """Credit a member's growth value by hand (audited); the member moves up as any earning moves them,
    level-up gifts included. Growth is earn-only: an operator takes none back. The new lifetime total."""
    business_key = f"admin-growth:{operator.id}:{request_key}"
    with transaction():
        entry_id = growth.earn(member_id, amount, reason="admin_adjust", business_key=business_key,
                               reference=f"operator:{operator.id}")
        audit_trail.record_once(operator.id, "growth.grant", target_type="growth_entry", target_id=entry_id,
                                reason=reason, details={"member_id": member_id, "amount": amount})
        total = db.session.scalar(select(GrowthAccount.total).where(GrowthAccount.member_id == member_id))
    return total
