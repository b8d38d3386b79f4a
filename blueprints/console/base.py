"""What every console page shares: the blueprint, the signed-in operator (from the session cookie, checked
like a bearer token: the same roles and revocation), CSRF on every change, and error pages."""
from datetime import datetime
from functools import wraps

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from blueprints.console import i18n
from models import db
from services.members import operators
from services.platform import clock, tokens
from services.platform.errors import Forbidden, ServiceError, Unauthorized

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")
csrf = CSRFProtect()
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def csrf_field() -> str:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
MENU: list[tuple[str, str, str]] = []  # (group, title, endpoint), in the order the modules add them


def menu_entry(group: str, title: str):
    """Lists a page in the console's menu under `group` ("" for the top level)."""
    def decorator(view):
        MENU.append((group, title, f"{bp.name}.{view.__name__}"))
        return view
    return decorator


@bp.before_request
def protect_changes():
    # Flask-WTF caches the token in g, and the API's routes their operator: a request inside an app context
    # that outlives it (the tests') must not take what an earlier request left there
    g.pop(csrf_field(), None)
    g.pop("operator", None)
    i18n.choose_language()
    if request.method not in SAFE_METHODS:
        csrf.protect()


@bp.app_context_processor
def console_globals():
    return {"t": i18n.translate, "lang": g.get("lang", i18n.DEFAULT), "operator": g.get("operator"), "menu": MENU}


@bp.app_template_filter("shown")
def shown(value):
    """A value as a table cell shows it: an instant in business time to the second, nothing as "—"."""
    if value is None:
        return "—"
    return clock.local(value).strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value


def render(template: str, status: int = 200, **context):
    return render_template(f"console/{template}", **context), status


def answer_form(form, *, done: str, page: str, **context):
    """A form's answer: once done, to `done` with "Saved." (htmx is told with HX-Redirect); otherwise 422
    with the form and its messages (just the form for htmx, which swaps it in place; else the whole page)."""
    if form.ok:
        flash(i18n.translate("Saved."))
        if request.headers.get("HX-Request"):
            return "", 200, {"HX-Redirect": done}
        return redirect(done, 303)
    if request.headers.get("HX-Request"):
        return render("_form_only.html", 422, form=form, action=request.path, id=request.headers.get("HX-Target"))
    return render(page, 422, form=form, **context)


def sign_in(token: str) -> None:
    session.clear()
    session["token"] = token


def operator_page(view=None, *, write: bool = False):
    """The view runs for a signed-in operator (g.operator); `write`: admins only, a viewer gets 403.
    Without a valid session a page redirects to the login (htmx is told to, with HX-Redirect)."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:
                claims = tokens.verify(session.get("token") or "-")
                if claims.kind != "operator":
                    raise Unauthorized()
                g.operator = operators.authenticate(claims, write=write)
                g.principal = f"operator:{claims.id}"  # the access line names who
            except Unauthorized:
                session.pop("token", None)
                return _to_login()
            return view(*args, **kwargs)
        return wrapper
    return decorator(view) if view else decorator


def _to_login():
    target = url_for("console.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def _error_page(status: int, title: str, message: str):
    db.session.rollback()
    return render("error.html", status, title=i18n.translate(title), message=i18n.translate(message))


@bp.errorhandler(CSRFError)
def refused_without_token(_error):
    return _error_page(400, "Refused",
                       "The form expired or was not sent from the console; reload the page and try again.")


@bp.errorhandler(Forbidden)
def not_allowed(error):
    return _error_page(403, "Not allowed", error.message)


@bp.errorhandler(ServiceError)
def business_rule(error):
    return _error_page(error.status, "Refused", error.message)


@bp.errorhandler(HTTPException)
def http_error(error):
    return _error_page(error.code or 500, error.name, error.description or "")
