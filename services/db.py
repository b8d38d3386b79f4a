"""One transaction per unit of work, and the engine settings that make SQLite behave."""
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

from models import db


@contextmanager
def transaction():
    """Commit once when the block succeeds, roll everything back when it raises."""
    if db.engine.dialect.name == "sqlite":
        # End any read transaction (auth lookups): a writing one must begin holding the write lock.
        db.session.commit()
        db.session.connection(execution_options={"sqlite_immediate": True})
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
        # A unit of work begins IMMEDIATE, taking the write lock up front: its read-then-write can
        # then never fail half-way with SQLITE_BUSY. That lock is SQLite's stand-in for row locks.
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
