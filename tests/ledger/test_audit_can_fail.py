"""audit-ledger can fail: each invariant, broken by hand in SQL, is named in the report and the
command exits 1; mended, the books are clean again."""

import pytest

from services.ledger import points
from services.platform.db import transaction
from tests.support.api import unique
from tests.support.audit import assert_reported, audit, corrupted


@pytest.fixture
def member_id(make_member):
    """A member with points in two lots, one of them partly spent, and some growth."""
    member = make_member(points_=100, growth_=10)
    member_id = member["member"]["id"]
    with transaction():
        points.earn(member_id, 50, reason="test", business_key=unique("second-lot"))
        points.spend(member_id, 30, reason="test", business_key=unique("spend"))
    return member_id


def test_the_books_are_clean_to_begin_with(app, member_id):
    code, output = audit(app)
    assert code == 0 and "ledger clean" in output, output
    checks = next(line for line in output.splitlines() if line.startswith("checks: ")).split(";")[0]
    assert {"points", "growth", "payments", "coupons", "tasks", "lottery"} <= set(checks[8:].split(", "))


@pytest.mark.parametrize("breaking,mending,names", [
    ("UPDATE points_account SET balance = balance + 7, lifetime_earned = lifetime_earned + 7 WHERE member_id = :m",
     "UPDATE points_account SET balance = balance - 7, lifetime_earned = lifetime_earned - 7 WHERE member_id = :m",
     ["points balance: member_id={m}", "lots' remainders: member_id={m}"]),
    ("UPDATE points_account SET lifetime_spent = lifetime_spent + 1 WHERE member_id = :m",
     "UPDATE points_account SET lifetime_spent = lifetime_spent - 1 WHERE member_id = :m",
     ["points lifetime_spent: member_id={m}", "points counters: member_id={m}"]),
    ("UPDATE points_lot SET remaining = remaining - 1 WHERE id = (SELECT MAX(id) FROM points_lot WHERE member_id = :m)",
     "UPDATE points_lot SET remaining = remaining + 1 WHERE id = (SELECT MAX(id) FROM points_lot WHERE member_id = :m)",
     ["lots' remainders: member_id={m}", "lot allocations"]),
    ("INSERT INTO points_hold (member_id, amount, status, reason, business_key, created_at) "
     "VALUES (:m, 5, 'open', 'corrupt', 'corrupt-hold-' || :m, CURRENT_TIMESTAMP)",
     "DELETE FROM points_hold WHERE business_key = 'corrupt-hold-' || :m",
     ["frozen points: member_id={m} cached 0 but entries say 5"]),
    ("UPDATE growth_account SET total = total + 3, lifetime = lifetime + 3 WHERE member_id = :m",
     "UPDATE growth_account SET total = total - 3, lifetime = lifetime - 3 WHERE member_id = :m",
     ["growth total: member_id={m}", "growth lifetime: member_id={m}"]),
], ids=["balance", "counter", "lot", "hold", "growth"])
def test_a_broken_ledger_invariant_is_reported_and_exits_1(app, member_id, breaking, mending, names):
    with corrupted(breaking, mending, m=member_id):
        assert_reported(app, *(name.format(m=member_id) for name in names))
    code, output = audit(app)
    assert code == 0, output
