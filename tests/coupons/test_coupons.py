"""Coupons: templates and packs, issuing (idempotent, stock, limits), hold / use / release, revoke, expiry."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

import demo
from models import AuditLog, IdempotencyRecord, Operator, db
from models.coupon import Coupon, CouponIssue, CouponPack, CouponPackItem, CouponTemplate
from services.coupons import coupons
from services.platform.db import transaction
from services.platform.errors import Conflict, NotFound
from tests.support.api import assert_error, send, unique
from tests.support.dates import at
from tests.support.db import row_counts

CASH_OFF = {"name": "满50减10 (test)", "kind": "cash_off", "amount_fen": 1000, "min_spend_fen": 5000, "valid_days": 30}


def _template(client, admin, **fields):
    res = client.post("/api/v1/admin/coupon-templates", headers=admin, json={**CASH_OFF, **fields})
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def _pack(client, admin, *items):
    body = {"name": unique("pack"), "items": [{"template_id": t, "quantity": q} for t, q in items]}
    res = client.post("/api/v1/admin/coupon-packs", headers=admin, json=body)
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def _issue(client, admin, member_id, pack_id, key=None):
    headers = {**admin, "Idempotency-Key": key} if key else admin
    return client.post(f"/api/v1/admin/members/{member_id}/coupon-packs", headers=headers,
                       json={"pack_id": pack_id, "reason": "customer goodwill"})


def _mine(client, member, **query):
    res = client.get("/api/v1/coupons", headers=member["headers"], query_string=query)
    assert res.status_code == 200, res.get_json()
    return res.get_json()["items"]


def _issue_service(member_id, pack_id, key=None, source_ref=None):
    with transaction():
        issued = coupons.issue_pack(member_id, pack_id, source="payment", business_key=key or unique("pay"),
                                    source_ref=source_ref)
        return [coupon.code for coupon in issued]


def _hold(member_id, code, amount_fen=6000, holder="payment:1", channel="online"):
    with transaction():
        return coupons.hold_for_payment(member_id, code, amount_fen=amount_fen, channel=channel, holder=holder)


def _coupon(code):
    db.session.rollback()
    return db.session.scalar(select(Coupon).where(Coupon.code == code))


@pytest.fixture
def admin(operator):
    return operator()


@pytest.fixture
def setup(client, admin, login):
    """A member and a pack of one cash-off coupon (50 off 10, 30 days)."""
    template = _template(client, admin)
    return login(), _pack(client, admin, (template["id"], 1))["id"], template


def test_operator_creates_templates_and_pack_and_issues_by_hand(client, admin, login):
    member = login()
    member_id = member["member"]["id"]
    cash = _template(client, admin)
    assert (cash["issued"], cash["channel"], cash["active"], cash["total_stock"]) == (0, "all", True, None)
    discount = _template(client, admin, name="9折券 (test)", kind="discount", amount_fen=None, discount_pct=90,
                         min_spend_fen=0, channel="online")
    pack = _pack(client, admin, (cash["id"], 2), (discount["id"], 1))
    assert pack["active"] and len(pack["items"]) == 2
    key = unique("issue")
    first = _issue(client, admin, member_id, pack["id"], key=key)
    assert first.status_code == 201, first.get_json()
    issued = first.get_json()["coupons"]
    assert sorted(c["kind"] for c in issued) == ["cash_off", "cash_off", "discount"]
    assert all(len(c["code"]) == 16 and c["source"] == "operator" and c["member_id"] == member_id for c in issued)
    again = _issue(client, admin, member_id, pack["id"], key=key)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    mine = _mine(client, member, status="unused")
    assert {c["code"] for c in mine} == {c["code"] for c in issued}
    assert set(mine[0]) == {"code", "name", "kind", "status", "amount_fen", "discount_pct", "min_spend_fen",
                            "gift_name", "channel", "valid_from", "valid_until", "source", "held"}
    assert not any(c["held"] for c in mine)
    assert client.get(f"/api/v1/admin/coupon-templates/{cash['id']}", headers=admin).get_json()["issued"] == 2
    logs = db.session.scalars(select(AuditLog).where(AuditLog.action == "coupons.issue_pack",
                                                     AuditLog.details["member_id"].as_integer() == member_id)).all()
    assert len(logs) == 1 and logs[0].reason == "customer goodwill" and len(logs[0].details["coupons"]) == 3


def test_templates_and_packs_crud(client, admin):
    template = _template(client, admin, total_stock=10)
    path = f"/api/v1/admin/coupon-templates/{template['id']}"
    window = {"valid_from": "2030-01-01T00:00:00+08:00", "valid_until": "2030-02-01T00:00:00+08:00"}
    changed = client.patch(path, headers=admin, json={"name": "满50减10 新 (test)", **window}).get_json()
    assert (changed["name"], changed["valid_days"], changed["valid_from"]) == (
        "满50减10 新 (test)", None, "2029-12-31T16:00:00+00:00")
    assert client.patch(path, headers=admin, json={"valid_days": 7}).get_json()["valid_from"] is None
    listed = client.get("/api/v1/admin/coupon-templates", headers=admin, query_string={"limit": 100}).get_json()
    assert template["id"] in [t["id"] for t in listed["items"]]
    assert client.delete(path, headers=admin).status_code == 204
    assert client.get(path, headers=admin).get_json()["active"] is False
    other = _template(client, admin)
    pack = _pack(client, admin, (template["id"], 1))
    pack_path = f"/api/v1/admin/coupon-packs/{pack['id']}"
    res = client.patch(pack_path, headers=admin, json={"name": "新礼包", "items": [
        {"template_id": template["id"], "quantity": 2}, {"template_id": other["id"], "quantity": 1}]})
    assert res.status_code == 200, res.get_json()
    assert res.get_json()["items"] == [{"template_id": template["id"], "quantity": 2},
                                       {"template_id": other["id"], "quantity": 1}]
    assert pack["id"] in [p["id"] for p in client.get("/api/v1/admin/coupon-packs", headers=admin).get_json()["items"]]
    assert client.delete(pack_path, headers=admin).status_code == 204
    assert client.get(pack_path, headers=admin).get_json()["active"] is False


def test_viewer_reads_but_cannot_write(client, operator, setup):
    viewer = operator("viewer")
    assert client.get("/api/v1/admin/coupon-templates", headers=viewer).status_code == 200
    res = client.post("/api/v1/admin/coupon-templates", headers=viewer, json=CASH_OFF)
    assert res.status_code == 403 and res.get_json()["error"]["code"] == "forbidden"


def test_issue_pack_is_idempotent_per_business_key(login, setup):
    member, pack_id, _ = setup
    key = unique("pay")
    first = _issue_service(member["member"]["id"], pack_id, key=key)
    assert len(first) == 1 and _issue_service(member["member"]["id"], pack_id, key=key) == first
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Coupon).where(
        Coupon.member_id == member["member"]["id"])) == 1
    with pytest.raises(Conflict) as error:
        _issue_service(login()["member"]["id"], pack_id, key=key)
    assert error.value.code == "idempotency_conflict"


def test_stock_runs_out_and_other_templates_still_issue(client, admin, login):
    scarce, plenty = _template(client, admin, total_stock=1), _template(client, admin)
    pack = _pack(client, admin, (scarce["id"], 2), (plenty["id"], 1))["id"]
    member_id = login()["member"]["id"]
    first = [_coupon(code).template_id for code in _issue_service(member_id, pack)]
    assert sorted(first) == [scarce["id"], plenty["id"]]
    assert [_coupon(code).template_id for code in _issue_service(member_id, pack)] == [plenty["id"]]
    assert client.get(f"/api/v1/admin/coupon-templates/{scarce['id']}", headers=admin).get_json()["issued"] == 1
    only_scarce = _pack(client, admin, (scarce["id"], 1))["id"]
    res = _issue(client, admin, member_id, only_scarce)
    assert res.status_code == 409 and res.get_json()["error"]["code"] == "out_of_stock"


def test_per_member_limit(client, admin, login):
    template = _template(client, admin, per_member_limit=2)
    pack = _pack(client, admin, (template["id"], 3))["id"]
    one, two = login()["member"]["id"], login()["member"]["id"]
    assert len(_issue_service(one, pack)) == 2
    res = _issue(client, admin, one, pack)
    assert res.status_code == 409 and res.get_json()["error"]["code"] == "limit_reached"
    assert len(_issue_service(two, pack)) == 2
    assert client.get(f"/api/v1/admin/coupon-templates/{template['id']}", headers=admin).get_json()["issued"] == 4


def test_revoked_coupons_do_not_count_against_the_limit(client, admin, login):
    template = _template(client, admin, per_member_limit=1)
    pack = _pack(client, admin, (template["id"], 1))["id"]
    member_id, ref = login()["member"]["id"], unique("payment")
    assert len(_issue_service(member_id, pack, source_ref=ref)) == 1
    with transaction():
        assert coupons.revoke_unused(ref, reason="refund") == 1
    assert len(_issue_service(member_id, pack)) == 1


def test_hold_then_use(client, setup):
    member, pack_id, _ = setup
    member_id = member["member"]["id"]
    code = _issue_service(member_id, pack_id)[0]
    with pytest.raises(Conflict) as error:
        _hold(member_id, code, amount_fen=4999)
    assert (error.value.code, error.value.details) == ("coupon_not_usable", {"reason": "min_spend"})
    assert _hold(member_id, code, amount_fen=6000, holder="payment:7") == 1000
    assert _hold(member_id, code, amount_fen=6000, holder="payment:7") == 1000  # the same payment retrying
    with pytest.raises(Conflict) as error:
        _hold(member_id, code, holder="payment:8")
    assert error.value.details == {"reason": "held"}
    assert _mine(client, member)[0]["held"] is True
    with transaction():
        assert coupons.use_held("payment:7", used_ref="payment:7") == 1
    with transaction():
        assert coupons.use_held("payment:7", used_ref="payment:7") == 0
    coupon = _coupon(code)
    assert (coupon.status, coupon.used_ref, coupon.held_by) == ("used", "payment:7", None)
    assert [c["code"] for c in _mine(client, member, status="used")] == [code]
    with pytest.raises(Conflict) as error:
        _hold(member_id, code, holder="payment:9")
    assert error.value.details == {"reason": "used"}


def test_hold_then_release(client, setup):
    member, pack_id, _ = setup
    member_id = member["member"]["id"]
    code = _issue_service(member_id, pack_id)[0]
    _hold(member_id, code, holder="payment:11")
    with transaction():
        assert coupons.release_held("payment:11") == 1
    with transaction():
        assert coupons.release_held("payment:11") == 0
    assert _mine(client, member, status="unused")[0]["held"] is False
    assert _hold(member_id, code.lower(), holder="payment:12") == 1000


@pytest.mark.parametrize("fields,channel,reason", [
    ({"kind": "gift", "amount_fen": None, "gift_name": "咖啡一杯", "min_spend_fen": 0}, "online", "gift"),
    ({"channel": "store"}, "online", "wrong_channel"),
])
def test_coupons_that_payments_cannot_use(client, admin, login, fields, channel, reason):
    template = _template(client, admin, **fields)
    member_id = login()["member"]["id"]
    code = _issue_service(member_id, _pack(client, admin, (template["id"], 1))["id"])[0]
    with pytest.raises(Conflict) as error:
        _hold(member_id, code, channel=channel)
    assert (error.value.code, error.value.details["reason"]) == ("coupon_not_usable", reason)


def test_someone_elses_or_unknown_code_is_404(login, setup):
    member, pack_id, _ = setup
    code = _issue_service(member["member"]["id"], pack_id)[0]
    for member_id, wanted in ((login()["member"]["id"], code), (member["member"]["id"], "X" * 16)):
        with pytest.raises(NotFound):
            _hold(member_id, wanted)
    assert _coupon(code).held_by is None


def test_expired_coupon_cannot_be_held_and_the_sweep_leaves_a_payment_its_hold(client, admin, login, clock):
    clock.freeze(at("2026-11-23T10:00:00+08:00"))
    template = _template(client, admin, valid_days=1, min_spend_fen=0)
    member = login()
    member_id = member["member"]["id"]
    pack = _pack(client, admin, (template["id"], 2))["id"]
    held, other = _issue_service(member_id, pack)
    _hold(member_id, held, holder="payment:21")
    clock.advance(timedelta(days=1, seconds=1))
    with pytest.raises(Conflict) as error:
        _hold(member_id, other)
    assert error.value.details == {"reason": "expired"}
    assert {c["code"] for c in _mine(client, member, status="expired")} == {held, other}
    assert _mine(client, member, status="unused") == []
    with transaction():
        expired = coupons.expire_due()
    assert expired >= 1
    assert (_coupon(other).status, _coupon(other).held_by) == ("expired", None)
    # held while it was valid: the sweep never takes it from its payment, which may still be paid
    assert (_coupon(held).status, _coupon(held).held_by) == ("unused", "payment:21")
    with transaction():
        assert coupons.use_held("payment:21", used_ref="payment:21") == 1
    assert _coupon(held).status == "used"


def test_fixed_window_coupons_wait_for_their_start(client, admin, login, clock):
    clock.freeze(at("2026-11-23T10:00:00+08:00"))
    template = _template(client, admin, valid_days=None, min_spend_fen=0, valid_from="2026-12-01T00:00:00+08:00",
                         valid_until="2026-12-02T00:00:00+08:00")
    member_id, pack = login()["member"]["id"], _pack(client, admin, (template["id"], 1))["id"]
    code = _issue_service(member_id, pack)[0]
    with pytest.raises(Conflict) as error:
        _hold(member_id, code)
    assert error.value.details == {"reason": "not_yet_valid"}
    clock.freeze(at("2026-12-01T09:00:00+08:00"))
    assert _hold(member_id, code) == 1000
    clock.freeze(at("2026-12-02T00:00:00+08:00"))
    operator_ = db.session.scalar(select(Operator).limit(1))
    with pytest.raises(Conflict) as error:
        coupons.issue_pack_by_operator(operator_, member_id, pack, reason="too late", request_key=unique("late"))
    assert error.value.code == "template_ended"


def test_revoke_unused_spares_used_coupons_and_another_payments_hold(client, admin, login):
    template = _template(client, admin, min_spend_fen=0)
    member_id, ref = login()["member"]["id"], unique("payment")
    used, held, free = _issue_service(member_id, _pack(client, admin, (template["id"], 3))["id"], source_ref=ref)
    _hold(member_id, used, holder="payment:31")
    with transaction():
        coupons.use_held("payment:31", used_ref="payment:31")
    _hold(member_id, held, holder="payment:32")
    with transaction():
        assert coupons.revoke_unused(ref, reason="payment refunded") == 1
    with transaction():
        assert coupons.revoke_unused(ref, reason="payment refunded") == 0
    states = {code: (_coupon(code).status, _coupon(code).held_by) for code in (used, held, free)}
    assert states == {used: ("used", None), held: ("unused", "payment:32"), free: ("revoked", None)}
    assert _coupon(free).revoke_reason == "payment refunded"


def test_redeem_in_store(client, admin, login):
    store = _template(client, admin, kind="gift", amount_fen=None, gift_name="咖啡一杯", channel="store")
    online = _template(client, admin, channel="online")
    member_id = login()["member"]["id"]
    gift, web = _issue_service(member_id, _pack(client, admin, (store["id"], 1), (online["id"], 1))["id"])
    with transaction():
        assert coupons.redeem(gift, used_ref="guide:1").status == "used"
    for code, reason in ((gift, "used"), (web, "wrong_channel")):
        with pytest.raises(Conflict) as error, transaction():
            coupons.redeem(code, used_ref="guide:1")
        assert error.value.details == {"reason": reason}


def test_member_sees_only_their_own_coupons_page_by_page(client, login, setup):
    member, pack_id, _ = setup
    codes = [_issue_service(member["member"]["id"], pack_id)[0] for _ in range(3)]
    other = login()
    assert _mine(client, other) == []
    first = client.get("/api/v1/coupons", headers=member["headers"], query_string={"limit": 2}).get_json()
    second = client.get("/api/v1/coupons", headers=member["headers"],
                        query_string={"limit": 2, "cursor": first["next_cursor"]}).get_json()
    assert [c["code"] for c in first["items"] + second["items"]] == codes[::-1]
    assert second["next_cursor"] is None


def test_inactive_pack_and_template_issue_nothing(client, admin, login, setup):
    member, pack_id, template = setup
    client.delete(f"/api/v1/admin/coupon-packs/{pack_id}", headers=admin)
    res = _issue(client, admin, member["member"]["id"], pack_id)
    assert res.status_code == 409 and res.get_json()["error"]["code"] == "pack_inactive"
    assert _issue_service(member["member"]["id"], pack_id) == []
    client.delete(f"/api/v1/admin/coupon-templates/{template['id']}", headers=admin)
    res = _issue(client, admin, member["member"]["id"], _pack(client, admin, (template["id"], 1))["id"])
    assert res.status_code == 409 and res.get_json()["error"]["code"] == "template_inactive"


def test_stock_cannot_go_below_issued(client, admin, setup):
    member, pack_id, template = setup
    _issue_service(member["member"]["id"], pack_id)
    path = f"/api/v1/admin/coupon-templates/{template['id']}"
    res = client.patch(path, headers=admin, json={"total_stock": 0})
    assert res.status_code == 409 and res.get_json()["error"]["details"] == {"issued": 1}
    assert client.patch(path, headers=admin, json={"total_stock": 1}).get_json()["total_stock"] == 1


def test_twenty_parallel_issues_never_exceed_stock(live_server, client, admin, login):
    template = _template(client, admin, total_stock=5)
    pack = _pack(client, admin, (template["id"], 1))["id"]
    member_id = login()["member"]["id"]
    url = f"{live_server}/api/v1/admin/members/{member_id}/coupon-packs"

    def issue(n):
        return requests.post(url, headers={**admin, "Idempotency-Key": unique(f"race-{n}")},
                             json={"pack_id": pack, "reason": "launch giveaway"}, timeout=60)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(issue, range(20)))
    statuses = sorted(res.status_code for res in answers)
    assert statuses == [201] * 5 + [409] * 15, [res.text for res in answers]
    assert all(res.json()["error"]["code"] == "out_of_stock" for res in answers if res.status_code == 409)
    db.session.rollback()
    assert db.session.get(CouponTemplate, template["id"]).issued == 5
    assert db.session.scalar(select(func.count()).select_from(Coupon).where(
        Coupon.template_id == template["id"])) == 5


def test_parallel_issues_under_one_business_key_issue_once(app, setup):
    member, pack_id, _ = setup
    key, barrier = unique("pay"), threading.Barrier(8)

    def issue(_):
        with app.app_context():
            barrier.wait()
            return _issue_service(member["member"]["id"], pack_id, key=key)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(issue, range(8)))
    assert len(answers[0]) == 1 and all(answer == answers[0] for answer in answers)


def test_seed_coupons_is_idempotent():
    pack_id = demo.seed_coupons()
    assert demo.seed_coupons() == pack_id
    db.session.rollback()
    names = db.session.scalars(select(CouponTemplate.name).where(CouponTemplate.name.in_(["满50减10", "9折券"])))
    assert sorted(set(names)) == ["9折券", "满50减10"]
    assert len(db.session.get(CouponPack, pack_id).items) == 2


@given(amount=st.integers(1, 10**9), off=st.integers(1, 10**9), pct=st.integers(1, 99))
def test_discounts_always_leave_something_to_pay(amount, off, pct):
    templates = (CouponTemplate(kind="cash_off", amount_fen=off), CouponTemplate(kind="discount", discount_pct=pct))
    for template in templates:
        discount = coupons.discount_for(template, amount)
        assert 0 <= discount <= amount - 1
    assert coupons.discount_for(CouponTemplate(kind="discount", discount_pct=85), 999) == 149


# -- bad input: a 4xx with the envelope, and nothing written -----------------------------------------

TABLES = (CouponTemplate, CouponPack, CouponPackItem, CouponIssue, Coupon, AuditLog, IdempotencyRecord)
WINDOW = {"valid_days": None, "valid_from": "2030-01-01T00:00:00+08:00", "valid_until": "2030-02-01T00:00:00+08:00"}
T, P, I = "/api/v1/admin/coupon-templates", "/api/v1/admin/coupon-packs", "/api/v1/admin/members/{member}/coupon-packs"


def _counts():
    return row_counts(*TABLES)


OPERATOR_CASES = [
    ("post", T, {}, 422),
    ("post", T, ["name"], 422),
    ("post", T, "not json{", 400),
    ("post", T, {**CASH_OFF, "amount_fen": None}, 422),
    ("post", T, {**CASH_OFF, "amount_fen": "1000"}, 422),
    ("post", T, {**CASH_OFF, "amount_fen": 10.5}, 422),
    ("post", T, {**CASH_OFF, "amount_fen": 0}, 422),
    ("post", T, {**CASH_OFF, "amount_fen": 10**12}, 422),
    ("post", T, {**CASH_OFF, "amount_fen": True}, 422),
    ("post", T, {**CASH_OFF, "min_spend_fen": -1}, 422),
    ("post", T, {**CASH_OFF, "discount_pct": 90}, 422),
    ("post", T, {**CASH_OFF, "kind": "free_lunch"}, 422),
    ("post", T, {**CASH_OFF, "kind": "discount", "amount_fen": None, "discount_pct": 100}, 422),
    ("post", T, {**CASH_OFF, "kind": "discount", "amount_fen": None}, 422),
    ("post", T, {**CASH_OFF, "kind": "gift", "amount_fen": None}, 422),
    ("post", T, {**CASH_OFF, "kind": "gift", "amount_fen": None, "gift_name": ""}, 422),
    ("post", T, {**CASH_OFF, "name": ""}, 422),
    ("post", T, {**CASH_OFF, "name": "n" * 65}, 422),
    ("post", T, {**CASH_OFF, "valid_days": None}, 422),
    ("post", T, {**CASH_OFF, "valid_days": 0}, 422),
    ("post", T, {**CASH_OFF, "valid_days": 10**6}, 422),
    ("post", T, {**CASH_OFF, "valid_from": WINDOW["valid_from"]}, 422),
    ("post", T, {**CASH_OFF, **WINDOW, "valid_from": WINDOW["valid_until"], "valid_until": WINDOW["valid_from"]}, 422),
    ("post", T, {**CASH_OFF, **WINDOW, "valid_until": None}, 422),
    ("post", T, {**CASH_OFF, **WINDOW, "valid_from": "2030-01-01T00:00:00"}, 422),
    ("post", T, {**CASH_OFF, **WINDOW, "valid_until": "9999-12-31T23:59:59-05:00"}, 422),
    ("post", T, {**CASH_OFF, **WINDOW, "valid_from": "0001-01-01T00:00:00+05:00"}, 422),
    ("post", T, {**CASH_OFF, **WINDOW, "valid_from": "soon"}, 422),
    ("post", T, {**CASH_OFF, "total_stock": -1}, 422),
    ("post", T, {**CASH_OFF, "total_stock": 10**10}, 422),
    ("post", T, {**CASH_OFF, "per_member_limit": 0}, 422),
    ("post", T, {**CASH_OFF, "channel": "wechat"}, 422),
    ("post", T, {**CASH_OFF, "issued": 3}, 422),
    ("post", T, {**CASH_OFF, "surprise": 1}, 422),
    ("get", T + "?limit=0", None, 422),
    ("get", T + "?cursor=%%%%", None, 400),
    ("get", T + "/99999999", None, 404),
    ("patch", T + "/99999999", {"name": "x"}, 404),
    ("patch", T + "/{template}", {"kind": "discount"}, 422),
    ("patch", T + "/{template}", {"amount_fen": 1}, 422),
    ("patch", T + "/{template}", {"name": ""}, 422),
    ("patch", T + "/{template}", {"total_stock": -5}, 422),
    ("patch", T + "/{template}", {"valid_days": None}, 422),
    ("patch", T + "/{template}", {"valid_from": WINDOW["valid_from"]}, 422),
    ("patch", T + "/{template}", {"valid_days": 3, "valid_until": WINDOW["valid_until"]}, 422),
    ("delete", T + "/99999999", None, 404),
    ("post", P, {}, 422),
    ("post", P, {"name": "p", "items": []}, 422),
    ("post", P, {"name": "p", "items": "all"}, 422),
    ("post", P, {"name": "p", "items": [{"template_id": "{template}", "quantity": 0}]}, 422),
    ("post", P, {"name": "p", "items": [{"template_id": "{template}", "quantity": 21}]}, 422),
    ("post", P, {"name": "p", "items": [{"template_id": "{template}", "quantity": 1}] * 2}, 422),
    ("post", P, {"name": "p", "items": [{"template_id": 99999999, "quantity": 1}]}, 422),
    ("post", P, {"name": "p", "items": [{"template_id": 10**12, "quantity": 1}]}, 422),
    ("post", P, {"name": "p", "items": [{"template_id": "1", "quantity": 1}]}, 422),
    ("post", P, {"name": "", "items": [{"template_id": "{template}", "quantity": 1}]}, 422),
    ("get", P + "/99999999", None, 404),
    ("patch", P + "/99999999", {"name": "x"}, 404),
    ("patch", P + "/{pack}", {"items": [{"template_id": 99999999, "quantity": 1}]}, 422),
    ("patch", P + "/{pack}", {"active": "maybe"}, 422),
    ("delete", P + "/99999999", None, 404),
    ("post", I, {}, 422),
    ("post", I, {"pack_id": "{pack}"}, 422),
    ("post", I, {"pack_id": "{pack}", "reason": ""}, 422),
    ("post", I, {"pack_id": "1", "reason": "string id"}, 422),
    ("post", I, {"pack_id": 0, "reason": "zero id"}, 422),
    ("post", I, {"pack_id": 99999999, "reason": "no such pack"}, 404),
    ("post", "/api/v1/admin/members/99999999/coupon-packs", {"pack_id": "{pack}", "reason": "nobody"}, 404),
    ("post", "/api/v1/admin/members/abc/coupon-packs", {"pack_id": "{pack}", "reason": "not an id"}, 404),
    ("post", I, {"pack_id": "{pack}", "reason": "long key"}, 400),
]


def _fill(value, ids):
    if value in ("{template}", "{pack}"):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    return value




@pytest.mark.parametrize("method,path,body,status", OPERATOR_CASES)
def test_operator_bad_input(client, admin, setup, method, path, body, status):
    member, pack_id, template = setup
    ids = {"member": member["member"]["id"], "template": template["id"], "pack": pack_id}
    headers = {**admin, "Idempotency-Key": "k" * 129} if isinstance(body, dict) and body.get("reason") == "long key" \
        else admin
    before = _counts()
    assert_error(send(client, method, path.format(**ids), _fill(body, ids), headers), status)
    assert _counts() == before


@pytest.mark.parametrize("query,status", [
    ({"status": "lost"}, 422), ({"limit": 0}, 422), ({"limit": "many"}, 422), ({"cursor": "%%%%"}, 400),
])
def test_member_bad_input(client, login, query, status):
    assert_error(client.get("/api/v1/coupons", headers=login()["headers"], query_string=query), status)


def test_roles_are_kept_apart(client, admin, login):
    member = login()
    assert_error(client.get("/api/v1/coupons"), 401)
    assert_error(client.get("/api/v1/coupons", headers=admin), 403)
    assert_error(client.get(T, headers=member["headers"]), 403)
