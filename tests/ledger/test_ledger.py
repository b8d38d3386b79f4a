"""The points ledger: random sequences keep every invariant; replays change nothing."""
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from models import GrowthAccount, PointsAccount, PointsEntry, PointsLot, db
from services.ledger import audit, growth, points
from services.members import members
from services.platform import clock
from services.platform.db import transaction
from services.platform.errors import Conflict, InsufficientPoints, MemberFrozen
from tests.support.api import unique


def _account(member_id):
    db.session.expire_all()
    account = db.session.get(PointsAccount, member_id)
    return account.balance, account.frozen


def _available(member_id):
    """Balance less frozen less what lots past their expiry still hold (not spendable before the job)."""
    balance, frozen = _account(member_id)
    due = db.session.scalar(select(func.coalesce(func.sum(PointsLot.remaining), 0)).where(
        PointsLot.member_id == member_id, PointsLot.expires_at <= clock.now()))
    return max(balance - frozen - due, 0)


def _entries(member_id):
    return db.session.query(PointsEntry).filter_by(member_id=member_id).count()


class LedgerMachine(RuleBasedStateMachine):
    """Drives the ledger service API the other areas call; the audit must hold after every step."""

    @initialize()
    def setup(self):
        with transaction():
            self.member_ids = [members.create_member(unique("openid")).id for _ in range(2)]
        self.done = []   # (function, args, kwargs) of every successful call, for replays
        self.earns, self.spends, self.open_holds = [], [], []

    def _do(self, fn, *args, **kwargs):
        with transaction():
            result = fn(*args, **kwargs)
        self.done.append((fn, args, kwargs))
        return result

    @rule(who=st.integers(0, 1), amount=st.integers(1, 500), days=st.integers(1, 60))
    def earn(self, who, amount, days):
        key = unique("earn")
        self._do(points.earn, self.member_ids[who], amount, reason="test", business_key=key,
                 expires_at=clock.now() + timedelta(days=days))
        self.earns.append(key)

    @rule(who=st.integers(0, 1), amount=st.integers(1, 400))
    def spend(self, who, amount):
        member_id, key = self.member_ids[who], unique("spend")
        before, available = _account(member_id), _available(member_id)
        try:
            self._do(points.spend, member_id, amount, reason="test", business_key=key)
            self.spends.append(key)
            assert amount <= available
        except InsufficientPoints:
            assert amount > available
            assert _account(member_id) == before

    @rule(who=st.integers(0, 1), amount=st.integers(1, 300))
    def hold(self, who, amount):
        member_id, key = self.member_ids[who], unique("hold")
        try:
            self._do(points.hold, member_id, amount, reason="order", business_key=key)
            self.open_holds.append(key)
        except InsufficientPoints:
            pass

    @precondition(lambda self: self.open_holds)
    @rule(data=st.data(), settle=st.sampled_from(["post", "release"]))
    def settle_hold(self, data, settle):
        key = self.open_holds.pop(data.draw(st.integers(0, len(self.open_holds) - 1)))
        if settle == "post":
            self._do(points.post, key, business_key=f"post:{key}")
            self.spends.append(f"post:{key}")
        else:
            self._do(points.release, key)

    @precondition(lambda self: self.earns or self.spends)
    @rule(data=st.data(), part=st.integers(1, 600) | st.none())
    def reverse(self, data, part):
        key = data.draw(st.sampled_from(self.earns + self.spends))
        self._do(points.reverse, key, business_key=unique("reverse"), amount=part)

    @rule(days=st.integers(1, 40))
    def time_passes_and_lots_expire(self, days):
        clock.current_app.extensions["clock"].advance(timedelta(days=days))
        for lot_id in points.due_lot_ids():
            with transaction():  # not kept for replays: the lots are the whole table's, not this example's
                points.expire_lot(lot_id)

    @precondition(lambda self: self.done)
    @rule(data=st.data())
    def replay_changes_nothing(self, data):
        fn, args, kwargs = data.draw(st.sampled_from(self.done))
        before = [(_account(m), _entries(m)) for m in self.member_ids]
        try:
            with transaction():
                fn(*args, **kwargs)
        except Conflict:
            pass  # posting a released hold, releasing a posted one: refused, nothing written
        assert [(_account(m), _entries(m)) for m in self.member_ids] == before

    @invariant()
    def audit_is_clean(self):
        assert audit.check_books()["problems"] == []


