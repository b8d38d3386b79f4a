"""The books of a programme that has run for a while, written in bulk for bench/stats.py: members joining
over the days, points and growth entries, sign-ins (some made up), payments and refunds, mall orders,
task claims, lottery draws, coupons and the guides' work, each at a random instant of its member's days.
Not through the services (that would take hours): rows as the services leave them, as far as the figures
read them."""
import random
import time
from datetime import datetime, timedelta

from sqlalchemy import insert

from models import (Goods, GrowthEntry, Guide, GuideBindingChange, GuideScan, Level, LevelChange, Lottery, LotteryDraw,
                    LotteryPrize, MallOrder, Member, Payment, PointsEntry, Refund, Store, StorePurchase, Task,
                    TaskClaim, db)
from models.coupon import Coupon, CouponIssue, CouponPack, CouponTemplate
from models.signin import SigninRecord
from services.platform import clock

BATCH = 20_000
EARN = (("signin", 40), ("purchase", 15), ("task", 10), ("store_purchase", 3), ("lottery_prize", 2))
SPEND = (("mall", 10), ("lottery", 8), ("signin_makeup", 2))


class Seed:
    def __init__(self, *, members: int, entries: int, days: int, level_moves: int, seed: int = 42):
        self.rng, self.members, self.entries, self.level_moves = random.Random(seed), members, entries, level_moves
        self.end = clock.start_of_day(clock.today())  # the books end when today begins
        self.start = self.end - timedelta(days=days)
        self.joined: list[datetime] = []

    def run(self) -> dict:
        counts, started = {}, time.monotonic()
        refs = self._references()
        for table, rows in self._tables(refs):
            counts[table.name] = _bulk(table, rows)
            print(f"==> {table.name}: {counts[table.name]:,} rows ({time.monotonic() - started:.0f}s)", flush=True)
        return counts

    def _tables(self, refs):
        m, n = self.members, self.entries
        yield Member.__table__, self._members(refs)
        yield PointsEntry.__table__, self._points(n)
        yield LevelChange.__table__, ({"member_id": i, "from_level_id": refs["normal"], "to_level_id": refs["silver"],
                                       "growth_total": 1000, "cause": "growth", "created_at": self._after(i)}
                                      for i in self._some(self.level_moves, repeat=True))
        yield GrowthEntry.__table__, ({**self._entry(i, j, "earn", "signin", 1), "total_after": 1}
                                      for j, i in enumerate(self._some(n // 4, repeat=True)))
        yield SigninRecord.__table__, self._signins(refs)
        yield Payment.__table__, self._payments(m // 2)
        yield Refund.__table__, ({"payment_id": p, "out_refund_no": f"R{p}", "request_key": f"r{p}", "amount_fen": 100,
                                  "reason": "bench", "status": "succeeded", "created_at": self._at(), "points_reversed": 1}
                                 for p in self.rng.sample(range(1, m // 2 + 1), m // 50))
        yield MallOrder.__table__, ({"order_no": f"O{k}", "member_id": i, "goods_id": refs["goods"], "goods_name": "g",
                                     "kind": "physical", "quantity": 1, "points": 100, "amount_fen": 0, "status": "paid",
                                     "created_at": (at := self._after(i)), "paid_at": at}
                                    for k, i in enumerate(self._some(m // 4, repeat=True)))
        yield TaskClaim.__table__, ({"task_id": refs["task"], "member_id": i, "period_key": str(k), "business_key": f"t{k}",
                                     "points": 10, "created_at": self._after(i)}
                                    for k, i in enumerate(self._some(m // 2, repeat=True)))
        yield LotteryDraw.__table__, ({"lottery_id": refs["lottery"], "member_id": i, "prize_id": refs["prize"] if k % 3 else None,
                                       "day": clock.local(at := self._after(i)).date(), "points_spent": 10, "weights": {},
                                       "business_key": f"l{k}", "created_at": at}
                                      for k, i in enumerate(self._some(m // 4, repeat=True)))
        yield CouponIssue.__table__, ({"business_key": f"i{k}", "member_id": i, "pack_id": refs["pack"], "source": "payment",
                                       "created_at": self._after(i)} for k, i in enumerate(self._some(m // 2, repeat=True)))
        yield Coupon.__table__, self._coupons(m // 2, refs)
        yield GuideBindingChange.__table__, ({"member_id": i, "to_guide_id": refs["guide"], "how": "store_assigned",
                                              "created_at": self._after(i)} for i in self._some(m // 5))
        yield GuideScan.__table__, ({"guide_id": refs["guide"], "member_id": i, "scanned_at": self._after(i)}
                                    for i in self._some(m // 5, repeat=True))
        yield StorePurchase.__table__, ({"store_id": refs["store"], "guide_id": refs["guide"], "member_id": i,
                                         "receipt_no": str(k), "amount_fen": 5000, "points": 50, "growth": 50,
                                         "created_at": self._after(i)} for k, i in enumerate(self._some(m // 10, repeat=True)))

    def _references(self) -> dict:
        now = clock.now()
        one = lambda model, **values: db.session.execute(insert(model).returning(model.id), values).scalar()
        refs = {"normal": one(Level, code="normal", name="普通", threshold=0, created_at=now),
                "silver": one(Level, code="silver", name="白银", threshold=1000, created_at=now),
                "store": one(Store, name="bench", created_at=now),
                "task": one(Task, code="bench", title="bench", kind="daily", event="signin", created_at=now,
                            updated_at=now),
                "lottery": one(Lottery, name="bench", cost_points=10, daily_limit=5, created_at=now),
                "goods": one(Goods, name="bench", kind="physical", price_points=100, price_fen=0, total=10**7,
                             stock=10**7, created_at=now, updated_at=now),
                "template": one(CouponTemplate, name="bench", kind="cash_off", amount_fen=100, valid_days=30,
                                created_at=now),
                "pack": one(CouponPack, name="bench", created_at=now)}
        refs["guide"] = one(Guide, store_id=refs["store"], name="bench", phone="13900000000", password_hash="x",
                            created_at=now)
        refs["prize"] = one(LotteryPrize, lottery_id=refs["lottery"], name="10 points", kind="points", points=10, weight=1)
        db.session.commit()
        return refs

    def _members(self, refs):
        self.joined = sorted(self._at() for _ in range(self.members))
        for i, at in enumerate(self.joined, start=1):
            yield {"id": i, "openid": f"bench-{i}", "level_id": refs["normal"], "created_at": at, "updated_at": at}

    def _points(self, count: int):
        kinds = [("earn", reason) for reason, weight in EARN for _ in range(weight)] + [
            ("spend", reason) for reason, weight in SPEND for _ in range(weight)] + [("expire", "expired")] * 5 + [
            ("reverse", "refund")] * 5
        for j in range(count):
            kind, reason = self.rng.choice(kinds)
            member = self.rng.randint(1, self.members)
            delta = self.rng.randint(1, 100) * (1 if kind == "earn" else -1)
            yield {**self._entry(member, j, kind, reason, delta), "balance_after": self.rng.randint(0, 5000)}

    def _entry(self, member: int, key: int, kind: str, reason: str, delta: int) -> dict:
        return {"member_id": member, "delta": delta, "kind": kind, "reason": reason, "business_key": f"b{key}",
                "created_at": self._after(member)}

    def _signins(self, refs):
        """About three days a member: most signed on the day, some made up days later."""
        for member in range(1, self.members + 1):
            first = clock.local(self.joined[member - 1]).date()
            span = (clock.local(self.end).date() - first).days
            for n, offset in enumerate(sorted(self.rng.sample(range(span), min(3, span)))):
                day = first + timedelta(days=offset)
                made_up = self.rng.random() < 0.03
                at = clock.start_of_day(day + timedelta(days=1 if made_up else 0)) + timedelta(hours=2)
                yield {"member_id": member, "day": day, "kind": "made_up" if made_up else "signed", "streak": n + 1,
                       "cycle_day": None if made_up else n % 7 + 1, "points": 5, "growth": 1, "coupons": [],
                       "bonus": [], "badges": [], "created_at": min(at, self.end - timedelta(seconds=1))}

    def _payments(self, count: int):
        for p in range(1, count + 1):
            member = self.rng.randint(1, self.members)
            at = self._after(member)
            yield {"id": p, "out_trade_no": f"P{p}", "member_id": member, "kind": "purchase", "description": "bench",
                   "original_amount_fen": 8800, "amount_fen": 8800, "status": "paid", "created_at": at,
                   "expires_at": at + timedelta(minutes=15), "paid_at": at, "reward_status": "rewarded"}

    def _coupons(self, count: int, refs: dict):
        for k in range(count):
            member = self.rng.randint(1, self.members)
            issued = self._after(member)
            used = self.rng.random() < 0.3
            yield {"code": f"C{k:015d}", "template_id": refs["template"], "member_id": member, "issue_id": self.rng.randint(1, count),
                   "status": "used" if used else "unused", "source": "payment", "business_key": f"c{k}",
                   "issued_at": issued, "valid_from": issued, "valid_until": issued + timedelta(days=30),
                   "used_at": issued + timedelta(hours=1) if used else None, "used_ref": f"guide:{refs['guide']}" if used else None}

    def _at(self) -> datetime:
        return self.start + (self.end - self.start) * self.rng.random()

    def _after(self, member: int) -> datetime:
        """An instant between the member's joining and the end of the books."""
        joined = self.joined[member - 1]
        return joined + (self.end - joined) * self.rng.random()

    def _some(self, count: int, *, repeat: bool = False):
        if repeat:
            return (self.rng.randint(1, self.members) for _ in range(count))
        return iter(self.rng.sample(range(1, self.members + 1), min(count, self.members)))


def _bulk(table, rows) -> int:
    """Insert the rows in batches (a multi-row INSERT each, one transaction a batch)."""
    total, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            total += _insert(table, batch)
            batch = []
    return total + (_insert(table, batch) if batch else 0)


def _insert(table, batch) -> int:
    db.session.execute(insert(table), batch)
    db.session.commit()
    return len(batch)
