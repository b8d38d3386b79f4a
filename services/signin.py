"""Daily sign-in: sign in, make up a missed day, rewards of the cycle and milestones, reminders.

One record per member per business day (TIMEZONE), guaranteed by a unique constraint: a concurrent
duplicate fails at the insert and answers 409 already_signed_in. Points and growth of a day are one
ledger entry each under `signin:{member}:{day}`. The Redis index is written after the commit.
"""
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import Level, Member, db
from models.message import OutboxMessage, SubscriptionGrant
from models.signin import MemberBadge, SigninRecord
from services import clock, coupons, events, growth, jobs, leaderboards, messages, points, signin_redis
from services.db import transaction
from services.errors import Conflict, InvalidRequest, NotFound
from services.signin_rules import rules_for

jobs.register_periodic("signin.remind", "services.signin.remind_unsigned", 600)


class AlreadySignedIn(Conflict):
    code, message = "already_signed_in", "This day is already signed in."


def setting(name: str) -> int:
    return int(current_app.config[name])


# -- signing in ---------------------------------------------------------------------------------

def sign_in(member_id: int) -> dict:
    """Sign the member in for today: the cycle day's reward, any milestone reached, the event."""
    today = clock.today()
    with transaction():
        _lock_member(member_id)
        previous = _record_on(member_id, today - timedelta(days=1))
        streak = previous.streak + 1 if previous else 1
        rules = rules_for(today)
        cycle_day, reward = rules.reward_for(streak)
        record = _insert(member_id, today, kind="signed", streak=streak, cycle_day=cycle_day, rule_id=rules.id)
        record.bonus = [{"kind": "cycle", "cycle_day": cycle_day, **_amounts(reward)}]
        _pay(record, reward, coupon_key=f"signin:{member_id}:{today}:cycle")
        total, longest = _count(member_id)
        _grant_milestones(record, rules, total=total)
        _settle(record)
        events.emit(member_id, "signin", business_key=f"signin:{member_id}:{today}", reference=f"signin:{today}")
        _index(record, signin_redis.Totals(total, today, streak, longest))
        return result(record)


def make_up(member_id: int, day: date) -> dict:
    """Make up a missed day of the current month with a make-up card or points; it mends the streak
    but pays no cycle reward, and a milestone only if never earned before."""
    today = clock.today()
    with transaction():
        member = _lock_member(member_id)
        _check_makeup_day(member, day, today)
        if _record_on(member_id, day) is not None:
            raise AlreadySignedIn()
        paid_with, cost = _makeup_payment(member, today)
        previous = _record_on(member_id, day - timedelta(days=1))
        record = _insert(member_id, day, kind="made_up", streak=previous.streak + 1 if previous else 1,
                         cycle_day=None, rule_id=None, paid_with=paid_with, cost_points=cost)
        if cost:
            points.spend(member_id, cost, reason="signin_makeup", business_key=f"makeup:{member_id}:{day}",
                         reference=f"signin:{day}")
        last = _mend_following(record)
        rules = rules_for(today)
        record.bonus, record.rule_id = [], rules.id
        totals = signin_redis.totals_from_sql(member_id)
        _grant_milestones(record, rules, total=totals.total, streak=last.streak)
        _settle(record)
        _index(record, totals)
        answer = result(record)
        answer["streak"] = last.streak if last.day >= today - timedelta(days=1) else 0
        return answer


def result(record: SigninRecord) -> dict:
    """A sign-in as the API answers it."""
    return {"day": record.day, "kind": record.kind, "streak": record.streak, "points": record.points,
            "growth": record.growth, "coupons": record.coupons, "bonus": record.bonus, "badges": record.badges,
            "cost_points": record.cost_points, "paid_with": record.paid_with}


def _lock_member(member_id: int) -> Member:
    # serialises one member's sign-ins and make-ups, so streaks are computed on settled rows
    member = db.session.scalar(select(Member).where(Member.id == member_id).with_for_update())
    if member is None:
        raise NotFound("No such member.")
    return member


