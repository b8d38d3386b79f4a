"""audit-ledger in tests: run it, corrupt a row for a moment, expect a report."""
from contextlib import contextmanager

from sqlalchemy import text

from models import db
from services.platform.db import transaction


@contextmanager
def corrupted(breaking: str, mending: str, **params):
    """The books broken by one statement while the block runs, mended by another after it."""
    with transaction():
        db.session.execute(text(breaking), params)
    try:
        yield
    finally:
        with transaction():
            db.session.execute(text(mending), params)


def audit(app):
    """(exit code, everything audit-ledger printed)."""
    result = app.test_cli_runner().invoke(args=["audit-ledger"])
    return result.exit_code, result.output


def assert_reported(app, *names: str) -> None:
    code, output = audit(app)
    assert code == 1, output
    problems = [line for line in output.splitlines() if line.startswith("PROBLEM")]
    for name in names:
        assert any(name in line for line in problems), (name, output)
