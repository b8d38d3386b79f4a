"""Reading sign-ins: the month calendar (Redis bitmap checked against SQL counts) and the badge wall."""
import calendar as calendar_
from datetime import date, timedelta

from sqlalchemy import case, func, select

from models import Member, db
from models.signin import MemberBadge, SigninRecord
from services import clock, signin_redis
from services.errors import InvalidRequest
from services.signin import makeup_allowance
from services.signin_rules import rules_for, rules_over


def parse_month(month: str | None) -> tuple[date, date]:
    """The first and last day of a YYYY-MM month (this month when None)."""
    if month is None:
        first = clock.today().replace(day=1)
    else:
        try:
            year, mon = (int(part) for part in month.split("-"))
            first = date(year, mon, 1)
        except ValueError:
            raise InvalidRequest("month must be YYYY-MM.", details={"month": ["Not a month."]}) from None
    return first, first.replace(day=calendar_.monthrange(first.year, first.month)[1])


def calendar(member: Member, month: str | None) -> dict:
    """A month of days, each signed / made_up / missed / today / future, the streak and what lies ahead."""
    first, last = parse_month(month)
    today = clock.today()
    stats = _stats(member.id, first, last)
    signed, streak_at_last = _indexed(member.id, first, stats)
    made_up = _made_up(member.id, first, last) if stats["month"] else set()
    streak = streak_at_last if stats["last_day"] and stats["last_day"] >= today - timedelta(days=1) else 0
    signed_today = stats["last_day"] == today
    return {
        "month": f"{first.year:04d}-{first.month:02d}",
        "days": [{"day": day, "state": _state(day, today, signed, made_up)}
                 for day in (first + timedelta(days=n) for n in range(last.day))],
        "streak": streak, "longest_streak": stats["longest"], "total_days": stats["total"],
        "signed_today": signed_today,
        "upcoming_rewards": upcoming_rewards(today + timedelta(days=1) if signed_today else today, streak),
        "makeup": makeup_allowance(member, today),
    }


def _state(day: date, today: date, signed: set[int], made_up: set[date]) -> str:
    if day in made_up:
        return "made_up"
    if day.day in signed:
        return "signed"
    return "future" if day > today else "today" if day == today else "missed"


def _stats(member_id: int, first: date, last: date) -> dict:
    in_month = case((SigninRecord.day.between(first, last), 1), else_=0)
    total, longest, last_day, month = db.session.execute(
        select(func.count(), func.max(SigninRecord.streak), func.max(SigninRecord.day), func.sum(in_month))
        .where(SigninRecord.member_id == member_id)).one()
    return {"total": total, "longest": longest or 0, "last_day": last_day, "month": month or 0}


def _indexed(member_id: int, first: date, stats: dict) -> tuple[set[int], int]:
    """The month's signed day numbers and the streak on the last signed day: from Redis when it agrees
    with SQL's counts, else from SQL (and Redis is rebuilt)."""
    month = f"{first.year:04d}-{first.month:02d}"
    expected_streak_head = signin_redis.streak_value(stats["last_day"], 0, stats["total"]).split("|")
    cached = signin_redis.read(member_id, month)
    raw, streak = cached if cached else (None, None)
    days = signin_redis.days_in(raw)
    if cached is None or len(days) != stats["month"]:
        days = {day.day for day in _month_days(member_id, first)}
        if cached is not None:
            signin_redis.write(member_id, month=month, days=[first.replace(day=n) for n in days])
    parts = (streak or "").split("|")
    if cached is not None and len(parts) == 3 and [parts[0], parts[2]] == [expected_streak_head[0],
                                                                           expected_streak_head[2]]:
        return days, int(parts[1])
    at_last = _streak_on(member_id, stats["last_day"])
    if cached is not None:
        signin_redis.write(member_id, streak=signin_redis.streak_value(stats["last_day"], at_last, stats["total"]))
    return days, at_last


def _month_days(member_id: int, first: date) -> list[date]:
    last = first.replace(day=calendar_.monthrange(first.year, first.month)[1])
    return list(db.session.scalars(select(SigninRecord.day).where(
        SigninRecord.member_id == member_id, SigninRecord.day.between(first, last))))


def _made_up(member_id: int, first: date, last: date) -> set[date]:
    return set(db.session.scalars(select(SigninRecord.day).where(
        SigninRecord.member_id == member_id, SigninRecord.kind == "made_up", SigninRecord.day.between(first, last))))


def _streak_on(member_id: int, day: date | None) -> int:
    if day is None:
        return 0
    return db.session.scalar(select(SigninRecord.streak).where(SigninRecord.member_id == member_id,
                                                               SigninRecord.day == day)) or 0


def upcoming_rewards(start: date, streak: int) -> list[dict]:
    """The rewards of the next sign-ins of the cycle, from `start` on, if the member keeps the streak."""
    length = rules_for(start).cycle_days
    by_day = rules_over(start, start + timedelta(days=length - 1))
    items = []
    for n, (day, rules) in enumerate(sorted(by_day.items())):
        cycle_day, reward = rules.reward_for(streak + 1 + n)
        items.append({"day": day, "cycle_day": cycle_day, "points": reward.get("points", 0),
                      "growth": reward.get("growth", 0), "coupon_pack_id": reward.get("coupon_pack_id")})
    return items


def badge_wall(member_id: int) -> dict:
    """Every badge of the rules in force, earned or not, then any other badge the member earned."""
    earned = {badge.code: badge for badge in db.session.scalars(
        select(MemberBadge).where(MemberBadge.member_id == member_id).order_by(MemberBadge.id))}
    items = [{"code": m["badge_code"], "name": m["badge_name"], "kind": m["kind"], "days": m["days"],
              "earned_at": earned[m["badge_code"]].earned_at if m["badge_code"] in earned else None}
             for m in rules_for(clock.today()).milestones]
    listed = {item["code"] for item in items}
    items += [{"code": code, "name": badge.name, "kind": None, "days": None, "earned_at": badge.earned_at}
              for code, badge in earned.items() if code not in listed]
    return {"items": items}
