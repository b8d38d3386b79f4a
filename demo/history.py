"""seed-demo --history N: N days of a programme's life up to yesterday, lived through the services.

The app's clock is moved day by day (and to each visit's minute): members join (many at the launch,
then a trickle), sign in with streaks and gaps, make a missed day up, share, browse and claim tasks,
draw the lottery, redeem pure-points goods, pay in the demo store (settled as a verified WeChat Pay
notification is: WeChat is not running during seed-demo) and now and then get a refund (settled as
WeChat's refund notification is). Each day starts with the worker's chores: due points and coupons
expire. Every member gets a welcome grant expiring after WELCOME_DAYS, so that some points expire in
any history longer than that. Then the daily rollup stores each day's figures (as `rollup-stats`).

Written once: the demo members' openids start with OPENID_PREFIX; a second run finds one and writes
nothing. The clock is back at real time afterwards.
"""
import random
import time
from collections import Counter
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

import demo
from demo import data, habits
from models import Goods, Lottery, Member, Store, db
from services.coupons import coupons
from services.ledger import points
from services.mall import lotteries, orders
from services.members import members
from services.payments import bills, payments, refunds
from services.platform import clock
from services.platform.db import transaction
from services.platform.errors import Conflict, NotFound
from services.platform.progress import with_progress_bar
from services.signin import signin
from services.stats import rollup
from services.stats.window import each_day
from services.tasks import claims, client_events

OPENID_PREFIX = "demo-history-"
WELCOME_POINTS, WELCOME_DAYS = 100, 30
CLIENT_IP = "127.0.0.1"
ADDRESS = {"userName": "张三", "telNumber": "13800000000", "provinceName": "上海市", "cityName": "上海市",
           "countyName": "黄浦区", "detailInfo": "南京东路 1 号"}
WEEKLY_SIGNINS = 5  # the demo's weekly sign-in task's target
SIGNIN_TIERS = (1, 10, 50)  # the demo's sign-in achievement's tiers


def seed(echo, *, days: int, member_count: int, progress=None) -> None:
    """seed-demo --history: the demo data (set up on the history's first day when the history is new), then
    the history, unless written before; each step says what it did through `echo`."""
    fresh = not written()
    if fresh:
        move_to(first_day(days), 0)  # the programme opens on the history's first day
    try:
        demo.seed(echo)
    finally:
        current_app.extensions["clock"].reset()
    if not fresh:
        echo(f"history: written before (members {OPENID_PREFIX}… present): nothing written")
        return
    started = time.monotonic()
    done = write(days, member_count, progress=progress)
    echo(f"history: {days} days to {clock.today() - timedelta(days=1)} in {time.monotonic() - started:.0f} s")
    for line in summary(done):
        echo(f"  {line}")


def summary(done: Counter) -> list[str]:
    """What a history did, as lines to print."""
    refused = ", ".join(f"{what} {count}" for what, count in sorted(done.items()) if what.startswith("refused"))
    return [f"{done['members']} members joined; {done['signins']} sign-ins, {done['makeups']} make-ups, "
            f"{done['claims']} task rewards claimed, {done['draws']} lottery draws, {done['orders']} mall orders",
            f"{done['payments']} payments ({done['paid_fen'] / 100:.2f} 元), {done['refunds']} refunds "
            f"({done['refunded_fen'] / 100:.2f} 元)",
            f"{done['expired_points']} points expired from {done['expired_lots']} lots, "
            f"{done['expired_coupons']} coupons expired",
            f"refused (as the API would answer): {refused or 'none'}",
            f"daily figures: {done['new']} days new, {done['changed']} changed, {done['unchanged']} unchanged"]


def written() -> bool:
    """Whether a history was written before (a demo member of one exists)."""
    return db.session.scalar(select(Member.id).where(Member.openid.startswith(OPENID_PREFIX)).limit(1)) is not None


def first_day(days: int) -> date:
    """The first business day of a history of `days` days ending yesterday."""
    return clock.today() - timedelta(days=days)


