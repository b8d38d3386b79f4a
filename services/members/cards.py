"""Member cards in Redis: what a signed-in request needs to trust its token and know its member, without SQL.

`member:{m:42}:card` holds "token_version|level_id|joined day", under the member's hash tag so that a
request's other member keys share its Cluster slot. A commit that changes one of them writes the card
after it with SET_NEWER: the token version never goes back, so a reader rebuilding from an older SQL
snapshot (SET NX, when the card is missing) cannot bring a revoked token back. Cards expire after a
day, so whatever else might drift does not outlive one.
"""
from dataclasses import dataclass
from datetime import date

from redis.exceptions import RedisError
from sqlalchemy import bindparam, select

from models import Member, db
from services.index import redis_index, redis_rebuild
from services.platform import clock, round_trips
from services.platform.errors import TokenRevoked
from services.platform.redis_client import get_redis

CARD_TTL = 24 * 3600
REPAIR_KIND = "member_card"


@dataclass(frozen=True)
class Card:
    id: int
    token_version: int
    level_id: int | None
    joined: date  # the business day the member joined


def key(member_id: int) -> str:
    return f"member:{{m:{member_id}}}:card"


_CARD_COLUMNS = select(Member.id, Member.token_version, Member.level_id, Member.created_at)


def _card(row) -> Card:
    """The card of a Member, or of a row of its card columns."""
    return Card(row.id, row.token_version, row.level_id, clock.local(row.created_at).date())


def load(member_id: int, raw: bytes | None) -> Card | None:
    """The card from its Redis value, or from SQL (and put back) when Redis had none; None: no such member."""
    if raw is not None:
        version, level_id, joined = raw.decode().split("|")
        return Card(member_id, int(version), int(level_id) if level_id else None, date.fromisoformat(joined))
    card = from_sql(member_id)
    if card is not None:
        try:
            get_redis().set(key(member_id), _value(card), nx=True, ex=CARD_TTL)
        except RedisError:
            pass  # the next request tries again
    return card


def checked_read(member_id: int, token_version: int) -> round_trips.Read:
    """The member's card read from SQL with the other reads of a request, refusing a revoked token:
    no card read from Redis first (blueprints.common.member_claims)."""
    def card_if_current(rows) -> Card:
        if not rows or rows[0].token_version != token_version:
            raise TokenRevoked()
        return _card(rows[0])
    return round_trips.Read(((_CARD_OF, {"member": member_id}),), card_if_current)


_CARD_OF = _CARD_COLUMNS.where(Member.id == bindparam("member"))


def from_sql(member_id: int) -> Card | None:
    row = db.session.execute(_CARD_COLUMNS.where(Member.id == member_id)).one_or_none()
    return _card(row) if row else None


def changed(member: Member) -> None:
    """The member's token version or level changes in this transaction: the card follows the commit."""
    card = _card(member)
    redis_index.write_after_commit([_write(card)], repair=(REPAIR_KIND, member.id))


def _write(card: Card) -> tuple:
    return redis_index.SET_NEWER, [key(card.id)], [card.token_version, _value(card), CARD_TTL]


def _value(card: Card) -> str:
    return f"{card.token_version}|{card.level_id or ''}|{card.joined.isoformat()}"


def repair_card(member_id: int | None) -> None:
    """Redis repair: the member's card from SQL."""
    if member_id is not None and (card := from_sql(member_id)) is not None:
        redis_index.execute([_write(card)])



def rebuild_cards(progress=None) -> int:
    """rebuild-redis: every member's card from SQL, a batch a round trip; returns the cards written."""
    written = 0
    for rows in redis_rebuild.in_batches(_CARD_COLUMNS, Member.id, progress=progress):
        redis_index.execute([_write(_card(row)) for row in rows])
        written += len(rows)
    return written

