"""Reports from a read replica. DATABASE_REPLICA_URL, when set, is the Flask-SQLAlchemy bind "replica" (the
primary's pool options, its sessions read only); report_reads() sends every statement of db.session there,
and to the primary when no replica is configured, in read-only transactions either way.

Reports are the daily figures, the console's lists and the exports: what an operator browses, which may lag
the primary by the replica's delay. Nothing that writes or decides money reads a replica: a unit of work
(db.transaction) inside report_reads() is refused, and so is any flush of the ORM's changes.
"""
from contextlib import contextmanager
from functools import wraps

from sqlalchemy import event
from sqlalchemy.engine import Engine

from config import REPLICA_BIND
from models import PINNED_BIND, db
from services.platform.db import IN_UNIT_OF_WORK, READING_REPORTS, WorkInReports


def init_app(app) -> None:
    """SQLite has no read-only session setting: the replica's connections refuse writes as they open."""
    with app.app_context():
        replica = db.engines.get(REPLICA_BIND)
    if replica is not None and replica.dialect.name == "sqlite":
        event.listen(replica, "connect", _sqlite_query_only)


def report_engine() -> Engine:
    """The engine report reads go to: the replica when one is configured, else the primary."""
    return db.engines.get(REPLICA_BIND) or db.engine


@contextmanager
def report_reads():
    """Inside, every statement of db.session (lazy loads and refreshes too) reads the report engine, in
    read-only transactions. Refused inside a unit of work, or with changes not yet flushed; afterwards the
    rows read are expired, so later reads of them go to the primary again."""
    session = db.session
    if session.info.get(READING_REPORTS):
        yield
        return
    if session.info.get(IN_UNIT_OF_WORK) or session.new or session.dirty or session.deleted:
        raise WorkInReports("report_reads() inside a unit of work: its reads are the primary's")
    engine = report_engine()
    if engine is db.engine:
        session.rollback()  # the primary's next transaction begins read only (below)
    session.info.update({READING_REPORTS: True, PINNED_BIND: engine})
    try:
        yield
    finally:
        try:
            session.rollback()
        finally:
            session.info.pop(READING_REPORTS, None)
            session.info.pop(PINNED_BIND, None)


def for_reports(view):
    """A route that only reads a report: the whole of it (its reads and its answer's dump, which may load
    what the reads left unloaded) inside report_reads(). Put it below the operator's check, which reads
    the primary: a revoked operator is refused at once, whatever the replica says."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        with report_reads():
            return view(*args, **kwargs)
    wrapper.reads_reports = True  # kept by the decorators above it (functools.wraps): the list of report routes
    return wrapper


@event.listens_for(db.session, "after_begin")
def _read_only(session, _transaction, connection):
    if session.info.get(READING_REPORTS) and connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


@event.listens_for(db.session, "before_flush")
def _refuse_changes(session, _flush_context, _instances):
    if session.info.get(READING_REPORTS):
        raise WorkInReports("a change flushed inside report_reads(): reports only read")


def _sqlite_query_only(dbapi_connection, _record):
    dbapi_connection.execute("PRAGMA query_only = ON")
