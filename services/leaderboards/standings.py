"""Reading a leaderboard: the top N (names masked) and the member's own rank, in at most two Redis
round trips (the board with the token check, then the names when the board's rendered top is not
cached); a missing board is rebuilt from SQL under a lock, and with Redis down SQL answers.

Masked names live in one Redis hash, `lb:names` (member id → "masked name<TAB>avatar url"): written
after a profile change commits, filled from SQL (HSETNX) for ids it lacks.
"""
import logging
import time

import redis
from sqlalchemy import select

from models import Member, db
from services.index import redis_index, redis_rebuild
from services.leaderboards.leaderboards import (SENTINEL, Board, board, board_keys, key, rows_from_sql, score,
    tops_changed_calls, write_board)
from services.platform import clock
from services.platform.errors import NotFound
from services.platform.redis_client import get_redis
from services.platform.rendered import RawJSON, render

log = logging.getLogger(__name__)

ANONYMOUS = "微信用户"
NAMES_KEY = "lb:names"
LOCK_SECONDS, WAIT_SECONDS = 60, 2.0
REPAIR_KIND = "leaderboard_name"

# The board's cached rendering of its top `limit` (else the top itself, with scores), the member's
# score, how many members have a higher value (a competition rank is 1 + that), and the board's
# version; false when the board does not exist.
_STANDINGS = redis_index.Script("""
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local cached = redis.call('HGET', KEYS[2], ARGV[2])
local top = false
if not cached then top = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1, 'WITHSCORES') end
local mine = redis.call('ZSCORE', KEYS[1], ARGV[1])
local above = false
if mine then
  local slot = tonumber(ARGV[3])
  above = redis.call('ZCOUNT', KEYS[1], string.format('%.17g', (math.floor(tonumber(mine) / slot) + 1) * slot), '+inf')
end
return {cached or false, top, mine or false, above, redis.call('GET', KEYS[3]) or '0'}
""")
# Caches a rendered top, unless the board's version moved on since it was read.
_STORE_TOP = redis_index.Script("""
if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
""")
TOP_CACHE_SECONDS = 300


def prefetch_calls(name: str, member_id: int, limit: int) -> list:
    """The Redis call of a board read, to ride with the token check (none for an unknown board)."""
    try:
        b = board(name)
    except NotFound:
        return []  # the view answers 404
    return [(_STANDINGS, board_keys(b), [member_id, limit, 1 << b.bits])]


def standings(name: str, member_id: int, *, limit: int = 50, fetched: list | None = None) -> dict:
    """The top `limit` (names masked) and the member's own rank; `fetched` is what `reads` fetched
    (None: fetch it here). The answer is in its JSON shape already; the items may be rendered JSON
    (RawJSON, the board's cached rendering).

    Round trips: the board (with the token check, when prefetched); the names, only when the board's
    rendered top is not cached (it is until the top changes), after which the rendering is stored.
    """
    b = board(name)
    try:
        result = fetched[0] if fetched else redis_index.execute(prefetch_calls(name, member_id, limit))[0]
        return _from_redis(b, member_id, limit, result)
    except (redis.RedisError, OSError):
        log.warning("leaderboards: Redis unavailable, answering %s from SQL", name, exc_info=True)
        return _answer_from_rows(b, rows_from_sql(b), member_id, limit, _names_from_sql)


