"""Refuse to run for real with the development (sandbox's) secrets or the demo operator.

Outside the sandbox (WECHAT_APPID is a real app's) the development WeChat Pay key or AppSecret would
let anyone sign notifications or act as the app, and the demo operator's published password would
open the operator API: the app refuses to start with them.
"""
import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError
from werkzeug.security import check_password_hash

from config import DEVELOPMENT_WECHAT, on_sandbox
from models import Operator, db

DEMO_OPERATOR = ("demo-admin", "demo-admin-pass")


class UnsafeDeployment(RuntimeError):
    pass


def refuse_sandbox_secrets(config) -> None:
    """At create_app: a real app id with the sandbox's pay key or AppSecret is refused."""
    if on_sandbox(config):
        return
    leaked = [name for name in ("WECHAT_PAY_KEY", "WECHAT_SECRET") if config[name] == DEVELOPMENT_WECHAT[name]]
    if leaked:
        raise UnsafeDeployment(f"refusing to start: {', '.join(leaked)} still hold the sandbox's values "
                               f"while WECHAT_APPID is {config['WECHAT_APPID']!r}")


def refuse_demo_operator(config) -> None:
    """When serving starts (it reads the database, so never inside create_app): outside the sandbox, an
    active operator with the demo password is refused."""
    if on_sandbox(config):
        return
    username, password = DEMO_OPERATOR
    try:
        operator = db.session.scalar(select(Operator).where(Operator.username == username, Operator.active))
    except (OperationalError, ProgrammingError):  # not migrated yet (or away): no operator to refuse
        operator = None
    db.session.rollback()
    if operator is not None and check_password_hash(operator.password_hash, password):
        raise UnsafeDeployment(f"refusing to start: operator {username!r} still has the demo password "
                               "(change it or deactivate it)")


@click.command("deploy-check")
@with_appcontext
def deploy_check_command():
    """Refuse (exit 1) what must not serve: the sandbox's secrets with a real app id, the demo operator.
    gunicorn runs it before starting its workers, in a process of its own."""
    try:
        refuse_demo_operator(current_app.config)  # create_app, run to get here, refused the secrets
    except UnsafeDeployment as refused:
        raise click.ClickException(str(refused)) from None
    finally:
        db.engine.dispose()
    click.echo("deployment checks passed")
