"""At the root, for load balancers and Prometheus: GET /healthz (liveness), GET /readyz (readiness),
GET /metrics; GET /bench/bare for the benchmark."""
from flask import Blueprint, Response, jsonify

from blueprints.common import scraper_required
from services.platform import health, metrics

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """Liveness and dependencies: 200 when the database and Redis answer, 503 otherwise."""
    return _answer(health.check())


@blp.get("/readyz")
def readyz():
    """Readiness: /healthz's and the database's schema at the code's migrations; 503 until all are ok."""
    return _answer(health.readiness())


@blp.get("/metrics")
@scraper_required
def prometheus_metrics():
    """Prometheus' text format (operators' tokens or METRICS_TOKEN)."""
    return Response(metrics.exposition(), mimetype=metrics.CONTENT_TYPE)


@blp.get("/bench/bare")
def bench_bare():
    """A bare JSON answer touching neither the database nor Redis: the benchmark's yardstick."""
    return jsonify({"ok": True})


def _answer(report: dict):
    return jsonify(report), 200 if report["status"] == "ok" else 503
