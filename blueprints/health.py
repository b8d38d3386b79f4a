"""GET /healthz at the root: is the database there, is Redis there; GET /bench/bare for the benchmark."""
from flask import Blueprint, jsonify

from services.platform import health

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """Liveness and dependencies: 200 when the database and Redis answer, 503 otherwise."""
    report = health.check()
    return jsonify(report), 200 if report["status"] == "ok" else 503


@blp.get("/bench/bare")
def bench_bare():
    """A bare JSON answer touching neither the database nor Redis: the benchmark's yardstick."""
    return jsonify({"ok": True})
