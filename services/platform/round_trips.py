"""Fewer round trips to PostgreSQL for the hottest units of work (sign-in, earning, GET /me).

Each statement sent on its own costs a round trip and SQLAlchemy's per-statement work, more than the
statement itself on these paths. Here:

- `together(*calls)` runs several Core statements of the current transaction in one round trip
  (psycopg's pipeline mode) and hands back each one's rows as named tuples;
- `later(statement, **params)` queues a write whose result nobody reads: it rides with the
  transaction's next round trip (a `together`, an execute_prebuilt, any ORM statement) or, at the
  latest, with its COMMIT. Use it only where no error is expected (the caller already holds the row
  lock or unique row that makes the write safe): an error surfaces at that next round trip.

A statement is compiled once per shape (its parameter names). On other databases (SQLite, in process,
where a round trip costs nothing) the statements simply run one after another through SQLAlchemy.
"""
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from models import db
from services.platform.db import IN_UNIT_OF_WORK

LATER = "round_trips_later"  # session.info key: [(statement, params)] waiting for the next round trip
_COMPILED = {}  # (statement, parameter names, dialect) -> (compiled, SQL text, bind processors)
COMPILED_LIMIT = 1024  # statements are built once at import: more shapes than this means some are not


@dataclass(frozen=True)
class Read:
    """What an area reads, as statements and how their rows become its value, so that one round trip
    can serve several areas' reads (GET /me): `calls` are (statement, params) pairs, and
    `shape(*rows)` gets each call's rows (named tuples)."""

    calls: tuple
    shape: Callable


def read(*reads: Read) -> list:
    """The value of each read, from one round trip. Outside a unit of work (a GET's reads), the
    transaction the reads began ends in the same round trip: nothing is left to roll back after."""
    calls = [call for each in reads for call in each.calls]
    rows = together(*calls, end=None if db.session.info.get(IN_UNIT_OF_WORK) else "ROLLBACK")
    values, at = [], 0
    for each in reads:
        values.append(each.shape(*rows[at:at + len(each.calls)]))
        at += len(each.calls)
    return values


def together(*calls: tuple, end: str | None = None) -> list[list]:
    """Run `(statement, params)` calls in the current transaction in one round trip (with any writes
    waiting from `later` first); the rows each returned (named tuples), in order. `end`: "COMMIT" or
    "ROLLBACK" after them, in the same round trip."""
    db.session.flush()
    waiting = db.session.info.pop(LATER, [])
    results = _run([*waiting, *calls], end=end)
    return results[len(waiting):]


def later(statement, **params) -> None:
    """Queue a write for the transaction's next round trip (see the module's note)."""
    if db.engine.dialect.driver != "psycopg":
        db.session.flush()
        db.session.connection().execute(statement, params)
        return
    if not db.session().in_transaction():
        db.session.connection()  # begun, so that a rollback ends it and drops what waits (below)
    db.session.info.setdefault(LATER, []).append((statement, params))


def send_waiting(*, commit: bool = False) -> None:
    """Send the writes `later` queued, if any (with the COMMIT after them when `commit`: the commit that
    follows then finds nothing left to do)."""
    if waiting := db.session.info.pop(LATER, None):
        _run(waiting, end="COMMIT" if commit else None)


def _run(calls: list, *, end: str | None = None) -> list[list]:
    connection = db.session.connection()
    if connection.dialect.driver != "psycopg":
        return [_rows(connection.execute(statement, params)) for statement, params in calls]
    raw = connection.connection.driver_connection
    cursors, sent = [], []
    try:
        with raw.pipeline():
            for statement, params in calls:
                sql, bound = _bound(statement, params, connection.dialect)
                cursor = raw.cursor(row_factory=namedtuple_row)
                if connection.dispatch.before_cursor_execute:  # the engine's listeners see every statement
                    connection.dispatch.before_cursor_execute(connection, cursor, sql, bound, None, False)
                cursor.execute(sql, bound)
                cursors.append(cursor)
                sent.append((sql, bound))
            if end:  # the transaction ends here: the commit or rollback that follows finds nothing to do
                raw.cursor().execute(end)
        return [cursor.fetchall() if cursor.description else [] for cursor in cursors]
    except psycopg.Error as exc:  # as SQLAlchemy would raise it (IntegrityError, OperationalError…)
        sql, bound = sent[-1] if sent else ("", {})
        raise DBAPIError.instance(sql, bound, exc, psycopg.Error) from exc


def _rows(result) -> list:
    return result.all() if result.returns_rows else []


def _bound(statement, params: dict, dialect) -> tuple[str, dict]:
    key = (statement, tuple(params), dialect.name)
    if (compiled := _COMPILED.get(key)) is None:
        if len(_COMPILED) >= COMPILED_LIMIT:
            _COMPILED.clear()
        query = statement.compile(dialect=dialect, column_keys=list(params))
        if query.post_compile_params:
            raise ValueError("a statement sent prebuilt cannot expand IN (…) parameters: write the values out")
        compiled = _COMPILED[key] = (query, query.string, query._bind_processors)
    query, sql, processors = compiled
    values = query.construct_params(params, _check=False)
    return sql, {name: processors[name](value) if name in processors else value for name, value in values.items()}


@event.listens_for(Engine, "before_cursor_execute")
def _send_waiting_first(conn, cursor, statement, parameters, context, executemany):
    """Any other statement of the transaction sees the writes queued before it."""
    session = db.session
    if session.info.get(LATER) and conn is session.connection():
        send_waiting()


@event.listens_for(db.session, "before_commit")
def _send_waiting_with_the_commit(session):
    send_waiting(commit=True)


@event.listens_for(db.session, "after_transaction_end")
def _drop_after_rollback(session, transaction):
    if transaction.parent is None:
        session.info.pop(LATER, None)  # still there only if the transaction did not commit
