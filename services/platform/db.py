"""One transaction per unit of work, work to run after it commits, and the settings that make SQLite behave."""
import logging
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm.util import identity_key

from models import IdempotencyRecord, db
from services.platform import clock
from services.platform.errors import Conflict, NotFound

log = logging.getLogger(__name__)

MAX_ID = 2**31 - 1  # the largest id a column holds (PostgreSQL's integer)

# the database could not be reached or took no more work: down, every pooled connection busy, a
# connection dropped (the HTTP layer answers 503 unavailable)
DATABASE_UNREACHABLE = (OperationalError, PoolTimeout, DisconnectionError)


IN_UNIT_OF_WORK = "in_unit_of_work"  # session.info key: a transaction() block is open


class NestedTransaction(RuntimeError):
    """transaction() inside transaction(): the inner commit would commit the outer block's work half-done."""


READING_REPORTS = "reading_reports"  # session.info key: a report_reads() block is open (services/platform/replica.py)


class WorkInReports(RuntimeError):
    """A unit of work inside report_reads(): reports read a replica that may lag (and may not be written), while
    a unit of work must read what it decides on, and write, on the primary."""


@contextmanager
def transaction():
    """Commit once when the block succeeds, roll everything back when it raises.

    One per unit of work, never nested: helpers called inside a unit of work only flush. A nested
    call raises NestedTransaction instead of committing the caller's work early; one inside report
    reads (which may be on a lagging replica) raises WorkInReports.
    """
    if db.session.info.get(IN_UNIT_OF_WORK):
        raise NestedTransaction("transaction() is already open: helpers flush, the outer block commits")
    if db.session.info.get(READING_REPORTS):
        raise WorkInReports("transaction() inside report_reads(): a unit of work reads and writes the primary")
    if db.engine.dialect.name == "sqlite":
        # End any read transaction (auth lookups): a writing one must begin holding the write lock.
        db.session.commit()
        db.session.connection(execution_options={"sqlite_immediate": True})
    db.session.info[IN_UNIT_OF_WORK] = True
    try:
        try:
            yield db.session
        finally:  # closed before the commit: after-commit work may open units of work of its own
            db.session.info.pop(IN_UNIT_OF_WORK, None)
        _note_keyed_work()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


KEYED_REQUEST = "idempotency_record"  # session.info: the Idempotency-Key record of the request being served


def _note_keyed_work() -> None:
    """Mark the request's Idempotency-Key as having committed work, in the work's own transaction, once."""
    record_id = db.session.info.pop(KEYED_REQUEST, None)
    if record_id is not None:
        db.session.execute(IdempotencyRecord.__table__.update().where(IdempotencyRecord.id == record_id)
                           .values(work_committed_at=clock.now()))


@contextmanager
def duplicates_conflict(message: str, code: str):
    """Around a unit of work that writes unique fields (a code, a threshold): a duplicate is a 409 with
    `code` instead of a database error."""
    try:
        yield
    except IntegrityError as exc:
        if "UNIQUE" not in str(exc.orig).upper() and "duplicate key" not in str(exc.orig):
            raise
        raise Conflict(message, code=code) from exc


def each_on_its_own(items, step, outcome: dict, *, what: str, label=str) -> dict:
    """Run `step(item)` for each item, counting `outcome[what step returned]`. An item whose step raises is
    rolled back, logged and counted under "errors", and the items after it still get their turn."""
    for item in items:
        try:
            outcome[step(item)] += 1
        except Exception:  # the peer away, or a fault of this item
            db.session.rollback()
            log.warning("%s %s not settled this time", what, label(item), exc_info=True)
            outcome["errors"] += 1
    return outcome


def execute_prebuilt(statement, **params) -> CursorResult:
    """Execute a prebuilt Core statement in the current transaction, pending ORM changes flushed first.

    For the hottest writes (signing in, earning): a statement built once at import, with bind
    parameters, skips the ORM's unit of work and the statement's cache key, a few hundred
    microseconds each. Bind parameter names must not be column names (an UPDATE would SET them).
    """
    db.session.flush()
    return db.session.connection().execute(statement, params)


_INSERTS_ONCE = {}  # (dialect, table, key) -> INSERT … ON CONFLICT (key) DO NOTHING RETURNING id


