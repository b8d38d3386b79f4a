"""GET /healthz at the root: is the database there, is Redis there."""
from flask import Blueprint, jsonify

from services import health

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """Liveness and dependencies: 200 when the database and Redis answer, 503 otherwise."""
    report = health.check()
    return jsonify(report), 200 if report["status"] == "ok" else 503
