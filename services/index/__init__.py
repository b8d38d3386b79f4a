"""The Redis index: plumbing for the structures other areas keep in Redis as an index of SQL.

Owns the round trip (`redis_index.Script`, `redis_index.execute`, `redis_index.write_after_commit`, and
`redis_index.SET_NEWER`, a write that never replaces a newer version),
the repairs of writes that could not reach Redis (`redis_repair.note`, `run_if_due`, `repair_waiting`)
and `rebuild-redis` (`redis_rebuild.rebuild_all`, `in_batches`). Areas declare their own rebuilders
and repair kinds in their AREA; this area runs the waiting repairs every minute.
"""
from services.platform.areas import Area, Periodic

AREA = Area("index", periodic=(Periodic("redis.repair", "services.index.redis_repair.repair_waiting", 60),))
