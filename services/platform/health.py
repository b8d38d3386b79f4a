"""Health: can we reach the database and Redis."""
import logging

import redis
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from models import db
from services.platform.redis_client import get_redis

log = logging.getLogger(__name__)


def check() -> dict:
    """{"status", "database", "redis"}: each "ok" or "error"."""
    report = {"database": _probe(_database), "redis": _probe(lambda: get_redis().ping())}
    report["status"] = "ok" if set(report.values()) == {"ok"} else "error"
    return {"status": report["status"], "database": report["database"], "redis": report["redis"]}


def _database():
    db.session.execute(text("SELECT 1"))
    db.session.rollback()


def _probe(fn) -> str:
    try:
        fn()
        return "ok"
    except (SQLAlchemyError, redis.RedisError, OSError, RuntimeError):
        log.exception("health probe failed")
        db.session.rollback()
        return "error"
