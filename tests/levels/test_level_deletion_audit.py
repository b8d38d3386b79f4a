"""audit-ledger after an operator deletes or changes a level: a level history row keeps the two levels as
they were when the move was made (id, code, threshold), so a move down from a level deleted (or raised)
since is no rise without a gift, the history reads the same, and a gift missing is still reported.
Each test has a database of its own (conftest)."""
import pytest
from sqlalchemy import text

from models import db
from services.ledger import audit, growth
from services.platform.db import transaction
from tests.support.api import unique
from tests.support.audit import corrupted
from tests.support.dates import at
from tests.support.levels import evaluate, level_of, set_policy
from tests.support.payments import notify_xml, post_notify, start_payment

pytestmark = pytest.mark.usefixtures("long_tokens")  # the evaluation test travels years ahead


@pytest.fixture
def admin(operator):
    return operator()


def add_level(client, admin, code, threshold, **extra) -> int:
    res = client.post("/api/v1/admin/levels", headers=admin, json={"code": code, "name": code, "threshold": threshold,
                                                                   **extra})
    assert res.status_code == 201, res.get_json()
    return res.get_json()["id"]


def delete_level(client, admin, level_id):
    res = client.delete(f"/api/v1/admin/levels/{level_id}", headers=admin)
    assert res.status_code == 204, res.get_json()


def pack(client, admin, name) -> int:
    template = client.post("/api/v1/admin/coupon-templates", headers=admin, json={
        "name": name, "kind": "cash_off", "amount_fen": 500, "min_spend_fen": 0, "valid_days": 30}).get_json()
    return client.post("/api/v1/admin/coupon-packs", headers=admin, json={
        "name": name, "items": [{"template_id": template["id"], "quantity": 1}]}).get_json()["id"]


def earn(member, amount):
    with transaction():
        growth.earn(member["member"]["id"], amount, reason="purchase", business_key=unique("growth"))


def pay(client, wx, member, yuan):
    payment = start_payment(client, member, yuan * 100)
    assert post_notify(client, notify_xml(wx, payment["payment"]["out_trade_no"]))


def problems() -> list[str]:
    return audit.check_books()["problems"]


def moves(client, member) -> list[tuple[str, str, str]]:
    """The member's level history as they see it, oldest first."""
    return [(move["from"], move["to"], move["cause"]) for move in reversed(level_of(client, member)[1]["history"])]


def test_deleting_levels_members_held_reached_and_left_keeps_the_books_clean(app, client, wx, admin, make_member):
    """On the real clock: each step is a transaction of its own, at its own instant."""
    add_level(client, admin, "normal", 0)
    gold = add_level(client, admin, "gold", 200, levelup_pack_id=pack(client, admin, "gold pack"))
    above = make_member()
    pay(client, wx, above, 250)  # normal → gold
    silver = add_level(client, admin, "silver", 100, levelup_pack_id=pack(client, admin, "silver pack"))
    held, climbed = make_member(), make_member()
    pay(client, wx, held, 150)  # normal → silver
    earn(climbed, 120)
    earn(climbed, 100)  # normal → silver → gold
    assert problems() == []

    delete_level(client, admin, gold)  # `above` and `climbed` move down to silver: no rise, no silver gift owed
    assert level_of(client, above)[0] == level_of(client, climbed)[0] == "silver"
    assert problems() == []
    assert moves(client, above) == [("normal", "gold", "purchase"), ("gold", "silver", "ladder")]

    delete_level(client, admin, silver)  # everyone down to normal, from a level reached up and down
    assert {level_of(client, member)[0] for member in (above, held, climbed)} == {"normal"}
    assert problems() == []
    assert moves(client, climbed) == [("normal", "silver", "purchase"), ("silver", "gold", "purchase"),
                                      ("gold", "silver", "ladder"), ("silver", "normal", "ladder")]

    add_level(client, admin, "silver2", 100)  # the same threshold again: everyone moves up to it
    gold_again = add_level(client, admin, "gold", 200)  # the same code and threshold again
    assert {level_of(client, member)[0] for member in (above, climbed)} == {"gold"}
    assert level_of(client, held)[0] == "silver2"
    assert problems() == []
    earn(held, 100)
    assert level_of(client, held)[0] == "gold"
    delete_level(client, admin, gold_again)
    assert problems() == []


