"""The application factory: config, extensions, the error envelope, blueprints and CLI commands."""
import logging
import uuid

from flask import Flask, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from flask_migrate import Migrate
from flask_smorest import Api
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix

from blueprints.common import ErrorSchema
from config import load_config
from models import db
from services import AREAS, wechat
from services.platform import areas, clock, deploy_checks, log_scrub, redis_client, replica, request_log
from services.platform.db import DATABASE_UNREACHABLE
from services.platform.errors import ServiceError, Unavailable

log = logging.getLogger(__name__)
CONSOLE_PATH = "/console"
migrate = Migrate()

HTTP_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "invalid_request",
              422: "invalid_request", 429: "rate_limited"}


def error_body(status: int, code: str, message: str, details: dict | None = None):
    return jsonify({"error": {"code": code, "message": message, "details": details or {}}}), status


class EnvelopeApi(Api):
    """flask-smorest's Api answering every HTTP error with the contract's envelope."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException):
        if isinstance(error, InternalServerError):
            return _internal_error(error.original_exception or error)
        data = getattr(error, "data", {}) or {}
        details = data.get("messages") or data.get("errors") or {}
        # webargs nests errors by location ("json", "query"); one location needs no extra level
        if isinstance(details, dict) and len(details) == 1 and next(iter(details)) in ("json", "query", "form"):
            details = next(iter(details.values()))
        if not isinstance(details, dict):  # a whole-body error ("Invalid JSON body."): details stay an object
            details = {"body": details}
        message = data.get("message") or error.description or error.name
        if error.code == 422:
            message = "The request did not pass validation."
        response, status = error_body(error.code, HTTP_CODES.get(error.code, "http_error"), message, details)
        if error.code == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response, status


class ConsoleOnlySession(SecureCookieSessionInterface):
    """Bearer tokens say who calls the API, never a cookie: only the operator console (/console) has a
    session, in a signed HttpOnly, SameSite=Lax cookie scoped to its path."""

    def open_session(self, app, request):
        if not request.path.startswith(CONSOLE_PATH):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if not request.path.startswith(CONSOLE_PATH):
            return None
        return super().save_session(app, session, response)


def _internal_error(exc):
    request_id = request_log.current_id() or uuid.uuid4().hex
    log.error("unhandled error %s on %s %s", request_id, request.method, request.path, exc_info=exc)
    db.session.rollback()
    return error_body(500, "internal_error", "Something went wrong on our side.", {"request_id": request_id})


def _service_error(error: ServiceError):
    db.session.rollback()
    response, status = error_body(error.status, error.code, error.message, error.details)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response, status


def _database_unreachable(exc):
    """The database cannot be reached (down, or every connection busy): 503, try again shortly."""
    log.error("database unreachable on %s %s: %s", request.method, request.path, exc)
    db.session.rollback()
    return _service_error(Unavailable("The service cannot reach its database; try again shortly."))


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    load_config(app, test_config)
    log_scrub.install()
    request_log.install_logging(app.config["LOG_FORMAT"])
    deploy_checks.refuse_sandbox_secrets(app.config)
    app.json.ensure_ascii = False
    app.json.sort_keys = False  # answers in their schema's order, as the hot reads render them
    if app.config["PROXY_HOPS"]:  # behind a load balancer: the client's address is in X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"], x_proto=app.config["PROXY_HOPS"])
    app.config.update(SESSION_COOKIE_PATH=CONSOLE_PATH, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_NAME="console_session")
    app.session_interface = ConsoleOnlySession()

    db.init_app(app)
    replica.init_app(app)
    migrate.init_app(app, db, directory="migrations", render_as_batch=True, compare_type=True)
    clock.init_app(app)
    redis_client.init_app(app)
    wechat.init_app(app)
    areas.wire(app, AREAS)

    api = EnvelopeApi(app, spec_kwargs={"components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer"}}}})
    app.register_error_handler(ServiceError, _service_error)
    for unreachable in DATABASE_UNREACHABLE:
        app.register_error_handler(unreachable, _database_unreachable)
    app.register_error_handler(Exception, _internal_error)
    # A request's unit of work ends with the request, even inside an app context that outlives it.
    app.teardown_request(lambda _exc: db.session.remove())
    request_log.init_app(app)  # before the edge's checks: a request they refuse has its id and line too

    from blueprints import edge, register_blueprints
    edge.init_app(app)
    register_blueprints(app, api)

    from commands import register_commands
    register_commands(app)
    return app
