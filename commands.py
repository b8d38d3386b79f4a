"""CLI commands (`flask --app app …`); each calls services and says what it did."""
from datetime import timedelta

import click

from sandbox.cli import wechat_sandbox_command
from services import demo
from services.coupons import coupons
from services.index.redis_rebuild import rebuild_redis_command
from services.ledger import audit, expiry_warnings, points
from services.levels import evaluation, gifts, policy
from services.members import operators
from services.payments import bills, payments
from services.platform.areas import areas_command
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
def seed_demo_command():
    """Load demo data: levels (and, as areas land, rules, goods, coupons, a store and a guide)."""
    created = demo.seed_levels()
    click.echo(f"levels: {len(created)} created ({', '.join(created) or 'all present'})")
    operator = demo.seed_operator()
    click.echo(f"operator: {operator + ' created' if operator else 'demo operator present'}")
    pack_id = demo.seed_coupons()
    click.echo(f"coupons: templates 满50减10 and 9折券 in pack {pack_id}")
    level_pack = demo.seed_level_gifts()
    click.echo(f"level gifts: pack {level_pack} ({demo.LEVEL_GIFT_PACK}) on each level above the entry, "
               f"birthday points {demo.BIRTHDAY_POINTS}")
    store, rule = demo.seed_store_and_payment_rule(pack_id)
    click.echo(f"store {store!r}; payment rule {rule!r} (pay ≥ 50 元 → pack {pack_id})")
    signin_rule = demo.seed_signin_rules()
    click.echo(f"sign-in rules: {f'version {signin_rule} created' if signin_rule else 'present'}")
    tasks = demo.seed_tasks()
    click.echo(f"tasks: {len(tasks)} created ({', '.join(tasks) or 'all present'})")
    goods = demo.seed_goods()
    click.echo("goods: no operator to create them (create-operator, then seed-demo again)" if goods is None
               else f"goods: {len(goods)} created ({', '.join(goods) or 'all present'})")
    lottery = demo.seed_lottery()
    click.echo("lottery: no operator to create it" if lottery is None
               else f"lottery {demo.DEMO_LOTTERY!r}: id {lottery[0]}{' created' if lottery[1] else ' present'}")
    guide = demo.seed_guide()
    if guide:
        click.echo(f"demo guide: {guide} created (password {demo.DEMO_GUIDE[1]!r})")
    member = demo.seed_demo_member_points()
    if member:
        click.echo(f"demo member {member[0]} (sandbox user {demo.DEMO_MEMBER_USER!r}): "
                   f"{f'{demo.DEMO_MEMBER_POINTS} points given' if member[1] else 'points given before'}")


@click.command("audit-ledger")
def audit_ledger_command():
    """Check every ledger invariant; exit 1 with a report when one fails."""
    report = audit.check_books()
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
                    rollup_stats_command, worker_command, wechat_sandbox_command, areas_command):
        app.cli.add_command(command)