def _record_on(member_id: int, day: date) -> SigninRecord | None:
    return db.session.scalar(select(SigninRecord).where(SigninRecord.member_id == member_id, SigninRecord.day == day))


def _count(member_id: int) -> tuple[int, int]:
    """How many days the member has signed (made-ups included), and the longest streak among them."""
    return tuple(db.session.execute(select(func.count(), func.max(SigninRecord.streak))
                                    .where(SigninRecord.member_id == member_id)).one())


def _insert(member_id: int, day: date, **fields) -> SigninRecord:
    record = SigninRecord(member_id=member_id, day=day, points=0, growth=0, coupons=[], bonus=[], badges=[],
                          created_at=clock.now(), **{"paid_with": None, "cost_points": 0, **fields})
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError:  # a parallel request signed this day in first
        raise AlreadySignedIn() from None
    return record


def _amounts(reward: dict) -> dict:
    return {"points": reward.get("points", 0), "growth": reward.get("growth", 0),
            "coupon_pack_id": reward.get("coupon_pack_id")}


def _pay(record: SigninRecord, reward: dict, *, coupon_key: str) -> None:
    """Add a reward to the record (points and growth are earned once, in _settle); hand out its pack."""
    record.points += reward.get("points", 0)
    record.growth += reward.get("growth", 0)
    if reward.get("coupon_pack_id"):
        issued = coupons.issue_pack(record.member_id, reward["coupon_pack_id"], source="signin",
                                    business_key=coupon_key, source_ref=f"signin:{record.member_id}:{record.day}")
        record.coupons = [*record.coupons, *(coupon.code for coupon in issued)]


def _grant_milestones(record: SigninRecord, rules, *, total: int, streak: int | None = None) -> None:
    """Grant each milestone reached and never earned before: its badge, once, and its reward."""
    reached = {"streak": streak or record.streak, "total": total}
    earned = set(db.session.scalars(select(MemberBadge.code).where(MemberBadge.member_id == record.member_id)))
    for milestone in rules.milestones:
        if milestone["badge_code"] in earned or reached[milestone["kind"]] < milestone["days"]:
            continue
        db.session.add(MemberBadge(member_id=record.member_id, code=milestone["badge_code"],
                                   name=milestone["badge_name"], record_id=record.id, earned_at=clock.now()))
        _pay(record, milestone, coupon_key=f"signin:{record.member_id}:badge:{milestone['badge_code']}")
        record.bonus = [*record.bonus, {"kind": "milestone", "badge_code": milestone["badge_code"],
                                        **_amounts(milestone)}]
        record.badges = [*record.badges, {"code": milestone["badge_code"], "name": milestone["badge_name"]}]


def _settle(record: SigninRecord) -> None:
    """Earn the record's points and growth through the ledgers, one entry each for the day."""
    key, reference = f"signin:{record.member_id}:{record.day}", f"signin:{record.day}"
    if record.points:
        points.earn(record.member_id, record.points, reason="signin", business_key=key, reference=reference)
    if record.growth:
        growth.earn(record.member_id, record.growth, reason="signin", business_key=key, reference=reference)
    db.session.flush()


def _index(record: SigninRecord, totals: signin_redis.Totals) -> None:
    """The calendar index and the streak board follow the commit."""
    signin_redis.record_after_commit(record.member_id, record.day, kind=record.kind, paid_with=record.paid_with,
                                     totals=totals)
    current = totals.streak if totals.last_day >= clock.today() - timedelta(days=1) else 0
    leaderboards.record_streak_after_commit(record.member_id, current)


# -- make-up ------------------------------------------------------------------------------------

def _check_makeup_day(member: Member, day: date, today: date) -> None:
    joined = clock.local(member.created_at).date()
    if (day.year, day.month) != (today.year, today.month) or day >= today or day < joined:
        raise InvalidRequest("Only a missed day of this month, before today and since you joined, can be made up.",
                             status=422, details={"day": ["Not a day that can be made up."]})


