"""Signed, expiring, revocable bearer tokens for members, guides and operators.

A token carries the principal's kind, id and token version; bumping the version (logout, an
operator's revocation) invalidates every token issued before. Time comes from the clock service.
"""
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from services.platform import clock
from services.platform.errors import Unauthorized

TTL_CONFIG = {"member": "MEMBER_TOKEN_TTL", "operator": "OPERATOR_TOKEN_TTL", "guide": "MEMBER_TOKEN_TTL"}


class _ClockSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


@dataclass(frozen=True)
class Claims:
    kind: str
    id: int
    version: int


VERIFIED_LIMIT = 50_000  # genuine tokens remembered per process; the memory is dropped when full


def _serializer() -> URLSafeTimedSerializer:
    return _signing()[1]


def _signing() -> tuple:
    # made once per app and key: building a serializer costs more than checking a token with it;
    # the genuine tokens seen under this key go with it
    cached = current_app.extensions.get("token_serializer")
    if cached is None or cached[0] != current_app.config["SECRET_KEY"]:
        cached = current_app.extensions["token_serializer"] = (current_app.config["SECRET_KEY"], URLSafeTimedSerializer(
            current_app.config["SECRET_KEY"], salt="bearer-token", signer=_ClockSigner), {})
    return cached


def ttl(kind: str) -> int:
    return int(current_app.config[TTL_CONFIG[kind]])


def issue(kind: str, principal_id: int, version: int) -> str:
    """A bearer token for one principal at its current token version."""
    return _serializer().dumps([kind, principal_id, version])


def verify(token: str) -> Claims:
    """The claims of a genuine, unexpired token, or Unauthorized.

    A token's signature is checked once per process: the claims and issue time of a genuine one are
    remembered under the whole token (signature included), and its age is checked every time.
    """
    _, serializer, verified = _signing()
    known = verified.get(token)
    if known is None:
        known = _check_signature(serializer, token)
        if len(verified) >= VERIFIED_LIMIT:
            verified.clear()
        verified[token] = known
    claims, issued_at = known
    if (clock.now() - issued_at).total_seconds() > ttl(claims.kind):
        raise Unauthorized("The token has expired.", details={"reason": "expired"})
    return claims


def _check_signature(serializer: URLSafeTimedSerializer, token: str) -> tuple[Claims, datetime]:
    try:
        (kind, principal_id, version), issued_at = serializer.loads(token, return_timestamp=True)
        claims = Claims(str(kind), int(principal_id), int(version))
        ttl(claims.kind)  # a kind this service does not issue is not a token of its own
        return claims, issued_at
    except (BadSignature, ValueError, TypeError, KeyError) as exc:
        raise Unauthorized("The token is not valid.", details={"reason": "invalid"}) from exc
