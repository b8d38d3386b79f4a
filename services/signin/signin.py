"""Daily sign-in: sign in, make up a missed day, rewards of the cycle and milestones, reminders.

One record per member per business day (TIMEZONE), guaranteed by a unique constraint; a duplicate
answers 409 already_signed_in (found under the member's lock, which every writer of a day holds). Points and growth of a day are one
ledger entry each under `signin:{member}:{day}`. The Redis index is written after the commit.
"""
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import bindparam, case, func, insert, select

from models import Level, db
from models.signin import MemberBadge, SigninRecord
from services.coupons import coupons
from services.leaderboards import leaderboards
from services.ledger import earnings, points
from services.platform.lock_order import lock_member_and_read
from services.messages import messages
from services.platform import clock, round_trips
from services.platform.db import execute_prebuilt, transaction
from services.platform.errors import Conflict, InvalidRequest
from services.signin import rules, signin_index
from services import events



class AlreadySignedIn(Conflict):
    code, message = "already_signed_in", "This day is already signed in."


def setting(name: str) -> int:
    return int(current_app.config[name])


# -- signing in ---------------------------------------------------------------------------------

def sign_in(member_id: int, *, token_version: int | None = None) -> dict:
    """Sign the member in for today: the cycle day's reward, any milestone reached, the event.

    The hottest write path, in prebuilt statements and few round trips (services.platform.round_trips):
    the member's lock with the history read under it; the day's writes then wait for the growth
    credit's round trip, or go with the COMMIT. `token_version`: the caller's bearer token's, checked
    against the locked row (POST /signin reads no member card).
    """
    today = clock.today()
    with transaction():
        # the lock serialises one member's sign-ins (and make-ups): streaks are computed on settled rows
        _, (history,) = lock_member_and_read(member_id, _history_read(member_id, today), token_version=token_version)
        total, longest, yesterday_streak, signed_today = history[0]
        if signed_today:
            raise AlreadySignedIn()
        streak = (yesterday_streak or 0) + 1
        today_rules = rules.in_force(today)
        cycle_day, reward = today_rules.reward_for(streak)
        answer = _record_day(member_id, today, kind="signed", streak=streak, rule_set=today_rules,
                             reached={"streak": streak, "total": total + 1},
                             cycle=({"kind": "cycle", "cycle_day": cycle_day, **_amounts(reward)}, reward))
        events.emit(member_id, "signin", business_key=f"signin:{member_id}:{today}", reference=f"signin:{today}",
                    new_key=True)
        _index(member_id, today, kind="signed", paid_with=None,
               totals=signin_index.Totals(total + 1, today, streak, max(longest or 0, streak)))
        return answer


def make_up(member_id: int, day: date, *, token_version: int | None = None) -> dict:
    """Make up a missed day of the current month with a make-up card or points; it mends the streak
    but pays no cycle reward, and a milestone only if never earned before."""
    today = clock.today()
    with transaction():
        member, (history,) = lock_member_and_read(member_id, _history_read(member_id, day), token_version=token_version)
        _check_makeup_day(member, day, today)
        total, _, previous_streak, signed = history[0]
        if signed:
            raise AlreadySignedIn()
        paid_with, cost = _makeup_payment(member, today)
        streak = (previous_streak or 0) + 1
        if cost:
            points.spend(member_id, cost, reason="signin_makeup", business_key=f"makeup:{member_id}:{day}",
                         reference=f"signin:{day}")
        last_day, last_streak = _mend_following(member_id, day, streak)
        answer = _record_day(member_id, day, kind="made_up", streak=streak, rule_set=rules.in_force(today),
                             reached={"streak": last_streak, "total": total + 1},
                             paid_with=paid_with, cost_points=cost)
        events.emit(member_id, "signin_makeup", business_key=f"makeup:{member_id}:{day}", reference=f"signin:{day}")
        _index(member_id, day, kind="made_up", paid_with=paid_with, totals=signin_index.totals_from_sql(member_id))
        return {**answer, "streak": last_streak if last_day >= today - timedelta(days=1) else 0}


_records = SigninRecord.__table__
_HISTORY = select(func.count(), func.max(_records.c.streak),
                  func.max(case((_records.c.day == bindparam("on_day_before"), _records.c.streak))),
                  func.count(case((_records.c.day == bindparam("on_day"), 1)))
                  ).where(_records.c.member_id == bindparam("member"))
_INSERT_RECORD_LATER = insert(_records)
_INSERT_RECORD = _INSERT_RECORD_LATER.returning(_records.c.id)


def _history_read(member_id: int, day: date) -> tuple:
    """The read of the days signed so far, the longest streak, the streak of the day before `day`
    (None if not signed), and whether `day` is signed."""
    return _HISTORY, {"member": member_id, "on_day": day, "on_day_before": day - timedelta(days=1)}


