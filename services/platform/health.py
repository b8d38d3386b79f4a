"""Health: can we reach the database and Redis (liveness, /healthz); and is the schema the code's
(readiness, /readyz: a host whose database is not yet migrated takes no traffic)."""
import functools
import logging
from pathlib import Path

import redis
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from models import db
from services.platform.redis_client import get_redis

log = logging.getLogger(__name__)


def check() -> dict:
    """{"status", "database", "redis"}: each "ok" or "error"."""
    return _report(database=_probe(_database), redis=_probe(lambda: get_redis().ping()))


def readiness() -> dict:
    """check()'s, and "migrations": "ok" when the database is at the code's head revisions, "behind" when
    not (an upgrade is due or under way), "error" when it cannot be read."""
    report = check()
    del report["status"]
    return _report(**report, migrations=_probe(_migrations_at_head, failed="behind"))


def _report(**parts: str) -> dict:
    return {"status": "ok" if set(parts.values()) == {"ok"} else "error", **parts}


def _database():
    db.session.execute(text("SELECT 1"))
    db.session.rollback()


class _Behind(Exception):
    pass


def _migrations_at_head():
    with db.engine.connect() as connection:
        current = frozenset(MigrationContext.configure(connection).get_current_heads())
    directory = Path(current_app.root_path) / current_app.extensions["migrate"].directory
    if current != _heads_of(str(directory)):
        raise _Behind(f"database at {sorted(current)}")


@functools.cache
def _heads_of(directory: str) -> frozenset:
    return frozenset(ScriptDirectory(directory).get_heads())


def _probe(fn, failed: str = "error") -> str:
    try:
        fn()
        return "ok"
    except _Behind as behind:
        log.warning("readiness: migrations not at head: %s", behind)
        return failed
    except (SQLAlchemyError, redis.RedisError, OSError, RuntimeError):
        log.exception("health probe failed")
        db.session.rollback()
        return "error"
