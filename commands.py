"""CLI commands (`flask --app app …`); each calls services and says what it did."""
import click

from sandbox.cli import wechat_sandbox_command
from services import audit, demo, operators, points
from services.db import transaction


@click.command("create-operator")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(["admin", "viewer"]), default="admin", show_default=True)
def create_operator_command(username, password, role):
    """Create an operator account."""
    operator = operators.create_operator(username=username, password=password, role=role)
    click.echo(f"created operator {operator.username!r} (id {operator.id}, role {operator.role})")


@click.command("seed-demo")
def seed_demo_command():
    """Load demo data: levels (and, as areas land, rules, goods, coupons, a store and a guide)."""
    created = demo.seed_levels()
    click.echo(f"levels: {len(created)} created ({', '.join(created) or 'all present'})")
    operator = demo.seed_operator()
    click.echo(f"operator: {operator + ' created' if operator else 'demo operator present'}")


@click.command("audit-ledger")
def audit_ledger_command():
    """Check every ledger invariant; exit 1 with a report when one fails."""
    report = audit.run()
    click.echo(f"accounts checked: {report['accounts']}")
    click.echo(f"outstanding liability: {report['liability_points']} points "
               f"({report['liability_fen'] / 100:.2f} yuan)")
    for problem in report["problems"]:
        click.echo(f"PROBLEM {problem}", err=True)
    if report["problems"]:
        raise SystemExit(1)
    click.echo("ledger clean")


@click.command("expire-points")
def expire_points_command():
    """Expire the points of every lot past its expiry (run daily, e.g. from cron or the worker)."""
    expired = lots = last_id = 0
    while ids := points.due_lot_ids(after_id=last_id):
        with click.progressbar(ids, label="expiring lots") as bar:
            for lot_id in bar:
                with transaction():
                    entry = points.expire_lot(lot_id)
                if entry:
                    lots, expired = lots + 1, expired - entry.delta
        last_id = ids[-1]
    click.echo(f"expired {expired} points from {lots} lots")


def register_commands(app):
    for command in (create_operator_command, seed_demo_command, audit_ledger_command, expire_points_command,
                    wechat_sandbox_command):
        app.cli.add_command(command)