def insert_once(table, *, key: str | None = "business_key", **values) -> int | None:
    """Insert a row unless one with the same unique `key` exists (PostgreSQL and SQLite): the new
    row's id, or None. A parallel insert of the same key is waited for, not raced. key=None: unless
    any of the table's unique keys is taken."""
    dialect = db.engine.dialect.name
    if (dialect, table, key) not in _INSERTS_ONCE:
        insert = {"postgresql": postgresql, "sqlite": sqlite}[dialect].insert(table)
        _INSERTS_ONCE[dialect, table, key] = (insert.on_conflict_do_nothing(index_elements=[key] if key else None)
                                              .returning(table.c.id))
    return execute_prebuilt(_INSERTS_ONCE[dialect, table, key], **values).scalar()


def for_update(statement, **options):
    """`statement` as SELECT … FOR UPDATE whose rows are read as the database has them now: the session
    would otherwise hand back its cached copy of a row it loaded earlier, and a decision taken on it
    would be on stale data. The one way services take row locks (`options`: of=, skip_locked=)."""
    return statement.with_for_update(**options).execution_options(populate_existing=True)


def get_row(model, primary_key, *, missing: str, owner: int | None = None):
    """The row of `model` with this primary key, read without a lock; NotFound(`missing`) when there is
    none, or, given the `owner` member's id, when it belongs to another member (someone else's row
    reads as absent)."""
    row = db.session.get(model, primary_key)
    if row is None or (owner is not None and row.member_id != owner):
        raise NotFound(missing)
    return row


def lock_row(model, primary_key, *, missing: str | None = None):
    """The row of `model` with this primary key, locked for the rest of the transaction (SELECT … FOR
    UPDATE) and read as the database has it now, not as the session last saw it. None when there is
    no such row, or NotFound(`missing`) when a message is given."""
    row = db.session.get(model, primary_key, with_for_update=True, populate_existing=True)
    if row is None and missing:
        raise NotFound(missing)
    return row


def lock_one(statement, *, missing: str | None = None, **options):
    """The one row `statement` selects (by a unique key other than the primary key), locked and read
    afresh like lock_row; None, or NotFound(`missing`), when there is none."""
    row = db.session.scalar(for_update(statement, **options))
    if row is None and missing:
        raise NotFound(missing)
    return row


def lock_all(statement, **options) -> list:
    """Every row `statement` selects, locked and read afresh like lock_row."""
    return list(db.session.scalars(for_update(statement, **options)))


def expire_loaded(model, primary_key) -> None:
    """Expire the session's loaded copy of a row a Core statement changed: the ORM must not work from,
    or write back, the values it had before."""
    loaded = db.session.identity_map.get(identity_key(model, primary_key))
    if loaded is not None:
        db.session.expire(loaded)


AFTER_COMMIT = "after_commit"  # session.info key: {name: (flush, items)} waiting for the commit


def after_commit(name: str, item, flush) -> None:
    """Keep `item` until the current transaction commits, then call `flush(items)` once with every
    item kept under `name`; a rollback drops them. For side effects (Redis, queues) that must follow
    the data, never precede it."""
    pending = db.session.info.setdefault(AFTER_COMMIT, {})
    pending.setdefault(name, (flush, []))[1].append(item)


@event.listens_for(db.session, "after_commit")
def _run_after_commit(session):
    if session.in_nested_transaction():
        return  # a savepoint released: the outer transaction may still roll back
    for name, (flush, items) in session.info.pop(AFTER_COMMIT, {}).items():
        try:
            flush(items)
        except Exception:  # the data is committed: a side effect failing must not undo the answer
            log.exception("after-commit work %r failed", name)


TRANSACTION_SCOPED = "transaction_scoped"  # session.info key: {name: dict} forgotten when the transaction ends


def transaction_scoped(name: str) -> dict:
    """A dict that lives as long as the current database transaction (e.g. the rows it has locked)."""
    return db.session.info.setdefault(TRANSACTION_SCOPED, {}).setdefault(name, {})


@event.listens_for(db.session, "after_transaction_end")
def _drop_after_rollback(session, transaction):
    if transaction.parent is None:
        session.info.pop(AFTER_COMMIT, None)  # still there only if the transaction did not commit
        session.info.pop(TRANSACTION_SCOPED, None)


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