def makeup_allowance(*, made_up: int, cards_used: int, cards_per_month: int) -> dict:
    """This month's make-ups left (cards count too), cards left, and what the next one costs."""
    cards_left = max(cards_per_month - cards_used, 0)
    left = max(setting("SIGNIN_MAKEUP_PER_MONTH") - made_up, 0)
    cost = 0 if cards_left else setting("SIGNIN_MAKEUP_COST_POINTS")
    return {"left": left, "cards_left": min(cards_left, left), "cost_points": cost}


def _makeup_payment(member: Member, today: date) -> tuple[str, int]:
    paid_with = db.session.execute(select(SigninRecord.paid_with).where(
        SigninRecord.member_id == member.id, SigninRecord.kind == "made_up",
        SigninRecord.day.between(today.replace(day=1), today))).scalars().all()
    level = db.session.get(Level, member.level_id) if member.level_id else None
    allowance = makeup_allowance(made_up=len(paid_with), cards_used=paid_with.count("card"),
                                 cards_per_month=level.makeup_cards_per_month if level else 0)
    if allowance["left"] <= 0:
        raise Conflict("No make-ups left this month.", code="limit_reached",
                       details={"limit": setting("SIGNIN_MAKEUP_PER_MONTH")})
    return ("card", 0) if allowance["cards_left"] else ("points", allowance["cost_points"])


def _mend_following(record: SigninRecord) -> SigninRecord:
    """Carry the mended streak through the run of days that follows; returns the run's last record."""
    following = db.session.scalars(select(SigninRecord).where(
        SigninRecord.member_id == record.member_id, SigninRecord.day > record.day,
        SigninRecord.day <= clock.today()).order_by(SigninRecord.day))
    last = record
    for row in following:
        if row.day != last.day + timedelta(days=1):
            break
        row.streak = last.streak + 1
        last = row
    db.session.flush()
    return last


# -- reminders ----------------------------------------------------------------------------------

def remind_unsigned(batch: int = 500) -> int:
    """Queue today's sign-in reminder for members with a grant who have not signed by SIGNIN_REMINDER_HOUR.

    Scheduling: registered as the periodic job "signin.remind" (every 10 minutes, run by
    `flask --app app worker`), and also the `signin-remind` command for a cron line instead. Either may
    run any number of times: the business key `msg:signin_reminder:{member}:{day}` sends one a day.
    Returns how many messages it wrote.
    """
    now, today = clock.local(), clock.today()
    template_id = messages.templates().get("signin_reminder")
    if template_id is None or now.hour < setting("SIGNIN_REMINDER_HOUR"):
        return 0
    written, after = 0, 0
    while ids := _unsigned_batch(template_id, today, after, batch):
        with transaction():
            for member_id in ids:
                written += _remind(member_id, today)
        after = ids[-1]
    return written


def _unsigned_batch(template_id: str, today: date, after: int, batch: int) -> list[int]:
    signed = select(SigninRecord.id).where(SigninRecord.member_id == SubscriptionGrant.member_id,
                                           SigninRecord.day == today)
    return list(db.session.scalars(select(SubscriptionGrant.member_id).where(
        SubscriptionGrant.template_id == template_id, SubscriptionGrant.grants > 0,
        SubscriptionGrant.member_id > after, ~signed.exists()).order_by(SubscriptionGrant.member_id).limit(batch)))


def _remind(member_id: int, today: date) -> int:
    key = f"msg:signin_reminder:{member_id}:{today}"
    if db.session.scalar(select(func.count()).select_from(OutboxMessage)
                         .where(OutboxMessage.business_key == key)):
        return 0
    data = {"thing1": messages.thing("今天还没有签到哦"), "date2": messages.date(today),
            "thing3": messages.thing("签到领积分，连签有惊喜")}
    return int(messages.enqueue(member_id, "signin_reminder", data, business_key=key,
                                page=current_app.config["SIGNIN_REMINDER_PAGE"]) is not None)


@click.command("signin-remind")
@with_appcontext
def signin_remind_command():
    """Queue today's sign-in reminders (for cron, instead of the worker's periodic job)."""
    click.echo(f"sign-in reminders queued: {remind_unsigned()}")