def test_random_ledger_sequences_keep_invariants(clock):
    clock.freeze(clock.now())
    runner = LedgerMachine.TestCase
    runner.settings = settings(max_examples=25, stateful_step_count=30, deadline=None,
                               suppress_health_check=list(HealthCheck))
    runner("runTest").runTest()


def test_same_key_with_other_amount_is_409(make_member):
    member_id = make_member()["member"]["id"]
    key = unique("earn")
    with transaction():
        first = points.earn(member_id, 10, reason="test", business_key=key)
    with transaction():
        assert points.earn(member_id, 10, reason="test", business_key=key) == first
    with pytest.raises(Conflict) as exc, transaction():
        points.earn(member_id, 11, reason="test", business_key=key)
    assert exc.value.code == "idempotency_conflict"
    assert _account(member_id) == (10, 0)


def test_spend_draws_soonest_expiring_lot_first_and_refund_goes_back(make_member, clock):
    member_id = make_member()["member"]["id"]
    now = clock.now()
    with transaction():
        points.earn(member_id, 100, reason="test", business_key=unique("late"), expires_at=now + timedelta(days=90))
        points.earn(member_id, 50, reason="test", business_key=unique("soon"), expires_at=now + timedelta(days=10))
        spent = points.spend(member_id, 70, reason="test", business_key=unique("spend"))
    summary = points.summary(member_id)
    assert summary["balance"] == 80
    assert [e["points"] for e in summary["expiring"]] == [80]  # the soon lot is empty, 80 left of the late one
    with transaction():
        points.reverse(spent.business_key, business_key=unique("refund"))
    assert [e["points"] for e in points.summary(member_id)["expiring"]] == [50, 100]


def test_expiry_removes_only_what_is_left_and_spares_frozen_points(make_member, clock):
    member_id = make_member()["member"]["id"]
    now = clock.now()
    with transaction():
        points.earn(member_id, 100, reason="test", business_key=unique("earn"), expires_at=now + timedelta(days=1))
        points.spend(member_id, 30, reason="test", business_key=unique("spend"))
        points.hold(member_id, 50, reason="order", business_key=(hold_key := unique("hold")))
    clock.freeze(now + timedelta(days=2))
    for lot_id in points.due_lot_ids():
        with transaction():
            points.expire_lot(lot_id)
    assert _account(member_id) == (50, 50)  # 20 expired; the 50 held are kept for the order
    with transaction():
        points.release(hold_key)
    for lot_id in points.due_lot_ids():
        with transaction():
            points.expire_lot(lot_id)
    assert _account(member_id) == (0, 0)


def test_clawback_never_goes_negative(make_member):
    member_id = make_member()["member"]["id"]
    with transaction():
        earned = unique("earn")
        points.earn(member_id, 100, reason="purchase", business_key=earned)
        points.spend(member_id, 80, reason="mall", business_key=unique("spend"))
        entry = points.reverse(earned, business_key=unique("refund"))
    assert entry.delta == -20 and entry.meta["shortfall"] == 80
    assert _account(member_id) == (0, 0)


def test_frozen_member_earns_nothing_but_an_operator_may_debit(make_member, operator, client):
    member = make_member(points_=10, growth_=10)
    member_id, admin = member["member"]["id"], operator()
    res = client.patch(f"/api/v1/admin/members/{member_id}", headers=admin,
                       json={"status": "frozen", "reason": "fraud check"})
    assert res.status_code == 200
    res = client.post(f"/api/v1/admin/members/{member_id}/points", headers={**admin, "Idempotency-Key": unique("k")},
                      json={"delta": 5, "reason": "test"})
    assert res.status_code == 409 and res.get_json()["error"]["code"] == "member_frozen"
    res = client.post(f"/api/v1/admin/members/{member_id}/points", headers={**admin, "Idempotency-Key": unique("k")},
                      json={"delta": -5, "reason": "test"})
    assert res.status_code == 200 and res.get_json() == {"balance": 5}
    for earn in (lambda: growth.earn(member_id, 5, reason="test", business_key=unique("g")),
                 lambda: points.earn(member_id, 5, reason="test", business_key=unique("p"))):
        with pytest.raises(MemberFrozen), transaction():
            earn()
    res = client.post("/api/v1/signin", headers=member["headers"])
    assert res.status_code == 409 and res.get_json()["error"]["code"] == "member_frozen"
    assert db.session.get(GrowthAccount, member_id).total == 10
