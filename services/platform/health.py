"""Health: can we reach the database and Redis (liveness, /healthz); and is the schema the code's
(readiness, /readyz: a host whose database is not yet migrated takes no traffic)."""
import functools
import logging
from pathlib import Path

import redis
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
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
    """check()'s, and "migrations": "ok" at the code's head revisions; "ahead" when the database is at a
    revision this code does not know (a newer release migrated it: expand-and-contract migrations keep
    the code before them working, so a host of the old release still serves while the hosts roll);
    "behind" when an upgrade is due (not ready); "error" when it cannot be read."""
    report = check()
    del report["status"]
    migrations = _migrations()
    ready = {**report, "migrations": "ok" if migrations == "ahead" else migrations}
    return {**_report(**ready), "migrations": migrations}


def _report(**parts: str) -> dict:
    return {"status": "ok" if set(parts.values()) == {"ok"} else "error", **parts}


def _database():
    db.session.execute(text("SELECT 1"))
    db.session.rollback()


def _migrations() -> str:
    try:
        with db.engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError:
        log.exception("readiness: the database's revision could not be read")
        return "error"
    script = _script(str(Path(current_app.root_path) / current_app.extensions["migrate"].directory))
    if current == frozenset(script.get_heads()):
        return "ok"
    if any(_unknown(script, revision) for revision in current):
        return "ahead"
    log.warning("readiness: the database is at %s, behind the code", sorted(current))
    return "behind"


@functools.cache
def _script(directory: str) -> ScriptDirectory:
    return ScriptDirectory(directory)


def _unknown(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is None
    except CommandError:
        return True


def _probe(fn) -> str:
    try:
        fn()
        return "ok"
    except (SQLAlchemyError, redis.RedisError, OSError, RuntimeError):
        log.exception("health probe failed")
        db.session.rollback()
        return "error"
