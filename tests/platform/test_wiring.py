"""The layout's promises: every area is wired once, the same in the web app, the worker and the CLI;
no import circle between the app and the services; transaction() never nests."""
import ast
import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from rq import Queue
from sqlalchemy import func, select

import services
from models import AuditLog, db
from services.platform import jobs, worker
from services.platform.areas import PARTS, collect, describe, wiring
from services.platform.db import NestedTransaction, transaction
from tests.support.imports import imported_modules

ROOT = Path(__file__).resolve().parents[2]


def _area_packages():
    """Every package under services/ that declares an AREA (found by walking, not from the list)."""
    for info in pkgutil.iter_modules(services.__path__, "services."):
        if info.ispkg and hasattr(module := importlib.import_module(info.name), "AREA"):
            yield module


def _expected():
    expected = {part: set() for part in PARTS}
    for package in _area_packages():
        area = package.AREA
        expected["periodic"] |= {job.name for job in area.periodic}
        for part in PARTS[1:]:
            expected[part] |= set(getattr(area, part))
    return expected


def test_every_area_package_is_in_the_one_list():
    declared = sorted(package.AREA.name for package in _area_packages())
    assert declared == sorted(area.name for area in services.AREAS)
    assert all(any(package.AREA is area for area in services.AREAS) for package in _area_packages())


def test_the_web_app_wires_every_contribution_of_every_area(app):
    wired = wiring()
    for part, names in _expected().items():
        assert set(getattr(wired, part)) == names, part
    assert all(callable(fn) for part in ("rebuilders", "repairers", "audit_checks", "board_sources")
               for fn in getattr(wired, part).values())
    assert all(callable(getattr(kind, hook)) for kind in wired.payment_kinds.values()
               for hook in ("paid", "closed", "refunded"))


def test_a_contribution_named_twice_is_refused():
    with pytest.raises(ValueError, match="contributed twice"):
        collect([*services.AREAS, services.AREAS[0]])


def test_the_cli_wires_every_area():
    shown = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "areas"], cwd=ROOT, check=True,
                           capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert shown.strip() == describe().strip()


def test_the_worker_runs_each_job_in_its_own_app_with_every_area(app):
    """A forking worker (as `flask worker` runs) given the app: the job sees the same wiring."""
    q = Queue("wiring-test", connection=jobs.get_redis())
    job = q.enqueue(jobs.run_job, "services.platform.areas.describe")
    worker.AppWorker([q], connection=jobs.get_redis(), app=app).work(burst=True, logging_level="WARNING")
    assert job.get_status(refresh=True) == "finished"
    assert job.return_value() == describe()


def test_services_never_import_the_app_or_the_http_layer():
    for path in (ROOT / "services").rglob("*.py"):
        for module in imported_modules(path):
            assert module.split(".")[0] not in ("app", "blueprints", "commands"), (path, module)


def test_an_area_imports_another_only_through_its_modules():
    """Cross-area imports name an area's module (services.ledger.points), never a private name."""
    for path in (ROOT / "services").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("services."):
                assert not any(alias.name.startswith("_") for alias in node.names), (path, node.module)


def test_nested_transaction_raises_and_commits_nothing_of_the_outer_block():
    before = db.session.scalar(select(func.count()).select_from(AuditLog))
    with pytest.raises(NestedTransaction):
        with transaction():
            db.session.add(AuditLog(operator_id=None, action="test.nested", target_type="test", target_id="1",
                                    reason=None, details={}))
            with transaction():
                pass
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == before


def _row_lock_calls(path: Path):
    """Where a module takes a row lock itself: `.with_for_update(…)` or a `with_for_update=` argument."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr == "with_for_update":
            yield node.lineno
        elif isinstance(node, ast.keyword) and node.arg == "with_for_update":
            yield node.value.lineno


def test_row_locks_are_taken_only_through_the_helpers_that_read_the_row_afresh():
    """A bare FOR UPDATE hands back the session's cached copy of a row loaded earlier in the request: a
    payment notified paid meanwhile still looked pending and was closed with the money kept."""
    helpers = ROOT / "services" / "platform" / "db.py"
    bare = [f"{path.relative_to(ROOT)}:{line}" for path in (ROOT / "services").rglob("*.py") if path != helpers
            for line in _row_lock_calls(path)]
    assert bare == [], "lock rows with services.platform.db.lock_row / lock_one / lock_all / for_update"
    assert list(_row_lock_calls(helpers)), "the helpers themselves are found by the same search"