def _record_day(member_id: int, day: date, *, kind: str, streak: int, rule_set, reached: dict,
                cycle: tuple[dict, dict] | None = None, paid_with: str | None = None, cost_points: int = 0) -> dict:
    """Record a signed or made-up day with everything it pays: the cycle reward (`cycle`: its bonus
    line and the reward), each milestone `reached` for the first time (its badge, once), one ledger
    entry each for the points and the growth. Returns the sign-in as the API answers it."""
    milestones = _new_milestones(member_id, rule_set, reached)
    paid = ([cycle] if cycle else []) + [
        ({"kind": "milestone", "badge_code": m["badge_code"], **_amounts(m)}, m) for m in milestones]
    coupons = [code for line, reward in paid for code in _hand_out_pack(member_id, day, line, reward)]
    answer = {"day": day, "kind": kind, "streak": streak, "coupons": coupons,
              "points": sum(line["points"] for line, _ in paid), "growth": sum(line["growth"] for line, _ in paid),
              "bonus": [line for line, _ in paid],
              "badges": [{"code": m["badge_code"], "name": m["badge_name"]} for m in milestones],
              "cost_points": cost_points, "paid_with": paid_with}
    record = dict(member_id=member_id, cycle_day=cycle[0]["cycle_day"] if cycle else None, rule_id=rule_set.id,
                  created_at=clock.now(), **answer)
    # the day is not signed (read under the member's lock, which every writer of a day holds): the
    # record, and the ledger entries under its key, wait for the next round trip
    if not milestones:
        round_trips.later(_INSERT_RECORD_LATER, **record)
    else:  # a badge names its record
        record_id = execute_prebuilt(_INSERT_RECORD, **record).scalar_one()
        for milestone in milestones:
            db.session.add(MemberBadge(member_id=member_id, code=milestone["badge_code"], name=milestone["badge_name"],
                                       record_id=record_id, earned_at=clock.now()))
    _settle(member_id, day, answer["points"], answer["growth"])
    return answer


def _new_milestones(member_id: int, rule_set, reached: dict) -> list[dict]:
    """The milestones `reached` whose badge the member has not earned yet (asks SQL only if one is reached)."""
    candidates = [m for m in rule_set.milestones if reached[m["kind"]] >= m["days"]]
    if not candidates:
        return []
    earned = set(db.session.scalars(select(MemberBadge.code).where(MemberBadge.member_id == member_id)))
    return [m for m in candidates if m["badge_code"] not in earned]


def _amounts(reward: dict) -> dict:
    return {"points": reward.get("points", 0), "growth": reward.get("growth", 0),
            "coupon_pack_id": reward.get("coupon_pack_id")}


def _hand_out_pack(member_id: int, day: date, line: dict, reward: dict) -> list[str]:
    """The codes of the coupon pack a reward line carries, issued once under its own business key."""
    if not reward.get("coupon_pack_id"):
        return []
    key = (f"signin:{member_id}:{day}:cycle" if line["kind"] == "cycle"
           else f"signin:{member_id}:badge:{line['badge_code']}")
    issued = coupons.issue_pack(member_id, reward["coupon_pack_id"], source="signin", business_key=key,
                                source_ref=f"signin:{member_id}:{day}")
    return [coupon.code for coupon in issued]


def _settle(member_id: int, day: date, points_: int, growth_: int) -> None:
    """Earn the day's points and growth through the ledgers, one entry each for the day."""
    key, reference = f"signin:{member_id}:{day}", f"signin:{day}"
    earnings.earn(member_id, points_=points_, growth_=growth_, reason="signin", business_key=key, reference=reference,
                  new_key=True)


def _index(member_id: int, day: date, *, kind: str, paid_with: str | None, totals: signin_index.Totals) -> None:
    """The calendar index and the streak board follow the commit."""
    signin_index.record_after_commit(member_id, day, kind=kind, paid_with=paid_with, totals=totals)
    current = totals.streak if totals.last_day >= clock.today() - timedelta(days=1) else 0
    leaderboards.record_streak_after_commit(member_id, current)


# -- make-up ------------------------------------------------------------------------------------

def _check_makeup_day(member, day: date, today: date) -> None:
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


def _makeup_payment(member, today: date) -> tuple[str, int]:
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


def _mend_following(member_id: int, day: date, streak: int) -> tuple[date, int]:
    """Carry the streak a made-up `day` starts through the run of days that follows it; returns the
    run's last day and streak."""
    following = db.session.scalars(select(SigninRecord).where(
        SigninRecord.member_id == member_id, SigninRecord.day > day,
        SigninRecord.day <= clock.today()).order_by(SigninRecord.day))
    last = (day, streak)
    for row in following:
        if row.day != last[0] + timedelta(days=1):
            break
        row.streak = last[1] + 1
        last = (row.day, row.streak)
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
    if now.hour < setting("SIGNIN_REMINDER_HOUR"):
        return 0
    written = 0
    for ids in messages.granted_members("signin_reminder", narrowed=_unsigned_on(today), batch=batch):
        with transaction():
            for member_id in ids:
                written += _remind(member_id, today)
    return written


def _unsigned_on(day: date):
    """A condition on a member id column: that member has not signed in on `day`."""
    return lambda member_id: ~select(SigninRecord.id).where(SigninRecord.member_id == member_id,
                                                            SigninRecord.day == day).exists()


def _remind(member_id: int, today: date) -> int:
    key = f"msg:signin_reminder:{member_id}:{today}"
    data = {"thing1": messages.thing("今天还没有签到哦"), "date2": messages.date(today),
            "thing3": messages.thing("签到领积分，连签有惊喜")}
    return int(messages.enqueue_new(member_id, "signin_reminder", data, business_key=key,
                                    page=current_app.config["SIGNIN_REMINDER_PAGE"]))


@click.command("signin-remind")
@with_appcontext
def signin_remind_command():
    """Queue today's sign-in reminders (for cron, instead of the worker's periodic job)."""
    click.echo(f"sign-in reminders queued: {remind_unsigned()}")
