"""Reading sign-ins: the month calendar (from the Redis index, no query) and the badge wall."""
import calendar as calendar_
import functools
import re
from datetime import date, timedelta

from sqlalchemy import select

from models import db
from models.signin import MemberBadge
from services.levels import levels
from services.members.cards import Card
from services.platform import clock
from services.platform.errors import InvalidRequest
from services.platform.rendered import RawJSON, render
from services.signin import signin_index
from services.signin.signin import makeup_allowance
from services.signin.rules import preview, rules_for

MONTH = re.compile(r"^(?!0000)\d{4}-(0[1-9]|1[0-2])$")


def parse_month(month: str | None) -> tuple[date, date]:
    """The first and last day of a YYYY-MM month (this month when None)."""
    if month is None:
        return _bounds(clock.today().replace(day=1))
    if not MONTH.match(month):
        raise InvalidRequest("month must be YYYY-MM.", details={"month": ["Not a month."]})
    return _bounds(date(int(month[:4]), int(month[5:]), 1))


@functools.lru_cache(maxsize=256)
def _bounds(first: date) -> tuple[date, date]:
    return first, first.replace(day=calendar_.monthrange(first.year, first.month)[1])


def prefetch_calls(member_id: int, month: str | None) -> list:
    """The Redis calls a calendar needs, to ride with the token check: the member's totals, the month
    asked for, and this month (for the make-ups used)."""
    try:
        first, _ = parse_month(month)
    except InvalidRequest:
        return []  # the arguments' validation answers 400 before the calendar is read
    current = clock.today().replace(day=1)
    calls = signin_index.prefetch_calls(member_id, signin_index.month_of(first))
    return calls if first == current else [*calls, signin_index.prefetch_calls(member_id, signin_index.month_of(current))[1]]


def calendar(card: Card, month: str | None, fetched: list | None) -> dict:
    """A month of days, each signed / made_up / missed / today / future, the streak and what lies ahead.

    `fetched` holds the results of `reads` (None: Redis is away, and SQL answers). The answer is in
    its JSON shape already (dates as text): it is the hottest read of the service.
    """
    first, last = parse_month(month)
    today = clock.today()
    current = today.replace(day=1)
    totals, days = signin_index.totals_and_month(card.id, first, fetched[:2] if fetched else None)
    this_month = days if first == current else signin_index.totals_and_month(
        card.id, current, [fetched[0], fetched[2]] if fetched else None)[1]
    streak = totals.streak if totals.last_day and totals.last_day >= today - timedelta(days=1) else 0
    signed_today = totals.last_day == today
    return {
        "month": signin_index.month_of(first),
        "days": _days(first, last, today, days),
        "streak": streak, "longest_streak": totals.longest, "total_days": totals.total,
        "signed_today": signed_today,
        "upcoming_rewards": upcoming_rewards(today + timedelta(days=1) if signed_today else today, streak),
        "makeup": makeup_allowance(made_up=len(this_month.made_up), cards_used=len(this_month.card_paid),
                                   cards_per_month=levels.makeup_cards(card.level_id)),
    }


def _days(first: date, last: date, today: date, days: signin_index.Month) -> RawJSON:
    """Each day of the month with its state (rendered: 31 small objects cost more to encode than to work out)."""
    # today's number within the month; 0 for a month to come, 32 for a month gone by
    now = today.day if (first.year, first.month) == (today.year, today.month) else 32 if first < today else 0
    return RawJSON("[" + ",".join(
        opening + ("made_up" if n in days.made_up else "signed" if n in days.signed else
                   "missed" if n < now else "today" if n == now else "future") + '"}'
        for n, opening in _day_openings(first, last)) + "]")


@functools.lru_cache(maxsize=256)
def _day_openings(first: date, last: date) -> tuple[tuple[int, str], ...]:
    """(n, '{"day":"YYYY-MM-DD","state":"') for each day of the month."""
    return tuple((n, render({"day": first.replace(day=n).isoformat()})[:-1] + ',"state":"')
                 for n in range(1, last.day + 1))


def upcoming_rewards(start: date, streak: int) -> RawJSON:
    """The rewards of the next sign-ins of the cycle, from `start` on, if the member keeps the streak
    (rendered, and kept with this process's copy of the rules)."""
    return preview(("upcoming", start, streak), lambda preview_from: render(_upcoming(preview_from(start), streak)))


def _upcoming(days_ahead, streak: int) -> list[dict]:
    items, length = [], None
    for n, (day, rules) in enumerate(days_ahead):
        length = length or rules.cycle_days  # the cycle as it stands on the first of these days
        if n == length:
            return items
        cycle_day, reward = rules.reward_for(streak + 1 + n)
        items.append({"day": day.isoformat(), "cycle_day": cycle_day, "points": reward.get("points", 0),
                      "growth": reward.get("growth", 0), "coupon_pack_id": reward.get("coupon_pack_id")})


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
