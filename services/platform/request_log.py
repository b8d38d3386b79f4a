"""Each request's id and its one access line; log lines as JSON objects that carry the id.

The id is the caller's `X-Request-Id` when it is a plain token (a load balancer's, a client's retry),
otherwise a new one. It is answered in `X-Request-Id`, put on every log record made while the request
runs (a context variable: each thread and each job has its own) and handed to the jobs the request
queues (services.platform.jobs), so one id follows a payment from its request into the worker.
"""
import contextvars
import logging
import re
import sys
import time
import uuid

from flask import g, request
from pythonjsonlogger.json import JsonFormatter

from services.platform import metrics

REQUEST_ID = contextvars.ContextVar("request_id", default=None)
HEADER = "X-Request-Id"
_PLAIN_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}\Z")
_PRINCIPAL_FIELDS = {"member": "member_id", "guide": "guide_id", "operator": "operator_id"}

access_log = logging.getLogger("loyalty.access")


def current_id() -> str | None:
    """The id of the request (or job) this thread is serving, if any."""
    return REQUEST_ID.get()


class JsonLines(JsonFormatter):
    """One JSON object per line: time, level, logger, message, the request id, and what the record carries
    in `extra` (the access line's route, status, duration…); a traceback as `exc_info`, scrubbed like the
    message (services.platform.log_scrub)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__("%(asctime)s %(levelname)s %(name)s %(process)d %(message)s", *args, **kwargs)

    def add_fields(self, log_record, record, message_dict):
        super().add_fields(log_record, record, message_dict)
        if record.exc_text and "exc_info" in log_record:  # log_scrub's scrubbed text, never a fresh one
            log_record["exc_info"] = record.exc_text
        if "request_id" not in log_record and (request_id := REQUEST_ID.get()) is not None:
            log_record["request_id"] = request_id


def install_logging(log_format: str) -> None:
    """Send log records to stderr, as JSON lines (LOG_FORMAT=json) or plain text, at INFO, unless the
    root logger already has a handler (gunicorn's logconfig in gunicorn.conf.py, pytest's capture)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if log_format == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def begin_request() -> None:
    """before_request, first of all: the request's id and start."""
    given = request.headers.get(HEADER, "")
    g.request_id = given if _PLAIN_ID.match(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    REQUEST_ID.set(g.request_id)


def route() -> str:
    """The route's rule (`/api/v1/mall/orders/<int:order_id>`), never the path: one label per route."""
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def end_request(response):
    """after_request: the id answered, the request measured (services.platform.metrics) and logged."""
    request_id = getattr(g, "request_id", None)
    if request_id is None:  # a response made before begin_request ran (none today)
        return response
    response.headers[HEADER] = request_id
    seconds, rule = time.perf_counter() - g.request_started, route()
    metrics.observe_request(request.method, rule, response.status_code, seconds)
    fields = {"method": request.method, "path": request.path, "route": rule, "status": response.status_code,
              "duration_ms": round(seconds * 1000, 2)}
    kind, _, principal_id = (getattr(g, "principal", None) or "").partition(":")
    if kind in _PRINCIPAL_FIELDS and principal_id.isdigit():
        fields[_PRINCIPAL_FIELDS[kind]] = int(principal_id)
    access_log.info("%s %s %s", request.method, request.path, response.status_code, extra=fields)
    return response


def forget_request(_exc) -> None:
    """teardown_request: the thread serves no request until the next one begins."""
    REQUEST_ID.set(None)


def init_app(app) -> None:
    """Wire the id and the access line in: before any other before_request, so a refused request has them."""
    app.before_request(begin_request)
    app.after_request(end_request)
    app.teardown_request(forget_request)
