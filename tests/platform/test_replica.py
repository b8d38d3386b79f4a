"""Reports from a read replica (DATABASE_REPLICA_URL): the daily figures, the record lists and the exports
read it, behind as it may be; sign-ins, orders, adjustments and every decision about money read the
primary; a unit of work inside report reads is refused.

The replica here is a copy of the primary taken at one point in time (copy_to_replica), and then the
primary moves on through the API, so each answer shows which database it came from."""
import csv
import io

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from models import Member, db
from services.platform.clock import today
from services.platform.db import WorkInReports, transaction
from services.platform.replica import report_engine, report_reads
from services.stats import report
from tests.support.api import assert_error, unique
from tests.support.apps import app_of_its_own, copy_to_replica
from tests.support.console import signed_in
from tests.support.mall import add_goods, order, placed
from tests.support.payments import start_payment


def adjust_points(client, admin, member_id: int, delta: int):
    res = client.post(f"/api/v1/admin/members/{member_id}/points", json={"delta": delta, "reason": "replica test"},
                      headers={**admin, "Idempotency-Key": unique("adjust")})
    assert res.status_code == 200, res.get_json()


def sign_in(client, member):
    return client.post("/api/v1/signin", headers=member["headers"])


def listed_ids(client, admin, path: str) -> set[int]:
    res = client.get(f"/api/v1/admin/{path}", headers=admin, query_string={"limit": 100})
    assert res.status_code == 200, res.get_json()
    return {item["id"] for item in res.get_json()["items"]}


def today_figures(client, admin) -> dict:
    day = str(today())
    res = client.get("/api/v1/admin/stats", headers=admin, query_string={"from": day, "to": day})
    assert res.status_code == 200, res.get_json()
    return res.get_json()["totals"]


def csv_today(res) -> dict:
    assert res.status_code == 200 and res.mimetype == "text/csv", res.get_data(as_text=True)
    (row,) = csv.DictReader(io.StringIO(res.get_data(as_text=True)))
    return row


