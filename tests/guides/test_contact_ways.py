"""A guide's WeCom 联系我 code follows the guide: removed at WeCom when the guide is disabled (by a job
after the commit, retried while WeCom is away, harmless twice), made anew when they are enabled again;
an add through a disabled guide's old code, or with a state that is not exactly `g<id>`, is recorded
and binds nobody. Member codes are ASCII digits too."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import GuideBinding, Store, WeComContact, db
from services.guides import contact_ways
from services.platform import jobs
from services.platform.db import transaction
from tests.support.api import unique
from tests.support.guides import build_callback, deliver

WECOM = "/api/v1/wecom/callback"
FULLWIDTH, ARABIC_INDIC = str.maketrans("0123456789", "０１２３４５６７８９"), str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture
def wecom_guide(client, store):
    """A guide with a WeCom userid and their 联系我 code made."""
    guide = store["add_guide"](wecom_userid=unique("staff").replace("-", "_"))
    assert contact_ways.make_for(guide["id"]) == "made"
    return {**guide, "config_id": _admin_view(client, store, guide)["wecom_qr_url"].rsplit("/", 1)[1]}


def _admin_view(client, store, guide):
    return client.get(f"/api/v1/admin/guides/{guide['id']}", headers=store["admin"]).get_json()


def _set_status(client, store, guide, status):
    res = client.patch(f"/api/v1/admin/guides/{guide['id']}", headers=store["admin"], json={"status": status})
    assert res.status_code == 200, res.get_json()


def _ways_at_wecom(wx, guide):
    return [way["config_id"] for way in wx.get("wecom/contact-ways", userid=guide["wecom_userid"])["items"]]


def _queued(target, guide_id) -> bool:
    return any(tuple(job.args[:2]) == (target, guide_id) for job in jobs.queue().jobs)


def _add_through(client, wx, guide, state):
    """A new member adds the guide in WeCom with `state`: the callback's answer, the member's id."""
    user = unique("wecom")
    member_id = client.post("/api/v1/auth/login", json={"code": wx.post("login-code", user=user)["code"]}).get_json()[
        "member"]["id"]
    event = build_callback(wx, "wecom/add-external-contact", userid=guide["wecom_userid"], state=state, user=user)
    return deliver(client, event, WECOM), member_id


def _bound_guide(member_id):
    db.session.rollback()
    return db.session.scalar(select(GuideBinding.guide_id).where(GuideBinding.member_id == member_id))


def test_disabling_a_guide_removes_their_code_at_wecom_and_enabling_makes_a_new_one(client, wx, store, wecom_guide):
    guide = wecom_guide
    assert _ways_at_wecom(wx, guide) == [guide["config_id"]]
    _set_status(client, store, guide, "disabled")
    assert _queued("services.guides.contact_ways.remove_for", guide["id"])  # after the commit, not in the request
    jobs.drain()
    assert _ways_at_wecom(wx, guide) == []
    assert _admin_view(client, store, guide)["wecom_qr_url"] is None
    assert contact_ways.remove_for(guide["id"]) == "nothing to do"  # the job again: harmless
    res, member_id = _add_through(client, wx, guide, f"g{guide['id']}")  # the old code, kept by a customer
    assert res.status_code == 200 and res.get_data(as_text=True) == "success"
    assert _bound_guide(member_id) is None
    assert db.session.scalar(select(func.count()).select_from(WeComContact).where(
        WeComContact.guide_id == guide["id"], WeComContact.member_id.is_(None))) == 1  # recorded all the same
    _set_status(client, store, guide, "active")
    jobs.drain()
    made = _ways_at_wecom(wx, guide)
    assert len(made) == 1 and made[0] != guide["config_id"]
    assert _admin_view(client, store, guide)["wecom_qr_url"].endswith(made[0])


def test_an_add_through_a_disabled_guides_code_is_recorded_and_binds_nobody(client, wx, store, wecom_guide):
    _set_status(client, store, wecom_guide, "disabled")  # its code not removed yet: WeCom still sends adds
    res, member_id = _add_through(client, wx, wecom_guide, f"g{wecom_guide['id']}")
    assert res.status_code == 200 and res.get_data(as_text=True) == "success"
    assert _bound_guide(member_id) is None
    assert db.session.scalar(select(func.count()).select_from(WeComContact).where(
        WeComContact.guide_id == wecom_guide["id"], WeComContact.change_type == "add_external_contact")) == 1


def test_a_disabled_guides_code_is_removed_once_wecom_is_back(client, wx, store, wecom_guide, clock):
    guide = wecom_guide
    wx.post("faults", api="del_contact_way", http_status=503, times=1)
    _set_status(client, store, guide, "disabled")
    assert contact_ways.remove_for(guide["id"]) == "retrying"
    assert _ways_at_wecom(wx, guide) == [guide["config_id"]]
    assert _admin_view(client, store, guide)["wecom_error"]
    contact_ways.keep_in_step()
    assert _ways_at_wecom(wx, guide) == [guide["config_id"]]  # not before its retry time
    clock.advance(timedelta(seconds=contact_ways.RETRY_SECONDS + 1))
    contact_ways.keep_in_step()
    assert _ways_at_wecom(wx, guide) == []
    shown = _admin_view(client, store, guide)
    assert shown["wecom_qr_url"] is None and shown["wecom_error"] is None


@pytest.mark.parametrize("errcode", [41044, 40058])  # 无效的 config_id, or the generic 不合法的参数
def test_a_code_wecom_says_it_no_longer_has_counts_as_removed(client, wx, store, wecom_guide, errcode):
    """A job that removed the code and died before saying so runs again: WeCom says it has no such code."""
    guide = wecom_guide
    _set_status(client, store, guide, "disabled")
    wx.post("faults", api="del_contact_way", errcode=errcode, times=1)
    assert contact_ways.remove_for(guide["id"]) == "removed"
    assert _admin_view(client, store, guide)["wecom_qr_url"] is None


def test_a_code_made_for_a_guide_disabled_meanwhile_is_removed_too(client, wx, store):
    guide = store["add_guide"](wecom_userid=unique("staff").replace("-", "_"))
    _set_status(client, store, guide, "disabled")
    assert contact_ways.make_for(guide["id"]) == "nothing to do"
    assert _ways_at_wecom(wx, guide) == []


def test_an_add_through_a_guide_of_an_inactive_store_binds_nobody(client, wx, store, wecom_guide):
    with transaction():
        db.session.get(Store, store["id"]).active = False
    try:
        res, member_id = _add_through(client, wx, wecom_guide, f"g{wecom_guide['id']}")
        assert res.status_code == 200 and _bound_guide(member_id) is None
    finally:
        with transaction():
            db.session.get(Store, store["id"]).active = True


@pytest.mark.parametrize("state", [
    "g²", "g{fullwidth}", "g{arabic_indic}", "g0{id}", "G{id}", " g{id}", "g{id} ", "g+{id}", "g-1", "g0", "g",
    "g2147483648", "g99999999999999999999", "x{id}", "g{id}x", "g１"])
def test_a_state_that_is_not_exactly_g_and_ascii_digits_is_recorded_and_binds_nobody(
        client, wx, store, wecom_guide, state):
    guide_id = wecom_guide["id"]
    state = state.format(id=guide_id, fullwidth=str(guide_id).translate(FULLWIDTH),
                         arabic_indic=str(guide_id).translate(ARABIC_INDIC))
    res, member_id = _add_through(client, wx, wecom_guide, state)
    assert res.status_code == 200 and res.get_data(as_text=True) == "success", res.get_data(as_text=True)
    assert _bound_guide(member_id) is None
    recorded = db.session.scalar(select(func.count()).select_from(WeComContact).where(
        WeComContact.state == state, WeComContact.guide_id.is_(None)))
    assert recorded >= 1


def test_a_member_code_in_other_scripts_digits_is_no_code(client, store, make_member):
    guide, member = store["add_guide"](), make_member()
    code = client.get("/api/v1/me/member-code", headers=member["headers"]).get_json()["code"]
    for lookalike in (code.translate(ARABIC_INDIC), code.translate(FULLWIDTH)):
        res = client.post("/api/v1/guide/scan", headers=guide["headers"], json={"member_code": lookalike})
        assert res.status_code == 409 and res.get_json()["error"]["code"] == "code_expired", res.get_data(as_text=True)
    assert client.post("/api/v1/guide/scan", headers=guide["headers"], json={"member_code": code}).status_code == 200
