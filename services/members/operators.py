"""Operators: accounts, login, token revocation, member lookup."""
from sqlalchemy import or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from models import Member, Operator, db
from services.platform import audit_trail, clock, ratelimit, tokens
from services.platform.db import MAX_ID, lock_row, transaction
from services.platform.errors import Conflict, Forbidden, InvalidRequest, NotFound, TokenRevoked
from services.platform.pagination import page


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
        raise TokenRevoked()
    if write and operator.role != "admin":
        raise Forbidden("This operator may only read.")
    return operator


def find_members(*, q: str | None, limit: int, cursor: str | None) -> dict:
    """Members matching an id, openid, phone or nickname fragment."""
    stmt = select(Member)
    if q:
        conditions = [Member.openid == q, Member.phone == q, Member.nickname.contains(q, autoescape=True)]
        # isdigit() alone takes "²", which int() refuses; a phone number is digits too, but no id
        if q.isascii() and q.isdigit() and int(q) <= MAX_ID:
            conditions.append(Member.id == int(q))
        stmt = stmt.where(or_(*conditions))
    return page(db.session, stmt, id_column=Member.id, limit=limit, cursor=cursor)
