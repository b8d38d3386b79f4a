"""Races of real requests on one member's money (PostgreSQL in CI's second pass): one lock order, so
no deadlock; counted limits counted under the member's lock; a level change recorded once."""
import random

import pytest
import requests
from sqlalchemy import event, func, select

from models import LevelChange, Payment, db
from models.coupon import Coupon
from services.ledger import audit, growth
from services.platform.db import transaction
from tests.support.api import unique
from tests.support.payments import SUCCESS, notify_xml, start_payment, store_with_rule
from tests.support.races import race


@pytest.fixture
def top_level(client, operator):
    """A level of its own far above everyone else's growth; removed afterwards."""
    admin = operator()
    threshold = random.randrange(500_000_000, 900_000_000)
    res = client.post("/api/v1/admin/levels", headers=admin, json={
        "code": unique("top").replace("-", "_")[:32], "name": "顶级", "threshold": threshold})
    assert res.status_code == 201, res.get_json()
    level = res.get_json()
    yield level
    assert client.delete(f"/api/v1/admin/levels/{level['id']}", headers=admin).status_code == 204


def test_a_sign_in_and_a_level_up_payment_of_one_member_never_deadlock(live_server, client, wx, make_member,
                                                                       top_level):
    """Sign-in locks the member, then the accounts; a payment that moves the member up a level used to
    lock the accounts, then the member (to change the level): on PostgreSQL the two deadlocked."""
    pairs = []
    for _ in range(10):
        member = make_member(growth_=top_level["threshold"] - 50)
        started = start_payment(client, member, 10000)
        pairs.append((member, notify_xml(wx, started["payment"]["out_trade_no"])))
    calls = []
    for member, xml in pairs:
        calls.append(lambda m=member: requests.post(f"{live_server}/api/v1/signin", headers=m["headers"], timeout=60))
        calls.append(lambda x=xml: requests.post(f"{live_server}/api/v1/payments/wechat/notify", data=x, timeout=60))
    answers = race(calls)
    signins, notifies = answers[0::2], answers[1::2]
    assert [res.status_code for res in signins] == [200] * len(pairs), [res.text for res in signins]
    assert all(SUCCESS in res.text for res in notifies), [res.text for res in notifies]
    for member, _ in pairs:
        me = client.get("/api/v1/me", headers=member["headers"]).get_json()
        assert me["level"]["code"] == top_level["code"]
    assert audit.check_books()["problems"] == []


def test_parallel_notifies_under_a_per_member_limit_of_one_hand_out_one_pack(live_server, client, wx, operator,
                                                                             make_member):
    shop = store_with_rule(client, operator(), min_amount_fen=0, per_member_limit=1, coupon={
        "name": "限领一次", "kind": "cash_off", "amount_fen": 500, "min_spend_fen": 0, "valid_days": 30})
    member = make_member()
    # under one yuan: no points or growth, so nothing else serialises the four
    xmls = [notify_xml(wx, start_payment(client, member, 99, store_id=shop["store_id"])["payment"]["out_trade_no"])
            for _ in range(4)]
    answers = race([lambda x=xml: requests.post(f"{live_server}/api/v1/payments/wechat/notify", data=x, timeout=60)
                     for xml in xmls])
    assert all(SUCCESS in res.text for res in answers), [res.text for res in answers]
    db.session.rollback()
    ruled = db.session.scalar(select(func.count()).select_from(Payment).where(
        Payment.member_id == member["member"]["id"], Payment.rule_id == shop["rule_id"]))
    issued = db.session.scalar(select(func.count()).select_from(Coupon).where(
        Coupon.member_id == member["member"]["id"], Coupon.template_id == shop["template_id"]))
    assert (ruled, issued) == (1, 1)  # was four packs for four parallel notifies
    assert audit.check_books()["problems"] == []


def test_parallel_growth_earnings_record_a_level_change_once(app, make_member, top_level):
    member_id = make_member(growth_=top_level["threshold"] - 5)["member"]["id"]

    def earn(n):
        with app.app_context(), transaction():
            growth.earn(member_id, 10, reason="race", business_key=f"race-level:{member_id}:{n}")

    race([lambda n=n: earn(n) for n in range(8)])
    db.session.rollback()
    changes = db.session.execute(select(LevelChange.from_level_id, LevelChange.to_level_id).where(
        LevelChange.member_id == member_id, LevelChange.to_level_id == top_level["id"])).all()
    assert len(changes) == 1, changes
    assert db.session.scalar(select(func.count()).select_from(LevelChange).where(
        LevelChange.member_id == member_id, LevelChange.from_level_id == LevelChange.to_level_id)) == 0


class _Statements:
    """The SQL statements the app sends while the block runs."""

    def __init__(self):
        self.seen: list[str] = []

    def _record(self, conn, cursor, statement, params, context, executemany):
        self.seen.append(" ".join(statement.split()))

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._record)

    def first(self, *fragments: str) -> int:
        return next((n for n, sql in enumerate(self.seen) if all(f in sql for f in fragments)), len(self.seen))


def _member_locked_before_accounts(statements: _Statements) -> None:
    member_lock = statements.first("FROM member", "FOR UPDATE")
    accounts = min(statements.first("points_account"), statements.first("growth_account"))
    assert accounts < len(statements.seen), "no account touched"
    assert member_lock < accounts, "\n".join(statements.seen[:accounts + 1])


def test_every_money_path_locks_its_member_before_the_accounts(app, client, wx, make_member, operator):
    """The lock order, read off the statements each unit of work sends (PostgreSQL: row locks)."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has no row locks: BEGIN IMMEDIATE serialises every writing transaction")
    member, admin = make_member(points_=10), operator()
    started = start_payment(client, member, 10000)
    xml = notify_xml(wx, started["payment"]["out_trade_no"])
    db.session.remove()
    with _Statements() as payment:  # was: the accounts first, the member last (a level change)
        assert SUCCESS in client.post("/api/v1/payments/wechat/notify", data=xml, content_type="text/xml").text
    _member_locked_before_accounts(payment)
    with _Statements() as signin:
        assert client.post("/api/v1/signin", headers=member["headers"]).status_code == 200
    _member_locked_before_accounts(signin)
    with _Statements() as adjust:
        res = client.post(f"/api/v1/admin/members/{member['member']['id']}/points", json={"delta": -5, "reason": "lock order"},
                          headers={**admin, "Idempotency-Key": unique("adjust")})
        assert res.status_code == 200
    _member_locked_before_accounts(adjust)
    refund = client.post(f"/api/v1/admin/payments/{started['payment']['id']}/refund", json={
        "amount_fen": 5000, "reason": "退货"}, headers={**admin, "Idempotency-Key": unique("refund")}).get_json()
    refund_xml = wx.post(f"refunds/{refund['out_refund_no']}/notify", send=False)["xml"]
    with _Statements() as refunded:
        res = client.post("/api/v1/payments/wechat/refund-notify", data=refund_xml, content_type="text/xml")
        assert SUCCESS in res.text
    _member_locked_before_accounts(refunded)