def test_a_missing_level_up_gift_is_still_reported_after_a_deletion(app, client, admin, make_member):
    add_level(client, admin, "normal", 0)
    silver = add_level(client, admin, "silver", 100, levelup_pack_id=pack(client, admin, "silver pack"))
    gold = add_level(client, admin, "gold", 200)
    member = make_member()
    earn(member, 150)
    earn(member, 100)  # normal → silver → gold
    delete_level(client, admin, silver)
    assert problems() == []
    member_id = member["member"]["id"]
    with gift_missing(f"levelup:{member_id}:{gold}"):
        assert [problem for problem in problems() if problem.startswith(f"member {member_id}:")] == [
            f"member {member_id}: reached level {gold} (gold) with no level-up gift recorded"]
    with gift_missing(f"levelup:{member_id}:{silver}"):  # the gift of the level deleted since
        found = problems()
        assert f"member {member_id}: reached level {silver} (silver) with no level-up gift recorded" in found
        assert f"level gift levelup:{member_id}:{silver}: paid without a level gift row" in found  # its coupons
    assert problems() == []


def gift_missing(key):
    """The level gift row under `key` deleted while the block runs, put back after it."""
    row = db.session.execute(text("SELECT member_id, kind, level_id, business_key, points, coupon_pack_id, created_at"
                                  " FROM level_gift WHERE business_key = :k"), {"k": key}).one()._asdict()
    db.session.rollback()
    return corrupted("DELETE FROM level_gift WHERE business_key = :business_key",
                     "INSERT INTO level_gift (member_id, kind, level_id, business_key, points, coupon_pack_id, created_at)"
                     " VALUES (:member_id, :kind, :level_id, :business_key, :points, :coupon_pack_id, :created_at)", **row)


def test_a_move_down_stays_a_move_down_when_its_level_is_raised_or_deleted_later(app, client, admin, clock,
                                                                                make_member):
    clock.freeze(at("2030-03-01T10:00:00+08:00"))
    add_level(client, admin, "normal", 0)
    add_level(client, admin, "gold", 200)
    set_policy(client, admin, "calendar_year", "one_level")
    member = make_member()
    earn(member, 250)  # 2030: gold
    silver = add_level(client, admin, "silver", 100)  # below the member: no gift
    evaluate(app, clock, "2032-01-01T00:30:00+08:00")  # 2031 earned nothing: gold → silver
    assert level_of(client, member)[0] == "silver"
    assert problems() == []
    res = client.patch(f"/api/v1/admin/levels/{silver}", headers=admin, json={"threshold": 300})
    assert res.status_code == 200, res.get_json()  # silver now above gold: the move down was still no rise
    assert problems() == []
    delete_level(client, admin, silver)  # its members move to the level below 300: gold
    assert level_of(client, member)[0] == "gold"
    assert problems() == []
    assert moves(client, member) == [("normal", "gold", "purchase"), ("gold", "silver", "evaluation"),
                                     ("silver", "gold", "ladder")]


def test_an_evaluation_run_after_the_level_held_at_its_due_time_was_deleted(app, client, admin, clock, make_member):
    clock.freeze(at("2030-03-01T10:00:00+08:00"))
    add_level(client, admin, "normal", 0)
    add_level(client, admin, "silver", 100)
    gold = add_level(client, admin, "gold", 200)
    set_policy(client, admin, "calendar_year", "one_level")
    member = make_member()
    earn(member, 250)
    evaluate(app, clock, "2031-01-01T00:30:00+08:00")  # 2030's growth keeps gold
    clock.freeze(at("2032-01-01T00:10:00+08:00"))  # after the evaluation's due time, before the job
    delete_level(client, admin, gold)  # gold → silver
    evaluate(app, clock, "2032-01-01T01:00:00+08:00")  # one level down from gold, where the member is
    assert level_of(client, member)[0] == "silver"
    assert problems() == []