def write(days: int, member_count: int, *, progress=None) -> Counter:
    """Live `days` days up to yesterday with `member_count` members, then roll their figures up; what
    was done, counted. `progress(label)` gives a progress bar factory (click.progressbar) or None."""
    first, last = first_day(days), clock.today() - timedelta(days=1)
    _commit_without_waiting_for_the_disk()
    rng = random.Random(habits.SEED)
    day_of = _Day(rng, habits.population(rng, first, last, member_count), last)
    try:
        with with_progress_bar(progress and progress("days lived"), each_day(first, last)) as each:
            for day in each:
                day_of.live(day)
    finally:
        current_app.extensions["clock"].reset()
    day_of.done.update(rollup.roll(first, last, progress=progress and progress("days rolled up")))
    return day_of.done


def _commit_without_waiting_for_the_disk() -> None:
    """On SQLite, this connection's commits stop waiting for each write to reach the disk (WAL's
    synchronous=NORMAL: the database stays consistent after a crash, only the last commits may be lost):
    on a busy disk those waits were a third of a history's time. Every unit of work still commits as it would."""
    if db.engine.dialect.name != "sqlite":
        return
    db.session.commit()  # the session gives its connection back: the pragma may not change inside a transaction
    connection = db.engine.raw_connection()  # the pool's connection the session takes next
    try:
        connection.driver_connection.execute("PRAGMA synchronous=NORMAL")
    finally:
        connection.close()


def move_to(day: date, minute: int) -> None:
    """The app's clock at `minute` of business day `day`."""
    current_app.extensions["clock"].freeze(clock.start_of_day(day) + timedelta(minutes=minute))


class _Day:
    """The days of a history, one after another: its members, the refunds ahead and the counts."""

    def __init__(self, rng: random.Random, people: list[habits.Habit], last: date):
        self.rng, self.people = rng, people
        # WeChat Pay's bill of these days is matched by the worker against the sandbox, which never saw the
        # history's payments: none are made there, so no day waits for a person (the week shows no payments)
        self.unbilled_from = last - timedelta(days=bills.CATCH_UP_DAYS + 1)
        self.refunds_on: dict[date, list[tuple[int, int]]] = {}
        self.done = Counter()
        self.store_id = _id_of(Store, Store.name == data.DEMO_STORE)
        self.lottery_id = _id_of(Lottery, Lottery.name == data.DEMO_LOTTERY, Lottery.active)
        self.goods = {name: _id_of(Goods, Goods.name == name) for name in habits.GOODS}

    def live(self, day: date) -> None:
        move_to(day, 5)
        self._chores(day)
        for visit in habits.visits(self.rng, self.people, day):
            move_to(day, visit.minute)
            self._visit(day, visit)

    def _chores(self, day: date) -> None:
        """What the worker does as the day begins: expire due points and coupons; and the refunds due."""
        lots, expired = points.expire_due()
        self.done.update(expired_lots=lots, expired_points=expired, expired_coupons=coupons.expire_all_due())
        for payment_id, fen in self.refunds_on.pop(day, []):
            _refund(payment_id, fen)
            self.done.update(refunds=1, refunded_fen=fen)

    def _visit(self, day: date, visit: habits.Visit) -> None:
        habit = visit.habit
        if habit.member_id is None:
            habit.member_id = _join(habit.number)
            self.done["members"] += 1
        habit.visited.add(day)
        self._sign_in(day, habit)
        if visit.makes_up:
            self._attempt("makeups", signin.make_up, habit.member_id, visit.makes_up)
        if visit.shares and client_events.report(habit.member_id, type_="share", client_event_id=f"share-{day}"):
            self._claim(habit.member_id, "daily_share")
        if visit.browses:
            self._browse(day, habit.member_id)
        for _ in range(visit.draws):
            self._attempt("draws", lotteries.draw, habit.member_id, self.lottery_id)
        if visit.redeems:
            self._redeem(habit.member_id, self.goods[visit.redeems])
        if visit.pays_fen and day < self.unbilled_from:
            self._pay(day, habit.member_id, visit.pays_fen)

    def _sign_in(self, day: date, habit: habits.Habit) -> None:
        signin.sign_in(habit.member_id)
        habit.signed.add(day)
        self.done["signins"] += 1
        self._claim(habit.member_id, "daily_signin")
        week = day.isocalendar()[:2]
        if sum(1 for signed in habit.signed if signed.isocalendar()[:2] == week) == WEEKLY_SIGNINS:
            self._claim(habit.member_id, "weekly_signin")
        if len(habit.signed) in SIGNIN_TIERS:
            self._claim(habit.member_id, "signin_achievement")

    def _browse(self, day: date, member_id: int) -> None:
        for n in range(habits.BROWSES):
            client_events.report(member_id, type_="browse_goods", client_event_id=f"browse-{day}-{n}", duration_s=20)
        self._claim(member_id, "daily_browse")

    def _redeem(self, member_id: int, goods_id: int | None) -> None:
        if goods_id is not None:
            self._attempt("orders", orders.place_order, member_id, goods_id=goods_id, quantity=1, address=ADDRESS,
                          client_ip=CLIENT_IP)

    def _pay(self, day: date, member_id: int, amount_fen: int) -> None:
        payment_id = _pay(member_id, amount_fen, self.store_id)
        self.done.update(payments=1, paid_fen=amount_fen)
        for code in ("weekly_spend", "monthly_purchases"):
            self._claim(member_id, code)
        refund = habits.refund(self.rng, amount_fen)
        if refund and day + timedelta(days=refund[0]) < self.unbilled_from:
            later, fen = refund
            self.refunds_on.setdefault(day + timedelta(days=later), []).append((payment_id, fen))

    def _claim(self, member_id: int, code: str) -> None:
        self._attempt("claims", claims.claim, member_id, code)

    def _attempt(self, what: str, step, *args, **kwargs) -> None:
        """A step a member may be refused (not enough points, a limit, a task not done): counted either way."""
        try:
            step(*args, **kwargs)
        except (Conflict, NotFound) as refused:
            self.done[f"refused {what}: {refused.code}"] += 1
        else:
            self.done[what] += 1


