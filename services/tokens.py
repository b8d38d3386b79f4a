"""Signed, expiring, revocable bearer tokens for members, guides and operators.

A token carries the principal's kind, id and token version; bumping the version (logout, an
operator's revocation) invalidates every token issued before. Time comes from the clock service.
"""
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from services import clock
from services.errors import Unauthorized

TTL_CONFIG = {"member": "MEMBER_TOKEN_TTL", "operator": "OPERATOR_TOKEN_TTL", "guide": "MEMBER_TOKEN_TTL"}


class _ClockSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


@dataclass(frozen=True)
class Claims:
    kind: str
    id: int
    version: int


def _serializer() -> URLSafeTimedSerializer:
    # made once per app and key: building one costs more than checking a token with it
    cached = current_app.extensions.get("token_serializer")
    if cached is None or cached[0] != current_app.config["SECRET_KEY"]:
        cached = current_app.extensions["token_serializer"] = (current_app.config["SECRET_KEY"], URLSafeTimedSerializer(
            current_app.config["SECRET_KEY"], salt="bearer-token", signer=_ClockSigner))
    return cached[1]


def ttl(kind: str) -> int:
    return int(current_app.config[TTL_CONFIG[kind]])


def issue(kind: str, principal_id: int, version: int) -> str:
    """A bearer token for one principal at its current token version."""
    return _serializer().dumps([kind, principal_id, version])


def verify(token: str) -> Claims:
    """The claims of a genuine, unexpired token, or Unauthorized."""
    try:
        (kind, principal_id, version), issued_at = _serializer().loads(token, return_timestamp=True)
        age = (clock.now() - issued_at).total_seconds()
        if age > ttl(kind):
            raise Unauthorized("The token has expired.", details={"reason": "expired"})
        return Claims(str(kind), int(principal_id), int(version))
    except (BadSignature, ValueError, TypeError, KeyError) as exc:
        raise Unauthorized("The token is not valid.", details={"reason": "invalid"}) from exc
