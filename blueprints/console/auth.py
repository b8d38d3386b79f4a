"""Signing in and out of the console: the API's operator login (throttled alike) kept in the session."""
from flask import g, redirect, request, session, url_for

from blueprints.common import client_address
from blueprints.console.base import bp, operator_page, render, sign_in
from services.members import operators
from services.platform.errors import Unauthorized
from services.platform.ratelimit import RateLimited


@bp.get("/login")
def login():
    return render("login.html", next=_safe_next())


@bp.post("/login")
def submit_login():
    username, password = request.form.get("username", ""), request.form.get("password", "")
    try:
        token = operators.login(username=username[:64], password=password[:256], client_address=client_address())
    except Unauthorized:
        return render("login.html", 401, error="Wrong account or password.", username=username, next=_safe_next())
    except RateLimited:
        return render("login.html", 429, error="Too many failed sign-ins; try again later.", username=username,
                      next=_safe_next())
    sign_in(token)
    return redirect(_safe_next() or url_for("console.dashboard"))


@bp.post("/logout")
@operator_page
def logout():
    """Ends the session and, like the API's logout, revokes every token of this operator."""
    operators.revoke_tokens(g.operator, g.operator.id)
    session.clear()
    return redirect(url_for("console.login"))


def _safe_next() -> str | None:
    """Where to go after signing in: a console path only, never another host."""
    target = request.values.get("next") or ""
    return target if target.startswith("/console/") and not target.startswith("//") else None