def _from_redis(b: Board, member_id: int, limit: int, result) -> dict:
    if result is None:  # no board: rebuild it from SQL, or wait for whoever is rebuilding it
        if (rows := _rebuild_or_wait(b, get_redis(), key(b))) is not None:
            return _answer_from_rows(b, rows, member_id, limit, _names)
        result = redis_index.execute(prefetch_calls(b.name, member_id, limit))[0]
        if result is None:
            return _answer_from_rows(b, rows_from_sql(b), member_id, limit, _names_from_sql)
    cached, flat, my_score, above, version = result
    slot = 1 << b.bits
    mine = {"rank": None, "score": 0} if my_score is None else {
        "rank": 1 + int(above), "score": int(float(my_score)) // slot}
    if cached is not None:
        return {"items": RawJSON(cached.decode()), "me": mine}
    top = _ranked([(int(flat[n]), int(float(flat[n + 1])) // slot)
                   for n in range(0, len(flat), 2) if flat[n] != SENTINEL.encode()])
    items = render(_rendered(top, _names([mid for _, mid, _ in top])))
    redis_index.execute([(_STORE_TOP, board_keys(b), [version, limit, items, TOP_CACHE_SECONDS])])
    return {"items": items, "me": mine}


def _answer_from_rows(b: Board, rows, member_id: int, limit: int, names) -> dict:
    """The answer from (member_id, value, reached_at) rows, with names from `names(ids)`."""
    top, mine = _from_rows(b, rows, member_id, limit)
    return {"items": _rendered(top, names([mid for _, mid, _ in top])), "me": mine}


def _rendered(top: list[tuple[int, int, int]], names: dict[int, dict]) -> list[dict]:
    return [{"rank": rank, "score": value, "member": names[mid]} for rank, mid, value in top]


def _rebuild_or_wait(b: Board, client, k: str):
    """Rebuild a missing board under a lock and return its rows; None once another reader rebuilt it."""
    lock = f"{k}:lock"
    if client.set(lock, "1", nx=True, ex=LOCK_SECONDS):
        try:
            rows = rows_from_sql(b)
            write_board(b, rows)
            return rows
        finally:
            client.delete(lock)
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if client.exists(k):
            return None
    return rows_from_sql(b)  # the rebuild takes long: answer from SQL meanwhile


def _from_rows(b: Board, rows, member_id: int, limit: int):
    """The same answer as Redis gives, computed from (member_id, value, reached_at) rows."""
    now = clock.now()
    scored = sorted(((score(b, value, reached, now), str(mid), value) for mid, value, reached in rows), reverse=True)
    items = _ranked([(int(mid), value) for _, mid, value in scored[:limit]])
    mine = next((value for _, mid, value in scored if mid == str(member_id)), None)
    if mine is None:
        return items, {"rank": None, "score": 0}
    return items, {"rank": 1 + sum(1 for *_, value in scored if value > mine), "score": mine}


def _ranked(ordered: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(rank, member_id, value) with competition ranks, for a list that starts at the top."""
    ranked = []
    for position, (member_id, value) in enumerate(ordered, start=1):
        rank = ranked[-1][0] if ranked and ranked[-1][2] == value else position
        ranked.append((rank, member_id, value))
    return ranked


def _names(ids: list[int]) -> dict[int, dict]:
    """Masked names and avatars of board members from Redis; what it lacks from SQL, and put back."""
    if not ids:
        return {}
    raw = dict(zip(ids, get_redis().hmget(NAMES_KEY, ids)))
    missing = [mid for mid, value in raw.items() if value is None]
    found = _names_from_sql(missing) if missing else {}
    if found:
        pipe = get_redis().pipeline(transaction=False)
        for mid, card in found.items():
            pipe.hsetnx(NAMES_KEY, mid, _name_value(card))
        pipe.execute()
    return {mid: found[mid] if value is None else _name_card(value) for mid, value in raw.items()}


def _names_from_sql(ids: list[int]) -> dict[int, dict]:
    people = {row.id: row for row in db.session.execute(
        select(Member.id, Member.nickname, Member.avatar_url).where(Member.id.in_(ids)))} if ids else {}
    return {mid: {"nickname": mask(people[mid].nickname if mid in people else ""),
                  "avatar_url": people[mid].avatar_url if mid in people else ""} for mid in ids}


def _name_value(card: dict) -> str:
    return f"{card['nickname']}\t{card['avatar_url']}"


def _name_card(value: bytes) -> dict:
    nickname, _, avatar_url = value.decode().partition("\t")
    return {"nickname": nickname, "avatar_url": avatar_url}


def profile_changed(member: Member) -> None:
    """The member's nickname or avatar changes in this transaction: the boards show it once it commits."""
    card = {"nickname": mask(member.nickname), "avatar_url": member.avatar_url or ""}
    redis_index.write_after_commit([("hset", NAMES_KEY, member.id, _name_value(card)), *tops_changed_calls()],
                                   repair=(REPAIR_KIND, member.id))


def repair_name(member_id: int | None) -> None:
    """Redis repair: the member's masked name from SQL (and the cached tops that show it)."""
    if member_id is not None:
        redis_index.execute([("hset", NAMES_KEY, member_id, _name_value(_names_from_sql([member_id])[member_id])),
                         *tops_changed_calls()])


def mask(nickname: str | None) -> str:
    """The first character and stars: 张三丰 → 张**, Alice → A***; no nickname → 微信用户."""
    name = (nickname or "").strip()
    if not name:
        return ANONYMOUS
    return name[0] + "*" * min(max(len(name) - 1, 1), 3)


def rebuild_names(progress=None) -> int:
    """rebuild-redis: the masked name of every member, a batch a round trip; returns the names written."""
    get_redis().delete(NAMES_KEY)
    written = 0
    for rows in redis_rebuild.in_batches(select(Member.id), Member.id, progress=progress):
        ids = [row.id for row in rows]
        get_redis().hset(NAMES_KEY, mapping={mid: _name_value(card) for mid, card in _names_from_sql(ids).items()})
        written += len(ids)
    redis_index.execute(tops_changed_calls())
    return written

