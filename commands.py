"""CLI commands (`flask --app app …`); each calls services and says what it did."""
from datetime import timedelta

import click
from flask import current_app

import config
from services.coupons import coupons
from services.index.redis_rebuild import rebuild_redis_command
from services.ledger import audit, expiry_warnings, points
from services.levels import evaluation, gifts, policy
from services.members import operators
from services.payments import bills, payments
from services.platform.areas import areas_command
from services.platform.deploy_checks import deploy_check_command
from services.platform.errors import WeChatError
from services.platform.worker import worker_command
from services.signin.signin import signin_remind_command
from services.stats.rollup import rollup_stats_command


@click.command("create-operator")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(["admin", "viewer"]), default="admin", show_default=True)
def create_operator_command(username, password, role):
    """Create an operator account."""
    operator = operators.create_operator(username=username, password=password, role=role)
    click.echo(f"created operator {operator.username!r} (id {operator.id}, role {operator.role})")


@click.command("seed-demo")
@click.option("--history", "days", type=click.IntRange(min=1), default=None,
              help="Also live this many days up to yesterday through the services (once: a second run writes "
                   "nothing), and roll up their daily figures.")
@click.option("--members", "member_count", type=click.IntRange(min=1), default=300, show_default=True,
              help="Members joining during the --history days.")
def seed_demo_command(days, member_count):
    """Load demo data: levels, rules, goods, coupons, a store and a guide; with --history, days of activity."""
    import demo  # a development tool: loaded by this command only, never by a serving process
    if days is None:
        demo.seed(click.echo)
        return
    from demo import history
    history.seed(click.echo, days=days, member_count=member_count,
                 progress=lambda label: lambda items: click.progressbar(items, label=label))


@click.command("settings")
@click.option("--markdown", is_flag=True, help="Print the README's table of settings instead.")
def settings_command(markdown):
    """Print every setting, its value (secrets masked) and where it came from: default, instance or environment."""
    if markdown:
        click.echo(config.readme_table())
        return
    for name, value, source in config.described(current_app):
        click.echo(f"{name:<26} {source:<11} {value}")


@click.command("audit-ledger")
def audit_ledger_command():
    """Check every ledger invariant; exit 1 with a report when one fails."""
    report = audit.check_and_record()
    click.echo(f"checks: {', '.join(report['checks'])}; accounts checked: {report['accounts']}")
    click.echo(f"outstanding liability: {report['liability_points']} points "
               f"({report['liability_fen'] / 100:.2f} yuan)")
    for problem in report["problems"]:
        click.echo(f"PROBLEM {problem}", err=True)
    if report["problems"]:
        raise SystemExit(1)
    click.echo("ledger clean")


@click.command("expire-points")
def expire_points_command():
    """Expire the points of every lot past its expiry (the worker runs it hourly; or from cron)."""
    lots, expired = points.expire_due(progress=lambda ids: click.progressbar(ids, label="expiring lots"))
    click.echo(f"expired {expired} points from {lots} lots")


@click.command("warn-expiring")
def warn_expiring_command():
    """Warn members holding a grant of points expiring within POINTS_EXPIRY_WARN_DAYS (the worker runs it hourly)."""
    outcome = expiry_warnings.warn_expiring(progress=lambda items: click.progressbar(items, label="members"))
    click.echo(f"warned {outcome['members']} members with expiring points: {outcome['messages']} messages written")


@click.command("evaluate-levels")
def evaluate_levels_command():
    """Run every level evaluation that is due, and the grace notices before the next (the worker runs both hourly)."""
    done = evaluation.evaluate_due(progress=lambda ids: click.progressbar(ids, label="members evaluated"))
    for run in done:
        click.echo(f"evaluation due {run['due_at'].isoformat()} ({run['growth_window']}, downgrade "
                   f"{run['downgrade']}): {run['members_lowered']} members lowered")
    if not done:
        click.echo(f"no evaluation due; the next is at {policy.upcoming().isoformat()}")
    notices = evaluation.grace_period(progress=lambda rows: click.progressbar(rows, label="grace notices"))
    click.echo(f"grace notices written: {notices}")


@click.command("birthday-gifts")
def birthday_gifts_command():
    """Pay the birthday gifts of this month's birthdays not paid this year (the worker runs it hourly)."""
    outcome = gifts.pay_birthday_gifts(progress=lambda ids: click.progressbar(ids, label="birthdays"))
    click.echo(f"birthday gifts paid: {outcome['paid']}; frozen members waiting: {outcome['frozen']}; "
               f"errors: {outcome['errors']}")


@click.command("expire-coupons")
def expire_coupons_command():
    """Expire every unused coupon past its validity (the worker runs it hourly)."""
    click.echo(f"expired {coupons.expire_all_due()} coupons")


@click.command("reconcile-payments")
def reconcile_payments_command():
    """Ask WeChat about payments and refunds still open, pay rewards still owed, close expired payments
    (the worker runs it every minute)."""
    outcome = payments.reconcile_all()
    for part in ("payments", "rewards", "refunds"):
        click.echo(f"{part}: {outcome[part]}")
    _echo_waiting()


def _echo_waiting():
    waiting = payments.needing_attention()
    click.echo(f"for a person: {waiting['payments']} payments set aside (GET /api/v1/admin/payments?attention=true), "
               f"{waiting['refunds']} failed refunds, {waiting['bill_days']} bill days with findings")


@click.command("reconcile-bill")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="the Beijing day of the bill (default: yesterday)")
def reconcile_bill_command(day):
    """Match WeChat Pay's bill of a Beijing day with our payments and refunds: settle what WeChat took and we
    did not record, refund what it took after we closed it, report what needs a person (exit 1)."""
    day = day.date() if day else bills.bill_day() - timedelta(days=1)
    click.echo(f"WeChat Pay bill of {day} (Beijing)")
    try:
        outcome = bills.reconcile_day(day, progress=lambda lines: click.progressbar(lines, label="bill lines"))
    except WeChatError as exc:
        click.echo(f"WeChat gave no bill: {exc.details.get('errmsg') or exc.message}", err=True)
        raise SystemExit(2) from exc
    if outcome.outcome == "no_bill":
        click.echo("no bill: WeChat had no trade that day")
    click.echo(f"lines: {outcome.lines}; matched: {outcome.matched}; mended: {outcome.mended} (all runs); "
               f"for a person: {outcome.attention} (run {outcome.runs})")
    for finding in outcome.findings:
        click.echo(f"{'FOR A PERSON' if finding['needs_person'] else 'mended'} {finding['what']}: "
                   f"{finding.get('out_trade_no')} {finding.get('out_refund_no') or ''} {finding['message']}",
                   err=finding["needs_person"])
    _echo_waiting()
    if outcome.outcome == "attention":
        raise SystemExit(1)


def register_commands(app):
    for command in (create_operator_command, seed_demo_command, audit_ledger_command, expire_points_command,
                    expire_coupons_command, warn_expiring_command, evaluate_levels_command, birthday_gifts_command,
                    reconcile_payments_command, reconcile_bill_command, rebuild_redis_command, signin_remind_command,
                    rollup_stats_command, worker_command, areas_command, settings_command, deploy_check_command):
        app.cli.add_command(command)
    if config.on_sandbox(app.config):
        app.cli.add_command(_wechat_sandbox_command())


def _wechat_sandbox_command():
    # imported here: only an app whose WeChat is the sandbox loads the simulator
    from sandbox.cli import wechat_sandbox_command
    return wechat_sandbox_command
