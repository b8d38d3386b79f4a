"""Level windows and downgrades across year (and month) ends, refunds under each policy, GET /me/level,
and audit-ledger replaying the policy. Each test has a database of its own (conftest)."""
import pytest
from sqlalchemy import text

from models import LevelChange, db
from services.ledger import growth
from services.platform.db import transaction
from tests.support.api import unique
from tests.support.audit import assert_reported, audit, corrupted
from tests.support.dates import at
from tests.support.levels import evaluate, level_of, set_policy

LADDER = (("normal", 0), ("silver", 100), ("gold", 200), ("platinum", 300))

pytestmark = pytest.mark.usefixtures("long_tokens")  # these tests travel years ahead


@pytest.fixture
def admin(client, operator, clock):
    clock.freeze(at("2030-03-01T10:00:00+08:00"))
    headers = operator()
    for code, threshold in LADDER:
        res = client.post("/api/v1/admin/levels", headers=headers, json={"code": code, "name": code, "threshold": threshold})
        assert res.status_code == 201, res.get_json()
    return headers




def earn(member, amount):
    key = unique("growth")
    with transaction():
        growth.earn(member["member"]["id"], amount, reason="purchase", business_key=key)
    return key


def refund(key, amount):
    """What a refund does to growth: it reverses (part of) the purchase's entry."""
    with transaction():
        growth.reverse(key, business_key=unique("refund"), amount=amount, reason="refund")






def test_a_policy_change_waits_for_the_next_evaluation(client, admin, clock):
    body = set_policy(client, admin, "calendar_year", "one_level")
    assert (body["growth_window"], body["downgrade"]) == ("lifetime", "none")  # still the default
    assert body["pending"]["growth_window"] == "calendar_year"
    assert body["pending"]["effective_from"] == body["next_evaluation"] == "2030-12-31T16:00:00+00:00"
    replaced = set_policy(client, admin, "rolling_12_months", "one_level")
    assert replaced["pending"]["growth_window"] == "rolling_12_months"
    clock.freeze(at("2031-01-01T00:00:00+08:00"))
    now = client.get("/api/v1/admin/level-policy", headers=admin).get_json()
    assert (now["growth_window"], now["pending"]) == ("rolling_12_months", None)
    assert now["next_evaluation"] == "2031-01-31T16:00:00+00:00"  # monthly from now on


def test_lifetime_without_downgrade_keeps_the_level_through_a_refund_and_every_year_end(app, client, admin, clock,
                                                                                       make_member):
    set_policy(client, admin, "lifetime", "none")  # in force from 2031: the same as the default
    member = make_member()
    key = earn(member, 250)
    refund(key, 200)
    assert level_of(client, member)[0] == "gold"
    for year in (2031, 2032):
        evaluate(app, clock, f"{year}-01-01T01:00:00+08:00")
        code, body = level_of(client, member)
        assert (code, body["growth"], body["keep"]) == ("gold", 50, None)
    assert [(move["from"], move["to"], move["cause"]) for move in body["history"]] == [("normal", "gold", "purchase")]


def test_calendar_year_one_level_down_per_year_end_and_a_refund_counts_at_the_next(app, client, admin, clock,
                                                                                  make_member, wx):
    set_policy(client, admin, "calendar_year", "one_level")
    member = make_member()
    earn(member, 250)  # 2030: gold
    evaluate(app, clock, "2031-01-01T00:30:00+08:00")  # 2030's growth keeps gold
    code, body = level_of(client, member)
    assert (code, body["growth"], body["growth_window"]) == ("gold", 0, "calendar_year")
    assert body["keep"] == {"growth_needed": 200, "at_risk": True}
    assert body["next_evaluation"] == "2031-12-31T16:00:00+00:00"
    clock.freeze(at("2031-06-01T10:00:00+08:00"))
    key = earn(member, 310)  # platinum, in the year's window
    refund(key, 260)  # 50 left in 2031: still platinum until the year ends
    assert level_of(client, member)[0] == "platinum"
    evaluate(app, clock, "2032-01-01T00:10:00+08:00")
    assert level_of(client, member)[0] == "gold"  # one level down, not to normal
    evaluate(app, clock, "2033-01-01T00:10:00+08:00")
    code, body = level_of(client, member)
    assert code == "silver"
    assert [move["cause"] for move in body["history"]][:2] == ["evaluation", "evaluation"]
    again = evaluate(app, clock, "2033-01-01T05:00:00+08:00")  # the job again: nothing more
    assert "no evaluation due" in again and level_of(client, member)[0] == "silver"