class TestBehindThePrimary:
    @pytest.fixture
    def app(self, sandbox):
        yield from app_of_its_own(sandbox, "replica", redis_db_below=7, replica=True)

    @pytest.fixture
    def behind(self, client, login, operator, clock):
        """Before the copy: A joined and signed in, B joined, A was credited. After it, on the primary
        alone: C joined, was credited 500 points and spent 200 of them on an order, and started a
        payment; B was frozen.
        The operator answered was made after the copy too."""
        clock.freeze(clock.now())
        admin = operator()
        a, b = login(), login()
        assert sign_in(client, a).status_code == 200
        adjust_points(client, admin, a["member"]["id"], 300)
        copy_to_replica()
        c = login()
        adjust_points(client, admin, c["member"]["id"], 500)
        goods = add_goods(client, admin, price_points=200)
        placed_order = placed(order(client, c, goods["id"]))["order"]
        payment = start_payment(client, c, 1000)["payment"]
        res = client.patch(f"/api/v1/admin/members/{b['member']['id']}", headers=admin,
                           json={"status": "frozen", "reason": "replica test"})
        assert res.status_code == 200, res.get_json()
        return {"a": a, "b": b, "c": c, "order": placed_order, "payment": payment,
                "admin": operator()}  # an operator the replica never saw

    def test_the_figures_and_their_exports_are_the_replicas(self, app, client, clock, behind):
        admin, day = behind["admin"], str(today())
        on_primary = report.report(since=today(), until=today(), granularity="day")["totals"]
        assert (on_primary["new_members"], on_primary["signins"], on_primary["mall_orders"]) == (3, 1, 1)

        figures = today_figures(client, admin)
        assert (figures["new_members"], figures["signins"], figures["mall_orders"]) == (2, 1, 0)
        exported = csv_today(client.get("/api/v1/admin/stats.csv", headers=admin,
                                        query_string={"from": day, "to": day}))
        assert (exported["new_members"], exported["mall_orders"]) == ("2", "0")

        console, _ = signed_in(app)
        query = {"from": day, "to": day}
        assert console.get("/console/figures.json", query_string=query).get_json()["totals"]["new_members"] == 2
        assert csv_today(console.get("/console/figures.csv", query_string=query))["new_members"] == "2"
        assert console.get("/console/").status_code == 200

    def test_the_lists_are_the_replicas(self, app, client, behind):
        admin, a, b, c = behind["admin"], behind["a"]["member"], behind["b"]["member"], behind["c"]["member"]
        members = {item["id"]: item for item in client.get("/api/v1/admin/members", headers=admin,
                                                           query_string={"limit": 100}).get_json()["items"]}
        assert set(members) == {a["id"], b["id"]}
        assert members[b["id"]]["status"] == "active"  # frozen on the primary since
        assert listed_ids(client, admin, "orders") == set()
        assert listed_ids(client, admin, "payments") == set()  # C's came after the copy
        assert listed_ids(client, admin, "refunds") == listed_ids(client, admin, "bills") == set()

        console, _ = signed_in(app)
        page = console.get("/console/members").get_data(as_text=True)
        assert f"/console/members/{a['id']}\"" in page and f"/console/members/{c['id']}\"" not in page
        assert behind["order"]["order_no"] not in console.get("/console/orders").get_data(as_text=True)
        log = console.get("/console/audit-log", query_string={"action": "points.adjust"}).get_data(as_text=True)
        assert log.count("replica test") == 1  # A's credit; C's came after the copy

    def test_what_decides_money_reads_the_primary(self, client, behind):
        c, b = behind["c"], behind["b"]
        # C exists only on the primary: its points were credited and spent, and its balance is what is left
        assert client.get("/api/v1/me", headers=c["headers"]).get_json()["points"]["balance"] == 300
        assert sign_in(client, c).status_code == 200
        # the replica still says B is active: the primary's frozen is what counts
        assert assert_error(sign_in(client, b), 409)["code"] == "member_frozen"
        # an order's page and a member's page are where operators act: read on the primary
        admin = behind["admin"]
        assert client.get(f"/api/v1/admin/orders/{behind['order']['id']}", headers=admin).status_code == 200
        assert client.get(f"/api/v1/admin/payments/{behind['payment']['id']}", headers=admin).status_code == 200
        assert client.get(f"/api/v1/admin/members/{b['member']['id']}", headers=admin).get_json()["status"] == "frozen"

    def test_report_reads_refuse_to_write(self, behind):
        b = behind["b"]["member"]["id"]
        with report_reads():
            assert db.session.scalar(select(Member.status).where(Member.id == b)) == "active"
            with pytest.raises(WorkInReports), transaction():
                pass
            db.session.get(Member, b).nickname = "changed"
            with pytest.raises(WorkInReports):
                db.session.flush()
            db.session.expunge_all()
            with pytest.raises(DBAPIError):  # the replica's own refusal, whoever gets past the two above
                db.session.execute(update(Member).where(Member.id == b).values(nickname="changed"))
        assert db.session.scalar(select(Member.status).where(Member.id == b)) == "frozen"  # the primary again
        with transaction(), pytest.raises(WorkInReports), report_reads():
            pass


# What reads the replica: the daily figures, the lists of records that grow with the business, and the exports.
# Not: a record's own page (where an operator acts on it), the configuration lists (an operator saves and is
# shown the list: it must have what was saved), and everything that writes.
REPORT_ROUTES = {
    "GET /api/v1/admin/stats", "GET /api/v1/admin/stats.csv", "GET /api/v1/admin/invite-stats",
    "GET /api/v1/admin/members", "GET /api/v1/admin/orders", "GET /api/v1/admin/payments",
    "GET /api/v1/admin/refunds", "GET /api/v1/admin/bills",
    "GET /console/", "GET /console/figures.json", "GET /console/figures.csv", "GET /console/members",
    "GET /console/orders", "GET /console/audit-log",
}


def test_the_report_routes_are_the_listed_ones(app):
    found = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            handler = getattr(getattr(view, "view_class", None), method.lower(), view)
            if getattr(handler, "reads_reports", False):
                found.add(f"{method} {rule.rule}")
    assert found == REPORT_ROUTES


def test_without_a_replica_reports_read_the_primary(client, login, operator):
    admin, member = operator(), login()
    assert report_engine() is db.engine
    assert member["member"]["id"] in listed_ids(client, admin, "members")
    with report_reads():
        with pytest.raises(WorkInReports), transaction():
            pass
        if db.engine.dialect.name == "postgresql":
            assert db.session.scalar(text("SHOW transaction_read_only")) == "on"
    assert db.session.scalar(select(Member.id).where(Member.id == member["member"]["id"]))
