"""Apps for tests: the suite's, one on a database and a Redis of its own, and an app behind a real server."""
import os
import sqlite3
import tempfile
import threading
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg
from flask_migrate import upgrade
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from app import create_app
from config import REPLICA_BIND
from models import db
from services.ledger import audit
from services.platform import embedded_redis
from services.platform.redis_client import get_redis
from tests.support.api import unique


def app_in(instance, sandbox, overrides: dict | None = None):
    config = {
        "TESTING": True,
        "RATE_LIMITS_ENABLED": False,  # hundreds of logins from 127.0.0.1; tests of the limits turn them on
        "WECHAT_API_BASE_URL": sandbox.url,
        "WECHAT_PAY_BASE_URL": sandbox.url,
        "WECOM_API_BASE_URL": f"{sandbox.url}cgi-bin/",
    }
    if not os.environ.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'test.sqlite3'}"
    config.update(overrides or {})
    app = create_app(config, instance_path=str(instance))
    with app.app_context():
        upgrade(directory="migrations", revision="heads")
        get_redis().flushdb()
    yield app
    try:
        with app.app_context():
            problems = audit.check_books()["problems"]
            db.session.remove()
            for engine in db.engines.values():  # the replica's too
                engine.dispose()
        assert not problems, "audit-ledger after the suite:\n" + "\n".join(problems)
    finally:
        if not os.environ.get("REDIS_URL"):
            embedded_redis.stop(str(instance))


def app_of_its_own(sandbox, label: str, redis_db_below: int, overrides: dict | None = None, *,
                   replica: bool = False):
    """An app on a database and a Redis of its own (for tests that must share them with nobody): a new
    PostgreSQL database beside the suite's (dropped afterwards), or a SQLite file; with REDIS_URL, the
    Redis database `redis_db_below` below the suite's; then `overrides`. `replica`: DATABASE_REPLICA_URL
    names a second database beside it, empty until copy_to_replica() fills it."""
    overrides, server_url = {**(overrides or {})}, os.environ.get("DATABASE_URL")
    if server_url:
        url = make_url(server_url)
        name = f"{url.database}_{unique(label).replace('-', '_')}"
        with _server(url) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        overrides["DATABASE_URL"] = url.set(database=name).render_as_string(hide_password=False)
        if replica:
            overrides["DATABASE_REPLICA_URL"] = url.set(database=f"{name}_replica").render_as_string(
                hide_password=False)
    if redis_url := os.environ.get("REDIS_URL"):
        base, _, number = redis_url.rpartition("/")
        overrides.setdefault("REDIS_URL", f"{base}/{(int(number or 0) - redis_db_below) % 16}")
    try:
        with tempfile.TemporaryDirectory(prefix=f"loyalty-{label}-") as folder:
            if replica and not server_url:
                overrides["DATABASE_REPLICA_URL"] = f"sqlite:///{Path(folder) / 'replica.sqlite3'}"
            yield from app_in(Path(folder), sandbox, overrides)
    finally:
        if server_url:
            with _server(url) as conn:
                for dropped in (name, f"{name}_replica"):
                    conn.execute(f'DROP DATABASE IF EXISTS "{dropped}" WITH (FORCE)')


def copy_to_replica() -> None:
    """The replica becomes a copy of the primary as it is now (a replica that then lags behind): on
    PostgreSQL a database made from the primary as its template, which no one may be connected to while
    it is copied; on SQLite the file, through SQLite's backup."""
    db.session.remove()
    for engine in db.engines.values():
        engine.dispose()
    primary, replica = db.engine.url, db.engines[REPLICA_BIND].url
    if primary.get_backend_name() == "postgresql":
        with _server(primary) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{replica.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{replica.database}" TEMPLATE "{primary.database}"')
    else:
        with closing(sqlite3.connect(primary.database)) as source, closing(sqlite3.connect(replica.database)) as copy:
            source.backup(copy)


def _server(url):
    """An autocommit connection to the PostgreSQL server of `url` (its maintenance database)."""
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    return psycopg.connect(admin, autocommit=True)


@contextmanager
def serving(app):
    """The app behind a real threaded HTTP server on loopback: its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
