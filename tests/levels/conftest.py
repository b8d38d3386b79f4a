"""Each level test has a database and a Redis of its own: the level policy is the brand's one setting,
and an evaluation lowers every member it finds, so no test may share them with another."""
import os
import tempfile
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import _app_in, unique


@pytest.fixture
def app(sandbox):
    overrides = {}
    server_url = os.environ.get("DATABASE_URL")
    if server_url:
        url = make_url(server_url)
        name = f"{url.database}_{unique('levels').replace('-', '_')}"
        admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        overrides["DATABASE_URL"] = url.set(database=name).render_as_string(hide_password=False)
    if redis_url := os.environ.get("REDIS_URL"):
        base, _, number = redis_url.rpartition("/")
        overrides["REDIS_URL"] = f"{base}/{int(number or 0) - 1 if int(number or 0) > 0 else 1}"
    try:
        with tempfile.TemporaryDirectory(prefix="loyalty-levels-") as folder:
            yield from _app_in(Path(folder), sandbox, overrides)
    finally:
        if server_url:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
