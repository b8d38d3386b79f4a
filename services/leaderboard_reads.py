"""Reading a leaderboard: the top N (names masked) and the member's own rank, in at most two Redis
round trips; a missing board is rebuilt from SQL under a lock, and with Redis down SQL answers."""
import logging
import time

import redis
from sqlalchemy import select

from models import Member, db
from services import clock
from services.leaderboards import SENTINEL, Board, board, key, rows_from_sql, score, write_board
from services.redis_client import get_redis

log = logging.getLogger(__name__)

ANONYMOUS = "微信用户"
LOCK_SECONDS, WAIT_SECONDS = 60, 2.0


def standings(name: str, member_id: int, *, limit: int = 50) -> dict:
    """The top `limit` (names masked) and the member's own rank: two Redis round trips at most."""
    b = board(name)
    try:
        top, mine = _from_redis(b, member_id, limit)
    except (redis.RedisError, OSError):
        log.warning("leaderboards: Redis unavailable, answering %s from SQL", name, exc_info=True)
        top, mine = _from_rows(b, rows_from_sql(b), member_id, limit)
    return {"items": _with_members(top), "me": mine}


def _from_redis(b: Board, member_id: int, limit: int):
    client, k = get_redis(), key(b)
    pipe = client.pipeline(transaction=False)
    pipe.exists(k)
    pipe.zrevrange(k, 0, limit - 1, withscores=True)
    pipe.zscore(k, member_id)
    exists, top, my_score = pipe.execute()
    if not exists:
        if (rows := _rebuild_or_wait(b, client, k)) is not None:
            return _from_rows(b, rows, member_id, limit)
        return _from_redis(b, member_id, limit)
    slot = 1 << b.bits
    items = _ranked([(int(m), int(s) // slot) for m, s in top if m != SENTINEL.encode()])
    if my_score is None:
        return items, {"rank": None, "score": 0}
    value = int(my_score) // slot
    mine = next((item for item in items if item[1] == member_id), None)
    rank = mine[0] if mine else 1 + client.zcount(k, (value + 1) * slot, "+inf")
    return items, {"rank": rank, "score": value}


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


def _with_members(items) -> list[dict]:
    ids = [member_id for _, member_id, _ in items]
    people = {row.id: row for row in db.session.execute(
        select(Member.id, Member.nickname, Member.avatar_url).where(Member.id.in_(ids)))} if ids else {}
    return [{"rank": rank, "score": value, "member": {
        "nickname": mask(people[mid].nickname if mid in people else ""),
        "avatar_url": people[mid].avatar_url if mid in people else ""}} for rank, mid, value in items]


def mask(nickname: str | None) -> str:
    """The first character and stars: 张三丰 → 张**, Alice → A***; no nickname → 微信用户."""
    name = (nickname or "").strip()
    if not name:
        return ANONYMOUS
    return name[0] + "*" * min(max(len(name) - 1, 1), 3)