def _id_of(model, *where) -> int | None:
    return db.session.scalar(select(model.id).where(*where).order_by(model.id).limit(1))


def _join(number: int) -> int:
    """A new demo member (as a first wx.login creates one), named, with a welcome grant that expires."""
    with transaction():
        member = members.create_member(f"{OPENID_PREFIX}{number:05d}")
        points.earn(member.id, WELCOME_POINTS, reason="welcome", business_key=f"welcome:{member.id}",
                    expires_at=clock.now() + timedelta(days=WELCOME_DAYS))
    members.update_profile(member, {"nickname": f"会员{number:03d}"})
    return member.id


def _pay(member_id: int, amount_fen: int, store_id: int | None) -> int:
    """A purchase in the demo store, paid: opened as POST /payments opens one, then settled as a verified
    WeChat Pay notification settles it (WeChat itself is not asked); the payment's id."""
    with transaction():
        payment = payments.open_payment(member_id, amount_fen=amount_fen, description="门店消费", store_id=store_id)
    out_trade_no = payment.out_trade_no
    payments.settle_paid(out_trade_no, total_fen=amount_fen, transaction_id=_transaction_id(payment.id))
    return payment.id


def _transaction_id(payment_id: int) -> str:
    return f"4200{payment_id:024d}"  # WeChat's are 28 digits


def _refund(payment_id: int, amount_fen: int) -> None:
    """A refund of a paid payment, recorded as an operator's is, then settled as WeChat's refund
    notification settles it (WeChat itself is not asked)."""
    with transaction():
        payment = payments.lock_payment(payment_id)
        refund = refunds.open_refund(payment, amount_fen=amount_fen, reason="顾客退货",
                                     request_key=f"demo-history:{payment_id}")
    refunds.settle_succeeded(refund.out_refund_no, refund_fen=amount_fen)
