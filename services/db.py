"""One transaction per unit of work, and the engine settings that make SQLite behave."""
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

from models import db


@contextmanager
def transaction():
    """Commit once when the block succeeds, roll everything back when it raises."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise



@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, _record):
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    # Let us issue BEGIN ourselves (below) instead of pysqlite's lazy, deferred one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name == "sqlite":
        # IMMEDIATE takes the write lock up front: a read-then-write transaction can then never
        # fail half-way with SQLITE_BUSY, which is SQLite's stand-in for row locks.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