def test_rolling_twelve_months_evaluated_each_month(app, client, admin, clock, make_member):
    set_policy(client, admin, "rolling_12_months", "one_level")  # from 2031-01-01, then monthly
    member = make_member()
    clock.freeze(at("2031-03-10T10:00:00+08:00"))
    key = earn(member, 260)
    refund(key, 30)  # 230: gold
    evaluate(app, clock, "2032-03-01T08:00:00+08:00")  # catches up every month since 2031-01; keeps gold
    assert level_of(client, member)[0] == "gold"
    evaluate(app, clock, "2032-04-01T08:00:00+08:00")  # the earning left the window
    assert level_of(client, member)[0] == "silver"
    evaluate(app, clock, "2032-05-01T08:00:00+08:00")
    code, body = level_of(client, member)
    assert code == "normal" and body["next_evaluation"] == "2032-05-31T16:00:00+00:00"


def test_lifetime_one_level_lowers_after_a_refund_at_the_year_end_only(app, client, admin, clock, make_member):
    set_policy(client, admin, "lifetime", "one_level")
    member = make_member()
    key = earn(member, 320)
    refund(key, 280)  # 40 left: platinum until the evaluation
    assert level_of(client, member)[0] == "platinum"
    evaluate(app, clock, "2031-01-01T02:00:00+08:00")
    assert level_of(client, member)[0] == "gold"
    clock.freeze(at("2031-05-01T10:00:00+08:00"))
    earn(member, 170)  # 210 in all: gold again, kept at the next year end
    evaluate(app, clock, "2032-01-01T02:00:00+08:00")
    assert level_of(client, member)[0] == "gold"


def test_growth_earned_after_the_due_time_but_before_the_job_counts(app, client, admin, clock, make_member):
    set_policy(client, admin, "calendar_year", "one_level")
    member = make_member()
    earn(member, 250)
    evaluate(app, clock, "2031-01-01T00:30:00+08:00")
    clock.freeze(at("2032-01-01T00:05:00+08:00"))  # 2031 earned nothing: gold is lost at midnight…
    earn(member, 120)  # …but this earning of 2032 reaches silver before the job runs
    evaluate(app, clock, "2032-01-01T01:00:00+08:00")
    assert level_of(client, member)[0] == "silver"
    assert audit(app)[0] == 0


def test_a_grace_notice_before_an_evaluation_that_can_lower(app, client, admin, clock, make_member, wx):
    set_policy(client, admin, "calendar_year", "one_level", grace_days=30)
    member = make_member()
    template_id = app.config["WECHAT_TEMPLATES"]["level_grace"]
    client.post("/api/v1/me/subscriptions", headers=member["headers"], json={"accepted": [template_id]})
    earn(member, 250)
    evaluate(app, clock, "2031-01-01T00:30:00+08:00")
    assert "grace notices written: 0" in evaluate(app, clock, "2031-11-30T10:00:00+08:00")  # 31 days before
    assert "grace notices written: 1" in evaluate(app, clock, "2031-12-02T10:00:00+08:00")
    assert "grace notices written: 0" in evaluate(app, clock, "2031-12-03T10:00:00+08:00")  # once per evaluation
    rows = db.session.execute(text("SELECT data FROM outbox_message WHERE template_key = 'level_grace'")).all()
    assert len(rows) == 1 and "200" in str(rows[0][0])


def test_audit_ledger_replays_the_policy_and_reports_a_level_it_does_not_give(app, client, admin, clock, make_member):
    set_policy(client, admin, "calendar_year", "one_level")
    member = make_member()
    earn(member, 250)
    evaluate(app, clock, "2032-01-01T00:30:00+08:00")  # 2031 and 2032: gold, then silver
    assert level_of(client, member)[0] == "silver"
    assert audit(app)[0] == 0
    member_id = member["member"]["id"]
    gold = db.session.execute(text("SELECT id FROM level WHERE code = 'gold'")).scalar()
    silver = db.session.execute(text("SELECT id FROM level WHERE code = 'silver'")).scalar()
    with corrupted("UPDATE member SET level_id = :gold WHERE id = :m", "UPDATE member SET level_id = :silver WHERE id = :m",
                   gold=gold, silver=silver, m=member_id):
        assert_reported(app, f"member {member_id}: holds level gold but their level history ends at silver")
    last = db.session.scalar(db.select(LevelChange.id).where(LevelChange.member_id == member_id)
                             .order_by(LevelChange.id.desc()))
    with corrupted("UPDATE member SET level_id = :gold WHERE id = :m", "UPDATE member SET level_id = :silver WHERE id = :m",
                   gold=gold, silver=silver, m=member_id), \
            corrupted("UPDATE level_change SET to_level_id = :gold WHERE id = :c",
                      "UPDATE level_change SET to_level_id = :silver WHERE id = :c", gold=gold, silver=silver, c=last):
        assert_reported(app, f"member {member_id}: holds level gold but the level policy applied to their growth "
                             "entries gives silver")
