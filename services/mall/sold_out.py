"""Sold-out marks in Redis: a flash sale's losers answered out_of_stock without reaching PostgreSQL.

`goods:{g:7}:sold_out` is set after the commit of the order that took the goods' last unit (the
winner's transaction: its conditional update returned a stock of 0), and removed around every commit
that puts units back on sale (a cancelled or refunded order, an operator's restock, uploaded codes):
before it, so that no order can find the units back while the mark still stands, and after it.

Each put-back also counts `goods:{g:7}:put_back` up, and the winner sets its mark only if the count is
what it read while it held the goods row's lock: a put-back committed after the winner's (it waited
for that lock) can never be overwritten by the winner's late mark. So the mark only ever says what
the last commit said, and an order refused by it would have been refused by SQL; a missing mark only
sends the order to SQL, which decides as before. A write that cannot reach Redis is noted for
redis_repair, which sets every mark from SQL again (as rebuild-redis does); a mark also expires after TTL.
"""
import logging

from redis.exceptions import RedisError
from sqlalchemy import select

from models import Goods
from services.index import redis_index, redis_rebuild, redis_repair
from services.platform.db import after_commit
from services.platform.redis_client import thread_client

log = logging.getLogger(__name__)
TTL = 3600
REPAIR_KIND = "sold_out"


# KEYS: the mark, the put-back count; ARGV: the count the winner read, the TTL
SET_IF_NOTHING_PUT_BACK = redis_index.Script("""
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])
return 1
""")


def key(goods_id: int) -> str:
    return f"goods:{{g:{goods_id}}}:sold_out"


def _put_back_key(goods_id: int) -> str:
    return f"goods:{{g:{goods_id}}}:put_back"


def is_marked(goods_id: int) -> bool:
    """Whether a commit took the goods' last unit and none came back since (False when Redis is away)."""
    try:
        return bool(thread_client().exists(key(goods_id)))
    except (RedisError, OSError):
        return False


def taken(goods_id: int, stock_left: int) -> None:
    """This transaction took units of the goods (holding its row lock), leaving `stock_left`: at 0, the
    goods are marked once it commits, unless a put-back came after it."""
    if stock_left != 0:
        return
    try:
        seen = (thread_client().get(_put_back_key(goods_id)) or b"0").decode()
    except (RedisError, OSError):
        return  # no mark: orders are answered by SQL
    redis_index.write_after_commit([(SET_IF_NOTHING_PUT_BACK, [key(goods_id), _put_back_key(goods_id)], [seen, TTL])],
                                   repair=(REPAIR_KIND, None))


def put_back(goods_id: int) -> None:
    """This transaction puts units of the goods back on sale (holding its row lock): the mark goes
    now and after the commit, and a winner before it can no longer set one."""
    calls = [("incr", _put_back_key(goods_id)), ("delete", key(goods_id))]
    try:
        redis_index.execute(calls)
    except (RedisError, OSError):  # a mark may outlive the commit: the repair sets every mark from SQL
        after_commit(REPAIR_KIND, goods_id, lambda _: redis_repair.note(REPAIR_KIND))
        return
    redis_index.write_after_commit(calls, repair=(REPAIR_KIND, None))


def repair_marks(_member_id=None) -> None:
    """Redis repair: every mark from SQL (goods without stock marked, the others not)."""
    rebuild_marks()


def rebuild_marks(progress=None) -> int:
    """rebuild-redis: every goods' mark from SQL, a batch a round trip; returns the goods looked at."""
    written = 0
    for rows in redis_rebuild.in_batches(select(Goods.id, Goods.stock), Goods.id, progress=progress):
        redis_index.execute([("set", key(goods_id), 1, TTL) if stock == 0 else ("delete", key(goods_id))
                             for goods_id, stock in rows])
        written += len(rows)
    return written
