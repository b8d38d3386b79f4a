"""The Redis index: plumbing for the structures other areas keep in Redis as an index of SQL.

Other areas may call: redis_index.Script / execute / write_after_commit / SET_NEWER (a write that
never replaces a newer version); redis_rebuild.in_batches; redis_repair.note / run_if_due.
It owns the round trip, the repairs of writes that could not reach Redis and `rebuild-redis`. Areas
declare their own rebuilders and repair kinds in their AREA; this area runs the waiting repairs every
minute, and the whole rebuild when Redis is a new server run (a failover, a restart).
"""
from services.platform.areas import Area, Periodic

AREA = Area("index", periodic=(Periodic("redis.repair", "services.index.redis_repair.repair_waiting", 60),
                               Periodic("redis.new_server", "services.index.redis_rebuild.rebuild_on_new_server", 30)))
