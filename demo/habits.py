"""The demo history's members as habits, drawn from one seeded random.Random (the same seed, the same
history): the day each joins (many at the launch, then a steady trickle), how likely they are to come
back on a day (a habit that fades, pulled along by a streak), and what they do on a visit. Plain data
and draws: history.py turns them into calls of the services."""
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

SEED = 20250301
ONE_DAY = timedelta(days=1)
LAUNCH_DAYS = 12  # joins fall off with this many days' decay from the first day…
TRICKLE = 0.2  # …down to this share of the first day's joins, every day after
KEEN, FADES = (0.45, 0.95), (0.95, 0.995)  # the chance of coming back the day after joining; its daily decay
STREAK_PULL = 0.15  # a member who came yesterday is this much likelier to come today
SPENDERS, SPEND_CHANCE = 0.3, 0.12  # the share of members who pay at all; their chance on a visit
AMOUNTS_FEN = (2900, 3900, 5800, 6800, 8800, 12800, 19900, 29900)
REFUND_CHANCE, PARTIAL_REFUND = 0.08, 0.5  # of payments refunded a few days later; of those, refunded in half
MAKEUP_CHANCE = 0.4  # of members back after missing one day (this month) who make that day up
SHARE_CHANCE, BROWSE_CHANCE, DRAW_CHANCE, REDEEM_CHANCE = 0.35, 0.15, 0.2, 0.04
BROWSES = 3  # browse_goods events the daily browsing task counts
GOODS = ("满50减10优惠券", "品牌帆布袋")  # pure points goods (no WeChat Pay), cheapest first


@dataclass
class Habit:
    """One demo member: when they join and how their habit fades; what they did so far."""

    number: int
    joins: date
    keen: float
    fades: float
    spends: float
    hour: float
    member_id: int | None = None
    visited: set = field(default_factory=set)
    signed: set = field(default_factory=set)

    def comes(self, rng: random.Random, day: date) -> bool:
        """Whether the member opens the mini-program on `day` (always on the day they join)."""
        if day <= self.joins:
            return day == self.joins
        chance = self.keen * self.fades ** (day - self.joins).days
        if day - ONE_DAY in self.visited:
            chance += STREAK_PULL
        return rng.random() < chance

    def missed_one(self, day: date) -> date | None:
        """Yesterday, when the member missed it after signing the day before and it is in `day`'s month."""
        yesterday = day - ONE_DAY
        if yesterday.month != day.month or yesterday in self.signed or yesterday - ONE_DAY not in self.signed:
            return None
        return yesterday


@dataclass(frozen=True)
class Visit:
    """What a member does on one visit, at `minute` of the business day."""

    habit: Habit
    minute: int
    makes_up: date | None
    shares: bool
    browses: bool
    draws: int
    pays_fen: int
    redeems: str | None


def population(rng: random.Random, first: date, last: date, count: int) -> list[Habit]:
    """`count` members joining between `first` and `last`, many at the start and a trickle after."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    weights = [math.exp(-n / LAUNCH_DAYS) + TRICKLE for n in range(len(days))]
    joins = sorted(rng.choices(days, weights=weights, k=count))
    return [Habit(number=n, joins=day, keen=rng.uniform(*KEEN), fades=rng.uniform(*FADES),
                  spends=SPEND_CHANCE if rng.random() < SPENDERS else 0.0, hour=rng.uniform(8, 22))
            for n, day in enumerate(joins, start=1)]


def visits(rng: random.Random, habits: list[Habit], day: date) -> list[Visit]:
    """The visits of `day`, in the order of their time."""
    planned = [_visit(rng, habit, day) for habit in habits if habit.comes(rng, day)]
    return sorted(planned, key=lambda visit: (visit.minute, visit.habit.number))


def _visit(rng: random.Random, habit: Habit, day: date) -> Visit:
    minute = min(max(int(rng.gauss(habit.hour, 1.5) * 60), 0), 24 * 60 - 5)
    makes_up = habit.missed_one(day) if rng.random() < MAKEUP_CHANCE else None
    draws = rng.randint(1, 3) if rng.random() < DRAW_CHANCE else 0
    pays_fen = rng.choice(AMOUNTS_FEN) if rng.random() < habit.spends else 0
    redeems = rng.choice(GOODS) if rng.random() < REDEEM_CHANCE else None
    return Visit(habit, minute, makes_up, rng.random() < SHARE_CHANCE, rng.random() < BROWSE_CHANCE, draws,
                 pays_fen, redeems)


def refund(rng: random.Random, amount_fen: int) -> tuple[int, int] | None:
    """Whether a payment is refunded: (days later, fen), or None."""
    if rng.random() >= REFUND_CHANCE:
        return None
    return rng.randint(1, 4), amount_fen // 2 if rng.random() < PARTIAL_REFUND else amount_fen
