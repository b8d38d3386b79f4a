"""The Redis index's plumbing: Lua scripts by SHA, a list of calls in one round trip, and writes that
follow the SQL commit (all of a transaction's in one round trip, a repair noted when they fail).

A call is `("setbit", key, offset, 1)` for a plain command or `(script, keys, args)` for a Script.
"""
import logging
from collections.abc import Sequence

from redis.exceptions import NoScriptError, RedisError

from services.index import redis_repair
from services.platform.db import after_commit
from services.platform.redis_client import get_redis

log = logging.getLogger(__name__)


class Script:
    """A Lua script run with EVALSHA (loaded on first use, and again after a Redis restart)."""

    def __init__(self, lua: str):
        self.lua, self.sha = lua, None

    def queue(self, pipe, keys: Sequence[str], args: Sequence) -> None:
        if self.sha is None:
            self.sha = get_redis().script_load(self.lua)
        pipe.evalsha(self.sha, len(keys), *keys, *args)


# Sets KEYS[1] to ARGV[2] (expiring after ARGV[3] s) unless it holds a value whose leading number
# is greater than ARGV[1]: values that lead with a version never go backwards, whoever writes last.
SET_NEWER = Script("""
local old = redis.call('GET', KEYS[1])
if old and (tonumber(string.match(old, '^%d+')) or -1) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
""")


def execute(calls: list) -> list:
    """Every call in one round trip; their results in order. Raises RedisError (or OSError)."""
    results = _execute(calls)
    lost = [n for n, result in enumerate(results) if isinstance(result, NoScriptError)]
    if lost:  # the server restarted and forgot its scripts: load them and run just those calls again
        for n in lost:
            calls[n][0].sha = None
        for n, result in zip(lost, _execute([calls[n] for n in lost])):
            results[n] = result
    if errors := [result for result in results if isinstance(result, Exception)]:
        raise errors[0]
    return results


def _execute(calls: list) -> list:
    pipe = get_redis().pipeline(transaction=False)
    for call in calls:
        if isinstance(call[0], Script):
            call[0].queue(pipe, call[1], call[2])
        else:
            getattr(pipe, call[0])(*call[1:])
    return pipe.execute(raise_on_error=False)


def write_after_commit(calls: list, *, repair: tuple[str, int | None]) -> None:
    """Make these writes once the current transaction commits (dropped if it rolls back); every write of
    the transaction goes in the same round trip. If Redis cannot take them, `repair` (kind, member id)
    is noted for services.index.redis_repair."""
    after_commit("redis", (calls, repair), _write)


def _write(batches: list) -> None:
    try:
        execute([call for calls, _ in batches for call in calls])
    except (RedisError, OSError):
        log.warning("Redis index not updated after a commit; repairs noted", exc_info=True)
        for kind, member_id in dict.fromkeys(repair for _, repair in batches):
            redis_repair.note(kind, member_id)
