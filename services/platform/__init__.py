"""Platform: the pieces every area stands on; none of them knows any area.

- clock: the one source of time (`now`, `today`, `period_key`), movable by tests.
- db: `transaction()` (one per unit of work, never nested), `after_commit`, `insert_once`,
  `execute_prebuilt` and `expire_loaded` for the hot Core statements; the only row locks
  (`lock_row`, `lock_one`, `lock_all`, `for_update`), each reading the row afresh.
- errors: `ServiceError` and its kinds; app.py turns them into the contract's envelope.
- tokens, ratelimit, replay_guard (callbacks' timestamps and nonces), idempotency (Idempotency-Key),
  pagination (`page`, `page_where`), rendered (`RawJSON`),
  snapshots (process copies of rarely changed config), business_keys (a repeat returns the first
  entry), audit_trail (`record` an operator's change).
- jobs: `enqueue`, the worker and the periodic tick; areas: `Area`, `Periodic`, `wiring()`.
- redis_client (`get_redis`, `thread_client`), embedded_redis, health.
Prunes old Idempotency-Keys daily.
"""
from services.platform.areas import Area, Periodic

AREA = Area("platform", periodic=(Periodic("idempotency.prune", "services.platform.idempotency.prune", 86400),))
